"""Gateway mode against an upstream that answers badly: every odd answer is a documented Perf error, never a 500.

The upstream here is a stub HTTP server that gives every call the answer the test sets, so each provider's mapping
meets answers no healthy provider sends (JSON nested past the decoder's depth, fields of the wrong type, a blank
400, a Retry-After given as a date, a body without end).
"""

from __future__ import annotations

import base64
import email.utils
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from PIL import Image

from simulator.launcher import RunningServer, running_simulator
from spec.control_openapi import MAX_RETRY_AFTER_SECONDS
from spec.models import MODELS

UPSTREAM_TIMEOUT_SECONDS = 5
ONE_MODEL_PER_PROVIDER = ["dall-e-2", "stable-diffusion-3", "flux-pro", "ideogram-2", "imagen-3"]
A_PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode("ascii")


@dataclass
class Answer:
    """What the stub answers every call with. `declared_length` sends that Content-Length over a short body, and
    `stream_bytes` streams that many bytes chunked; both then hold the connection until the client leaves."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    declared_length: int | None = None
    stream_bytes: int | None = None


class _Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    answer = Answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        answer = _Stub.answer
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.stream_bytes is not None:
            self._stream(answer.stream_bytes)
            return
        self.send_header("content-length", str(answer.declared_length or len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)
        if answer.declared_length is not None:
            self._hold()

    def _stream(self, total: int) -> None:
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        chunk = b"x" * (1 << 20)
        try:
            for _ in range(0, total, len(chunk)):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            return
        self._hold()

    def _hold(self) -> None:
        """Keep the answer unfinished (longer than the gateway waits), as an upstream without end would."""
        self.wfile.flush()
        time.sleep(UPSTREAM_TIMEOUT_SECONDS + 1)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def gateway() -> Iterator[RunningServer]:
    stub = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    stub.daemon_threads = True
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    try:
        args = ("--upstream", f"http://127.0.0.1:{stub.server_address[1]}", "--upstream-timeout", str(UPSTREAM_TIMEOUT_SECONDS))
        with running_simulator("--seed", "7", *args) as server:
            yield server
    finally:
        stub.shutdown()


def generate(gateway: RunningServer, model: str, answer: Answer, key: str) -> httpx.Response:
    _Stub.answer = answer
    body = {"prompt": "a lighthouse", "model": model, "response_format": "b64_json"}
    return httpx.post(f"{gateway.base_url}/v1/images/generations", headers={"Authorization": f"Bearer {key}"}, json=body, timeout=30)


def error_of(answer: httpx.Response, status: int, error_type: str) -> str:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["type"] == error_type, answer.text
    return str(error["message"])


@pytest.mark.parametrize("model", ONE_MODEL_PER_PROVIDER)
def test_an_upstream_answer_nested_deeper_than_json_decoding_goes_is_a_502_not_a_500(gateway: RunningServer, model: str) -> None:
    answer = Answer(body=b"[" * 100_000 + b"]" * 100_000)
    error_of(generate(gateway, model, answer, f"pk_test_pro_deep_{model}"), 502, "upstream_error")


WRONG_TYPES = {
    "openai b64_json a number": ("dall-e-2", {"data": [{"b64_json": 5}]}),
    "openai url a number": ("dall-e-2", {"data": [{"url": 7}]}),
    "openai revised_prompt a number": ("dall-e-2", {"data": [{"b64_json": A_PNG, "revised_prompt": 5}]}),
    "ideogram url a number": ("ideogram-2", {"data": [{"url": 7, "is_image_safe": True}]}),
    "imagen bytes a number": ("imagen-3", {"predictions": [{"bytesBase64Encoded": 5, "mimeType": "image/png"}]}),
    "imagen prediction a string": ("imagen-3", {"predictions": ["an image"]}),
}


@pytest.mark.parametrize(("model", "body"), WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_an_upstream_image_field_of_the_wrong_type_is_a_502(gateway: RunningServer, model: str, body: object) -> None:
    """A 502: not a 500, not a Perf answer whose revised_prompt is not a string, and not a content-policy refusal
    (Imagen's filtered predictions carry no bytes; one whose bytes are not a string is unreadable, not filtered)."""
    answer = Answer(body=json.dumps(body).encode())
    error_of(generate(gateway, model, answer, f"pk_test_pro_types_{model}"), 502, "upstream_error")


BLANK_ERRORS = {
    "openai 400, empty body": ("dall-e-2", 400, b"", 400, "invalid_request", "empty body"),
    "stability 400, empty body": ("stable-diffusion-3", 400, b"", 400, "invalid_request", "empty body"),
    "ideogram 400, empty body": ("ideogram-2", 400, b"", 400, "invalid_request", "empty body"),
    "bfl 400, empty body": ("flux-pro", 400, b"", 502, "upstream_error", "empty body"),
    "google 500, not Google's envelope": ("imagen-3", 500, b"<html>proxy overloaded</html>", 502, "upstream_error", "proxy overloaded"),
}


@pytest.mark.parametrize(("model", "status", "body", "perf_status", "perf_type", "says"), BLANK_ERRORS.values(), ids=BLANK_ERRORS.keys())
def test_an_upstream_error_without_a_message_in_its_envelope_still_says_what_came_back(
    gateway: RunningServer, model: str, status: int, body: bytes, perf_status: int, perf_type: str, says: str
) -> None:
    answer = Answer(status=status, body=body, headers={"content-type": "text/html"})
    message = error_of(generate(gateway, model, answer, f"pk_test_pro_blank_{model}"), perf_status, perf_type)
    assert says in message, message


@pytest.mark.parametrize("details", [5, True, "7s", {"retryDelay": "7s"}], ids=["a number", "a boolean", "a string", "an object"])
def test_a_google_429_whose_details_are_not_a_list_is_a_429_with_the_default_wait(gateway: RunningServer, details: object) -> None:
    """Google lists its RetryInfo in `error.details`; anything else there is no wait to read, not a 500."""
    body = json.dumps({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED", "details": details}})
    reply = generate(gateway, "imagen-3", Answer(status=429, body=body.encode()), f"pk_test_pro_details_{type(details).__name__}")
    error_of(reply, 429, "rate_limit_exceeded")
    assert reply.json()["error"]["retry_after"] == 1, reply.text


SLOW_DOWN = {
    "dall-e-2": {"error": {"message": "slow down", "type": "requests", "param": None, "code": "rate_limit_exceeded"}},
    "stable-diffusion-3": {"id": "e1", "name": "rate_limit_exceeded", "errors": ["slow down"]},
    "flux-pro": {"detail": "slow down"},
    "ideogram-2": {"error": "slow down"},
    "imagen-3": {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}},
}


@pytest.mark.parametrize("model", ONE_MODEL_PER_PROVIDER)
def test_an_upstream_429_keeps_the_providers_own_words(gateway: RunningServer, model: str) -> None:
    """As a 502's and a 503's messages do: a per-minute limit and a spent quota read differently."""
    answer = Answer(status=429, body=json.dumps(SLOW_DOWN[model]).encode())
    message = error_of(generate(gateway, model, answer, f"pk_test_pro_words_{model}"), 429, "rate_limit_exceeded")
    provider = MODELS[model].provider
    assert message.startswith(f"Rate limit exceeded for image generation: upstream {provider} refused the gateway's call (429)"), message
    assert message.endswith("slow down"), message


@pytest.mark.parametrize("model", ONE_MODEL_PER_PROVIDER)
def test_an_upstream_429_with_only_retry_after_ms_waits_that_long_rounded_up(gateway: RunningServer, model: str) -> None:
    """OpenAI's `retry-after-ms`, read when `Retry-After` is absent, not the default wait of 1 s."""
    answer = Answer(status=429, headers={"content-type": "application/json", "retry-after-ms": "2500"})
    reply = generate(gateway, model, answer, f"pk_test_pro_ms_{model}")
    error_of(reply, 429, "rate_limit_exceeded")
    assert reply.json()["error"]["retry_after"] == 3 and reply.headers["retry-after"] == "3", reply.text


OUT_OF_QUOTA = "You exceeded your current quota, please check your plan and billing details."


@pytest.mark.parametrize("named_in", ["code", "type"])
def test_an_openai_429_for_insufficient_quota_is_a_502_naming_it_not_a_429_to_retry(gateway: RunningServer, named_in: str) -> None:
    """No wait restores a spent quota: a 429 would have every caller retry in 1 s, forever (docs/providers.md)."""
    error = {"message": OUT_OF_QUOTA, "type": "requests", "param": None, "code": None, named_in: "insufficient_quota"}
    answer = Answer(status=429, body=json.dumps({"error": error}).encode())
    message = error_of(generate(gateway, "dall-e-2", answer, f"pk_test_pro_quota_{named_in}"), 502, "upstream_error")
    assert message.startswith("upstream openai answered 429: insufficient_quota"), message
    assert "billing" in message and message.endswith(OUT_OF_QUOTA), message


@pytest.mark.parametrize("status", [302, 404, 500])
@pytest.mark.parametrize("model", ONE_MODEL_PER_PROVIDER)
def test_an_upstream_error_with_an_empty_body_says_so_once(gateway: RunningServer, model: str, status: int) -> None:
    answer = Answer(status=status, body=b"", headers={})
    message = error_of(generate(gateway, model, answer, f"pk_test_pro_empty_{model}"), 502, "upstream_error")
    assert message == f"upstream {MODELS[model].provider} answered {status} with an empty body"


@pytest.mark.parametrize("model", ONE_MODEL_PER_PROVIDER)
def test_an_upstream_503_with_an_empty_body_says_so_once(gateway: RunningServer, model: str) -> None:
    answer = Answer(status=503, body=b"", headers={})
    message = error_of(generate(gateway, model, answer, f"pk_test_pro_empty_503_{model}"), 503, "service_unavailable")
    assert message == f"upstream {MODELS[model].provider} is unavailable (503): an empty body"


NOT_A_STRING = {
    "dall-e-2": {"error": {"message": {"reason": "overloaded"}}},
    "stable-diffusion-3": {"id": "e1", "name": "server_error", "errors": [{"reason": "overloaded"}]},
    "flux-pro": {"detail": {"reason": "overloaded"}},
    "ideogram-2": {"error": {"reason": "overloaded"}},
}


@pytest.mark.parametrize("model", NOT_A_STRING)
def test_an_upstream_message_that_is_not_a_string_is_quoted_as_the_json_it_was(gateway: RunningServer, model: str) -> None:
    """`{"reason": "overloaded"}`, as sent, not Python's `{'reason': 'overloaded'}`."""
    answer = Answer(status=500, body=json.dumps(NOT_A_STRING[model]).encode())
    message = error_of(generate(gateway, model, answer, f"pk_test_pro_not_text_{model}"), 502, "upstream_error")
    assert message == f'upstream {MODELS[model].provider} answered 500: {{"reason": "overloaded"}}'


@pytest.mark.parametrize("model", ONE_MODEL_PER_PROVIDER)
def test_an_upstream_retry_after_given_as_an_http_date_sets_retry_after(gateway: RunningServer, model: str) -> None:
    """Retry-After is seconds or an HTTP-date (RFC 9110); the date's wait is counted from now."""
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    answer = Answer(status=429, headers={"content-type": "application/json", "retry-after": when})
    reply = generate(gateway, model, answer, f"pk_test_pro_date_{model}")
    error_of(reply, 429, "rate_limit_exceeded")
    assert 100 <= reply.json()["error"]["retry_after"] <= 121, reply.text


@pytest.mark.parametrize("model", ONE_MODEL_PER_PROVIDER)
def test_an_upstream_503_passes_on_the_wait_its_retry_after_asks_for(gateway: RunningServer, model: str) -> None:
    answer = Answer(status=503, headers={"content-type": "application/json", "retry-after": "30"})
    reply = generate(gateway, model, answer, f"pk_test_pro_unavailable_{model}")
    error_of(reply, 503, "service_unavailable")
    assert reply.json()["error"]["retry_after"] == 30 and reply.headers["retry-after"] == "30", reply.text


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("asked", ["1e308", "99999999999999999999", "86401"])
@pytest.mark.parametrize("model", ONE_MODEL_PER_PROVIDER)
def test_an_upstream_wait_longer_than_a_day_is_passed_on_as_a_day(gateway: RunningServer, model: str, asked: str, status: int) -> None:
    """The control API's bound on a retry_after (a day), not a 309-digit number no fixed-size integer holds."""
    answer = Answer(status=status, headers={"content-type": "application/json", "retry-after": asked})
    reply = generate(gateway, model, answer, f"pk_test_pro_long_wait_{model}_{status}")
    error_of(reply, status, "rate_limit_exceeded" if status == 429 else "service_unavailable")
    assert reply.json()["error"]["retry_after"] == MAX_RETRY_AFTER_SECONDS == 86_400, reply.text
    assert reply.headers["retry-after"] == "86400"


def test_an_upstream_answer_declaring_a_body_over_the_limit_is_refused_at_once(gateway: RunningServer) -> None:
    """Not read for the whole timeout (or into memory): the declared length alone is enough to refuse it."""
    answer = Answer(body=b"{", declared_length=10 * 1024**3)
    message = error_of(generate(gateway, "dall-e-2", answer, "pk_test_pro_declared"), 502, "upstream_error")
    assert "the most the gateway reads" in message, message


def test_an_upstream_body_streamed_past_the_limit_is_cut_off_with_a_502(gateway: RunningServer) -> None:
    from simulator.gateway.transport import MAX_ANSWER_BYTES

    answer = Answer(stream_bytes=MAX_ANSWER_BYTES + (4 << 20))
    message = error_of(generate(gateway, "imagen-3", answer, "pk_test_pro_streamed"), 502, "upstream_error")
    assert "the most the gateway reads" in message, message


def picture(kind: str, size: tuple[int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size).save(buffer, kind)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _noise_png(size: tuple[int, int]) -> bytes:
    """A PNG that does not compress to almost nothing, so that half of it is half of its pixel data."""
    buffer = io.BytesIO()
    Image.frombytes("L", size, bytes(range(256)) * (size[0] * size[1] // 256)).save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


def cut_short(keep: float) -> str:
    """The start of a valid 1024x1024 PNG: `keep` bytes, or that share of them (a download ended early)."""
    png = _noise_png((1024, 1024))
    return base64.b64encode(png[: int(keep if keep >= 1 else len(png) * keep)]).decode("ascii")


def corrupted() -> str:
    """A 1024x1024 PNG with one byte of its pixel data changed: its header is whole, its chunk's checksum is not."""
    png = bytearray(_noise_png((1024, 1024)))
    png[len(png) // 2] ^= 0xFF
    return base64.b64encode(bytes(png)).decode("ascii")


WRONG_PICTURES = {
    "a JPEG": (picture("JPEG", (1024, 1024)), "a JPEG image where a PNG was asked for"),
    "a PNG of another size": (picture("PNG", (512, 512)), "a 512x512 image for a 1024x1024 request"),
    "bytes that are no image": (base64.b64encode(b"not an image").decode("ascii"), "an image that cannot be read"),
    "a PNG cut short after its header": (cut_short(60), "an image that cannot be read"),
    "half of a PNG": (cut_short(0.5), "an image that cannot be read"),
    "a PNG whose pixel data is corrupted": (corrupted(), "an image that cannot be read"),
}


@pytest.mark.parametrize(("encoded", "says"), WRONG_PICTURES.values(), ids=WRONG_PICTURES.keys())
@pytest.mark.parametrize("response_format", ["b64_json", "url"])
def test_an_upstream_picture_other_than_a_png_of_the_asked_size_is_a_502(
    gateway: RunningServer, encoded: str, says: str, response_format: str
) -> None:
    """Not handed on (nor hosted at /images/<id>.png) as the PNG of the requested size that every Perf image is."""
    _Stub.answer = Answer(body=json.dumps({"created": 1, "data": [{"b64_json": encoded}]}).encode())
    body = {"prompt": "a lighthouse", "model": "dall-e-2", "size": "1024x1024", "response_format": response_format}
    headers = {"Authorization": f"Bearer pk_test_pro_picture_{response_format}"}
    answer = httpx.post(f"{gateway.base_url}/v1/images/generations", headers=headers, json=body, timeout=30)
    assert says in error_of(answer, 502, "upstream_error")
