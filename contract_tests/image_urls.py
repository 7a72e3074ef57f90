"""Fetching the image URLs a target answers with, saying the likely cause when one cannot be fetched at all.

A target served over https behind its own TLS port, building its image URLs as http:// (from a request it saw as
plain HTTP), failed every image case with "the target broke the exchange (ReadError: Connection reset by peer) on:
curl ... GET http://...": the curl line held the cause, and nothing said so.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from contract_tests.client import ContractClient, NoAnswer
from contract_tests.exchange import Exchange


def fetch_image(api: ContractClient, url: str) -> Exchange:
    """GET an image URL (without a key); a NoAnswer says when the URL's scheme is not --base-url's."""
    try:
        return api.fetch(url)
    except NoAnswer as exc:
        hint = scheme_mismatch(api.target.base_url, url)
        if not hint:
            raise
        raise NoAnswer(f"{exc} ({hint})") from None


def scheme_mismatch(base_url: str, url: str) -> str:
    """What differs between an image URL's scheme and the base URL's, as a hint, or "" when they agree."""
    base, image = urlsplit(base_url).scheme, urlsplit(url).scheme
    if not image or image == base:
        return ""
    return f"the URL's scheme is {image} while --base-url is {base}"
