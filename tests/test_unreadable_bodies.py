"""A body that is not UTF-8 JSON gets a 400 that says why, from what its bytes or headers show: a coding named by
Content-Encoding, a charset other than UTF-8, a byte-order mark, a form; on the Perf API, every JSON native face
and the control API alike (simulator.http.parse_json). Stability's form stays a form."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

KEY = "pk_test_enterprise_unreadable"
PROMPT: dict[str, object] = {"prompt": "a kite"}
JSON_TYPE = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class JsonFace:
    name: str
    path: str
    headers: dict[str, str]
    body: dict[str, object]
    status: int
    """The status of a body that is not JSON on this face."""
    reads_forms: bool = False
    """Whether the face refuses a form by its Content-Type before reading it (BFL, as FastAPI does)."""


FACES = [
    JsonFace("perf", "/v1/images/generations", {"Authorization": f"Bearer {KEY}"}, PROMPT, 400),
    JsonFace("openai", "/openai/v1/images/generations", {"Authorization": f"Bearer {KEY}"}, {"model": "dall-e-2", **PROMPT}, 400),
    JsonFace("ideogram", "/ideogram/generate", {"Api-Key": KEY}, {"image_request": PROMPT}, 400),
    JsonFace(
        "google",
        "/google/v1beta/models/imagen-3.0-generate-002:predict",
        {"x-goog-api-key": KEY},
        {"instances": [PROMPT], "parameters": {"sampleCount": 1}},
        400,
    ),
    JsonFace("bfl", "/bfl/v1/flux-dev", {"x-key": KEY}, {**PROMPT, "width": 256, "height": 256}, 422, reads_forms=True),
]


def _json(face: JsonFace) -> bytes:
    return json.dumps(face.body).encode()


# (case id, the body made from the face's JSON, headers, what the message says)
CASES = [
    (
        "deflate",
        zlib.compress,
        {**JSON_TYPE, "Content-Encoding": "deflate"},
        "request body is deflate-compressed (Content-Encoding: deflate); send it uncompressed",
    ),
    (
        "br",
        lambda raw: b"\x8b\x05\x80" + raw[::-1],
        {**JSON_TYPE, "Content-Encoding": "br"},
        "request body is br-compressed (Content-Encoding: br); send it uncompressed",
    ),
    (
        "latin-1 declared",
        lambda raw: raw.replace(b"a kite", b"caf\xe9 kite"),
        {"Content-Type": "application/json; charset=ISO-8859-1"},
        "request body is not valid UTF-8; only UTF-8 is read, and the body declares charset=ISO-8859-1: send it as UTF-8",
    ),
    (
        "utf-16 declared",
        lambda raw: raw.decode().encode("utf-16-le"),
        {"Content-Type": 'application/json; charset="utf-16"'},
        "only UTF-8 is read, and the body declares charset=utf-16: send it as UTF-8",
    ),
    (
        "utf-16 marked",
        lambda raw: raw.decode().encode("utf-16"),
        JSON_TYPE,
        "request body is UTF-16 (it starts with a UTF-16 byte-order mark)",
    ),
    (
        "utf-8 BOM",
        lambda raw: b"\xef\xbb\xbf" + raw,
        JSON_TYPE,
        "request body starts with a byte-order mark (U+FEFF); send UTF-8 without one (RFC 8259 section 8.1)",
    ),
]


@pytest.mark.parametrize(("case", "encode", "headers", "says"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("face", FACES, ids=[f.name for f in FACES])
def test_a_body_that_is_not_utf8_json_is_told_why_from_its_bytes_and_headers(
    client: httpx.Client, face: JsonFace, case: str, encode: Callable[[bytes], bytes], headers: dict[str, str], says: str
) -> None:
    answer = client.post(face.path, content=encode(_json(face)), headers={**face.headers, **headers})
    assert answer.status_code == face.status, answer.text
    assert says in answer.text, answer.text
    assert "utf-8-sig" not in answer.text, "Python's advice is not given to an HTTP client"


@pytest.mark.parametrize("face", [f for f in FACES if not f.reads_forms], ids=[f.name for f in FACES if not f.reads_forms])
def test_a_form_is_told_to_send_json_and_json_sent_with_a_form_type_is_read_as_json(client: httpx.Client, face: JsonFace) -> None:
    """`requests.post(url, data={...})` sends a form, and read only "Expecting value: line 1 column 1"; curl -d sends
    JSON with the form type, which is read as JSON (and a syntax error in it is told as one, not as a form)."""
    form = {**face.headers, "Content-Type": "application/x-www-form-urlencoded"}
    refused = client.post(face.path, content=b"prompt=a+kite&n=1", headers=form)
    assert refused.status_code == face.status, refused.text
    assert "request body is a form (Content-Type: application/x-www-form-urlencoded), not JSON; send JSON, not a form" in refused.text
    assert client.post(face.path, content=_json(face), headers=form).status_code == 200
    broken = client.post(face.path, content=_json(face)[:-1] + b",}", headers=form)
    assert broken.status_code == face.status and "not valid JSON" in broken.text and "a form" not in broken.text, broken.text


@pytest.mark.parametrize("face", FACES, ids=[f.name for f in FACES])
def test_a_coding_or_charset_named_on_a_body_that_reads_as_json_changes_nothing(client: httpx.Client, face: JsonFace) -> None:
    """Bodies are read as sent: the headers only explain a refusal. A body that starts as JSON does, with a coding
    named, is told as the JSON error it has."""
    for headers in ({"Content-Encoding": "gzip"}, {"Content-Encoding": "br"}, {"Content-Type": "application/json; charset=iso-8859-1"}):
        assert client.post(face.path, content=_json(face), headers={**face.headers, **headers}).status_code == 200, headers
    broken = client.post(face.path, content=_json(face)[:-1] + b",}", headers={**face.headers, "Content-Encoding": "deflate"})
    assert "not valid JSON" in broken.text and "compressed" not in broken.text, broken.text


def test_a_control_call_sent_as_a_form_is_told_to_send_json(client: httpx.Client) -> None:
    answer = client.post("/_sim/faults", content=b"action=drop", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == (
        "request body is a form (Content-Type: application/x-www-form-urlencoded), not JSON; send JSON, not a form"
    )


def test_stability_still_reads_its_multipart_form(client: httpx.Client) -> None:
    answer = client.post(
        "/stability/v2beta/stable-image/generate/sd3",
        headers={"Authorization": f"Bearer {KEY}", "Accept": "application/json"},
        files={"none": ""},
        data={"prompt": "a kite"},
    )
    assert answer.status_code == 200, answer.text
