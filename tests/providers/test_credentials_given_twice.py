"""A credential header given twice with different values is a 401 in the face's own envelope, whichever comes first;
the same value repeated is one header (simulator.http.credential_header)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

KEY = "pk_test_enterprise_twice"
OTHER = "pk_test_enterprise_other"
GEMINI = "/google/v1beta/models/imagen-3.0-generate-002:predict"
IMAGEN_BODY = {"instances": [{"prompt": "a kite"}], "parameters": {"sampleCount": 1}}


@dataclass(frozen=True)
class Credential:
    name: str
    header: str
    value: str
    """How the header carries a key, `{key}` for the key."""
    path: str
    body: dict[str, Any]
    envelope: tuple[str, ...]
    """The top-level fields of the face's error body."""


CREDENTIALS = [
    Credential("perf", "Authorization", "Bearer {key}", "/v1/images/generations", {"prompt": "a kite"}, ("error",)),
    Credential(
        "openai", "Authorization", "Bearer {key}", "/openai/v1/images/generations", {"model": "dall-e-2", "prompt": "a kite"}, ("error",)
    ),
    Credential("bfl", "x-key", "{key}", "/bfl/v1/flux-dev", {"prompt": "a kite", "width": 256, "height": 256}, ("detail", "message")),
    Credential("ideogram", "Api-Key", "{key}", "/ideogram/generate", {"image_request": {"prompt": "a kite"}}, ("error",)),
    Credential("gemini", "x-goog-api-key", "{key}", GEMINI, IMAGEN_BODY, ("error",)),
    Credential(
        "vertex",
        "Authorization",
        "Bearer {key}",
        "/google/v1/projects/p/locations/us-central1/publishers/google/models/imagen-3.0-generate-002:predict",
        IMAGEN_BODY,
        ("error",),
    ),
]


def _send(client: httpx.Client, credential: Credential, keys: list[str]) -> httpx.Response:
    headers = [(credential.header, credential.value.format(key=key)) for key in keys]
    return client.post(credential.path, headers=headers, json=credential.body)


@pytest.mark.parametrize("credential", CREDENTIALS, ids=[c.name for c in CREDENTIALS])
def test_a_credential_given_twice_differently_is_a_401_in_the_faces_envelope_whichever_comes_first(
    client: httpx.Client, credential: Credential
) -> None:
    """The first used to win silently: `good, bogus` was a 200 and `bogus, good` a 401, and a second key a proxy added
    was billed on whichever came first."""
    for keys in ([KEY, "nope_nope_nope"], ["nope_nope_nope", KEY], [KEY, OTHER]):
        answer = _send(client, credential, keys)
        assert answer.status_code == 401, (keys, answer.text)
        assert tuple(answer.json()) == credential.envelope, answer.text
        assert f"{credential.header} given 2 different values; send one" in answer.text
        assert KEY not in answer.text, "the message names neither key"


@pytest.mark.parametrize("credential", CREDENTIALS, ids=[c.name for c in CREDENTIALS])
def test_a_credential_repeated_with_the_same_value_is_one_header(client: httpx.Client, credential: Credential) -> None:
    answer = _send(client, credential, [KEY, KEY])
    assert answer.status_code == 200, answer.text


def test_a_stability_key_given_twice_differently_is_its_401(client: httpx.Client) -> None:
    answer = client.post(
        "/stability/v2beta/stable-image/generate/sd3",
        headers=[("Authorization", f"Bearer {KEY}"), ("Authorization", "Bearer nope_nope_nope"), ("Accept", "application/json")],
        files={"none": ""},
        data={"prompt": "a kite"},
    )
    assert answer.status_code == 401 and set(answer.json()) == {"id", "name", "errors"}, answer.text
    assert answer.json()["errors"] == ["Authorization given 2 different values; send one"]


def test_a_bfl_poll_with_two_different_keys_is_the_submits_401(client: httpx.Client) -> None:
    task = client.post("/bfl/v1/flux-dev", headers={"x-key": KEY}, json={"prompt": "a kite"}).json()
    poll = client.get(task["polling_url"], headers=[("x-key", KEY), ("x-key", OTHER)])
    assert poll.status_code == 401 and poll.json()["detail"] == "x-key given 2 different values; send one"


def test_a_gemini_key_given_twice_differently_in_the_query_is_a_401_and_the_header_still_wins(client: httpx.Client) -> None:
    """The query follows the headers' rule; a key in the header is the one read, whatever the query says."""
    for query in (f"key={KEY}&key=nope_nope_nope", f"key=nope_nope_nope&key={KEY}"):
        answer = client.post(f"{GEMINI}?{query}", json=IMAGEN_BODY)
        assert answer.status_code == 401 and answer.json()["error"]["status"] == "UNAUTHENTICATED", answer.text
        assert answer.json()["error"]["message"] == "key given 2 different values in the query; send one"
    assert client.post(f"{GEMINI}?key={KEY}&key={KEY}", json=IMAGEN_BODY).status_code == 200
    assert client.post(f"{GEMINI}?key=nope_nope_nope", headers={"x-goog-api-key": KEY}, json=IMAGEN_BODY).status_code == 200
