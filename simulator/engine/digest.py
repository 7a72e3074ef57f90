"""Seeded digests: the single source of every pseudo-random choice, so one seed reproduces a whole run."""

from __future__ import annotations

import hashlib


def digest(seed: int, *parts: object) -> bytes:
    text = "\x1f".join([str(seed), *map(str, parts)])
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=32).digest()


def unit_interval(seed: int, *parts: object) -> float:
    """A number in [0, 1) fixed by the seed and the parts."""
    return int.from_bytes(digest(seed, *parts)[:8], "big") / 2**64


def hex_id(seed: int, *parts: object, length: int = 24) -> str:
    return digest(seed, *parts).hex()[:length]


def id_salt(seed: int, *parts: object) -> str:
    """The text `hex_id(seed, *parts, last)` digests before `last`: for ids made often, built once."""
    return "\x1f".join([str(seed), *map(str, parts), ""])


def salted_hex_id(salt: str, last: object, length: int = 24) -> str:
    """`hex_id(seed, *parts, last)`, given `salt = id_salt(seed, *parts)`."""
    return hashlib.blake2b(f"{salt}{last}".encode("utf-8", "surrogatepass"), digest_size=32).hexdigest()[:length]
