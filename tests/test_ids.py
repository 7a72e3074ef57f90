"""Ids are digests of the seed, the namespace and the sequence: the same run repeats them, and an id made from a
salt built once is the id made from scratch."""

from __future__ import annotations

import pytest

from simulator.context import in_namespace
from simulator.engine.digest import hex_id, id_salt, salted_hex_id
from simulator.engine.generate import Engine
from simulator.state.memory import MemoryState


@pytest.mark.parametrize("parts", [("request", 1), ("request@team-a", 12345), ("task", "x\x1fy", 0), ("ünï\ud800", 7)])
def test_an_id_from_a_salt_is_the_id_from_scratch(parts: tuple[object, ...]) -> None:
    *head, last = parts
    for length in (24, 32):
        assert salted_hex_id(id_salt(7, *head), last, length) == hex_id(7, *parts, length=length)


@pytest.mark.parametrize("namespace", ["default", "team-a"])
def test_a_request_id_is_the_digest_of_seed_namespace_and_sequence(namespace: str) -> None:
    engine = Engine(MemoryState("manual"), seed=7)
    kind = "request" if namespace == "default" else f"request@{namespace}"
    with in_namespace(namespace):
        assert engine.request_id(42) == f"req_img_{hex_id(7, kind, 42)}"
