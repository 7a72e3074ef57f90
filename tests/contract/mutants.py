"""Deliberately broken simulators, one defect each, for measuring the contract suite's strength.

Each mutant is a zero-argument app factory (`uvicorn --factory tests.contract.mutants:<name>`): the real
simulator with one defect injected from outside the product: an ASGI wrapper rewriting answers or requests,
the spec table patched in the server process only, a State subclass, or a keys file. `caught_by` is the -k
expression of contract modules the quick sweep runs against the mutant (the slow sweep runs everything).

Each mutant is also judged as a foreign implementation (tests/contract/foreign.py: real clock, /_sim/ hidden).
There `over_time` mutants show their defect only as time passes, so only the real-time runs can catch them;
`blind_in_real_time` ones (the UTC day, the one-hour URL expiry) cannot be caught without moving the clock,
and the verdict must say so instead.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image

import simulator.engine.generate
import simulator.engine.render
import simulator.engine.validate
import simulator.http
import simulator.keys
import simulator.state.base
import simulator.state.memory
from contract_tests.decisions import CUSTOM_SIZE_MODELS
from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.keys import KeyRegistry, Tenant
from simulator.state.base import Admission, Limits
from simulator.state.memory import MemoryState, _Bucket
from spec import errors, tiers
from spec.models import MODELS, STYLES
from tests.contract.asgi_defects import Answer, ASGIApp, RewriteAnswers, RewriteRequests

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Mutant:
    name: str
    defect: str
    caught_by: str
    over_time: bool = False
    blind_in_real_time: bool = False


MUTANTS: dict[str, Mutant] = {}
# The clock a mutant runs on: manual (the default, for the clock-moving suite) or real (as a foreign target).
CLOCK_ENV = "PERF_MUTANT_CLOCK"


def mutant(
    defect: str, caught_by: str, over_time: bool = False, blind_in_real_time: bool = False
) -> Callable[[Callable[[], ASGIApp]], Callable[[], ASGIApp]]:
    def register(factory: Callable[[], ASGIApp]) -> Callable[[], ASGIApp]:
        MUTANTS[factory.__name__] = Mutant(factory.__name__, defect, caught_by, over_time, blind_in_real_time)
        return factory

    return register


def _config(keys_file: Path | None = None) -> SimulatorConfig:
    return SimulatorConfig(clock=os.environ.get(CLOCK_ENV, "manual"), keys_file=str(keys_file) if keys_file else None)


def _simulator(state: MemoryState | None = None, keys_file: Path | None = None) -> ASGIApp:
    config = _config(keys_file)
    return create_app(config, state or MemoryState(config.clock, config.start_time))


def _patch_model(name: str, **changes: Any) -> None:
    MODELS[name] = replace(MODELS[name], **changes)


def _on_json(edit: Callable[[Answer, Any], object], prefix: str = "/v1/images/generations") -> ASGIApp:
    """The simulator with `edit(answer, body)` applied to each JSON answer under `prefix`."""

    def apply(answer: Answer) -> None:
        body = answer.json()
        if body is not None:
            edit(answer, body)
            answer.set_json(body)

    return RewriteAnswers(_simulator(), apply, prefix)


def _on_success(edit: Callable[[dict[str, Any]], None]) -> ASGIApp:
    return _on_json(lambda answer, body: edit(body) if answer.status == 200 else None)


def _on_error(error_type: str, edit: Callable[[Answer, dict[str, Any]], None]) -> ASGIApp:
    def apply(answer: Answer, body: Any) -> None:
        if answer.error and answer.error.get("type") == error_type:
            edit(answer, body["error"])

    return _on_json(apply)


# --- prices, perf block, response body ---------------------------------------------------------------------


@mutant("dall-e-3 hd is charged the standard price", "test_models or test_defaults")
def hd_priced_as_standard() -> ASGIApp:
    _patch_model("dall-e-3", price_usd={**MODELS["dall-e-3"].price_usd, "hd": MODELS["dall-e-3"].price_usd["standard"]})
    return _simulator()


@mutant("a custom size costs 1.5 times the model's price", "test_models or test_images")
def custom_size_priced_higher() -> ASGIApp:
    def edit(body: dict[str, Any]) -> None:
        if body["perf"]["model_used"] in CUSTOM_SIZE_MODELS and body["perf"]["size"] != "1024x1024":
            body["perf"]["cost_usd"] = round(body["perf"]["cost_usd"] * 1.5, 6)

    return _on_success(edit)


@mutant("cost_usd is the price of one image whatever n is", "test_models")
def cost_ignores_n() -> ASGIApp:
    def edit(body: dict[str, Any]) -> None:
        body["perf"]["cost_usd"] = round(body["perf"]["cost_usd"] / len(body["data"]), 6)

    return _on_success(edit)


@mutant("perf.latency_ms is missing", "test_defaults")
def missing_latency_ms() -> ASGIApp:
    return _on_success(lambda body: body["perf"].pop("latency_ms"))


@mutant("revised_prompt is a list of strings instead of a string", "test_defaults")
def revised_prompt_as_list() -> ASGIApp:
    def edit(body: dict[str, Any]) -> None:
        for item in body["data"]:
            item["revised_prompt"] = [item["revised_prompt"]]

    return _on_success(edit)


@mutant("created is in milliseconds", "test_defaults")
def created_in_milliseconds() -> ASGIApp:
    return _on_success(lambda body: body.update(created=body["created"] * 1000))


@mutant("every response has the same request_id", "test_defaults")
def constant_request_id() -> ASGIApp:
    return _on_success(lambda body: body["perf"].update(request_id="req_img_" + "0" * 24))


@mutant("data holds one image whatever n is", "test_models")
def always_one_image() -> ASGIApp:
    return _on_success(lambda body: body.update(data=body["data"][:1]))


@mutant("with response_format b64_json, data holds one image whatever n is (url answers are right)", "test_images")
def b64_batch_holds_one_image() -> ASGIApp:
    def edit(body: dict[str, Any]) -> None:
        if "b64_json" in body["data"][0]:
            body["data"] = body["data"][:1]

    return _on_success(edit)


@mutant("image URLs are relative paths", "test_images")
def relative_urls() -> ASGIApp:
    def edit(body: dict[str, Any]) -> None:
        for item in body["data"]:
            if "url" in item:
                item["url"] = "/" + item["url"].split("/", 3)[3]

    return _on_success(edit)


@mutant("JSON answers are labelled text/plain", "test_defaults")
def text_plain_content_type() -> ASGIApp:
    return _on_json(lambda answer, body: answer.headers.update({"content-type": "text/plain; charset=utf-8"}))


@mutant("perf.model_used names the provider's model id, not the Perf model", "test_models")
def native_model_id_reported() -> ASGIApp:
    def edit(body: dict[str, Any]) -> None:
        spec = MODELS[body["perf"]["model_used"]]
        body["perf"]["model_used"] = next(iter(spec.native_ids.values()))

    return _on_success(edit)


# --- defaults and validation -----------------------------------------------------------------------------------


@mutant("the default model is dall-e-2", "test_defaults")
def default_model_dalle2() -> ASGIApp:
    simulator.engine.validate.DEFAULT_MODEL = "dall-e-2"
    return _simulator()


@mutant("n is not enforced for dall-e-3 (up to 10 accepted)", "test_validation")
def dalle3_n_not_enforced() -> ASGIApp:
    _patch_model("dall-e-3", max_n=10)
    return _simulator()


@mutant("flux-pro accepts a style", "test_validation")
def style_accepted_for_flux() -> ASGIApp:
    _patch_model("flux-pro", styles=STYLES)
    return _simulator()


@mutant("flux-dev accepts quality hd", "test_validation")
def hd_accepted_for_flux() -> ASGIApp:
    _patch_model("flux-dev", qualities=("standard", "hd"))
    return _simulator()


@mutant("flux-dev takes no custom sizes (1024x1024 only)", "test_models")
def custom_sizes_rejected() -> ASGIApp:
    _patch_model("flux-dev", sizes=("1024x1024",))
    return _simulator()


@mutant("prompt length is not limited", "test_validation")
def prompt_length_not_enforced() -> ASGIApp:
    for name in list(MODELS):
        _patch_model(name, max_prompt_chars=10**6)
    return _simulator()


@mutant("unknown request fields are accepted", "test_validation")
def unknown_fields_accepted() -> ASGIApp:
    class Everything(frozenset[str]):
        def __contains__(self, item: object) -> bool:
            return True

    simulator.engine.validate._KNOWN = Everything()
    return _simulator()


@mutant("invalid_request errors are typed invalid_request_error", "test_validation")
def wrong_error_type() -> ASGIApp:
    return _on_error(errors.INVALID_REQUEST, lambda answer, error: error.update(type="invalid_request_error"))


@mutant("invalid_request errors do not name the parameter", "test_validation")
def error_param_missing() -> ASGIApp:
    return _on_error(errors.INVALID_REQUEST, lambda answer, error: error.update(param=None))


@mutant("a body that is not JSON is a 500", "test_errors")
def bad_json_is_500() -> ASGIApp:
    def edit(raw: bytes) -> bytes | Answer:
        try:
            json.loads(raw)
        except ValueError:
            body = json.dumps({"error": {"type": errors.INTERNAL_ERROR, "message": "Expecting value"}}).encode()
            return Answer("", 500, {"content-type": "application/json"}, body)
        return raw

    return RewriteRequests(_simulator(), edit)


@mutant("a prompt that is not ASCII is a 500", "test_properties or test_schemathesis")
def non_ascii_prompt_is_500() -> ASGIApp:
    def edit(raw: bytes) -> bytes | Answer:
        try:
            prompt = json.loads(raw).get("prompt")
        except (ValueError, AttributeError):
            return raw
        if isinstance(prompt, str) and not prompt.isascii():
            return Answer("", 500, {"content-type": "text/plain"}, b"Internal Server Error")
        return raw

    return RewriteRequests(_simulator(), edit)


@mutant("bodies over the size cap are read and parsed anyway", "test_errors")
def oversized_body_accepted() -> ASGIApp:
    simulator.http.read_body.__defaults__ = (64 * 1024 * 1024,)
    return _simulator()


@mutant("response_format is ignored (always url)", "test_images")
def response_format_ignored() -> ASGIApp:
    def edit(raw: bytes) -> bytes:
        try:
            body = json.loads(raw)
        except ValueError:
            return raw
        if isinstance(body, dict):
            body.pop("response_format", None)
        return json.dumps(body).encode()

    return RewriteRequests(_simulator(), edit)


# --- auth and content policy -----------------------------------------------------------------------------------


@mutant("any well-formed key is accepted (as pro)", "test_auth")
def unknown_keys_accepted() -> ASGIApp:
    original = KeyRegistry.lookup

    def lookup(self: KeyRegistry, key: str) -> Tenant | None:
        pro = tiers.TIERS["pro"]
        return original(self, key) or Tenant(key, "pro", Limits(pro.images_per_minute, pro.images_per_day))

    KeyRegistry.lookup = lookup  # type: ignore[method-assign]
    return _simulator()


@mutant("authentication failures are 403, not 401", "test_auth")
def auth_failure_is_403() -> ASGIApp:
    return _on_error(errors.AUTHENTICATION_ERROR, lambda answer, error: setattr(answer, "status", 403))


@mutant("the content policy is never applied", "test_errors")
def content_policy_ignored() -> ASGIApp:
    simulator.engine.generate.violates_policy = lambda prompt: False
    return _simulator()


@mutant("content-policy violations are 422", "test_errors")
def content_policy_422() -> ASGIApp:
    return _on_error(errors.CONTENT_POLICY_VIOLATION, lambda answer, error: setattr(answer, "status", 422))


# --- images ------------------------------------------------------------------------------------------------------


@mutant("images are rendered with width and height swapped", "test_images")
def image_size_swapped() -> ASGIApp:
    original = simulator.engine.render.parse_size
    simulator.engine.render.parse_size = lambda size: original(size)[::-1]
    return _simulator()


@mutant("b64_json holds a JPEG, not a PNG", "test_images")
def b64_not_png() -> ASGIApp:
    def edit(body: dict[str, Any]) -> None:
        for item in body["data"]:
            if "b64_json" in item:
                image = Image.open(io.BytesIO(base64.b64decode(item["b64_json"]))).convert("RGB")
                out = io.BytesIO()
                image.save(out, "JPEG")
                item["b64_json"] = base64.b64encode(out.getvalue()).decode()

    return _on_success(edit)


@mutant("image URLs never expire", "test_expiry", blind_in_real_time=True)
def url_never_expires() -> ASGIApp:
    simulator.engine.generate.IMAGE_URL_TTL_SECONDS = 10**9
    simulator.state.base.IMAGE_URL_TTL_SECONDS = 10**9
    return _simulator()


@mutant("an unknown image URL is a 200 with an empty body", "test_images")
def unknown_image_200() -> ASGIApp:
    def edit(answer: Answer) -> None:
        if answer.status == 404:
            answer.status, answer.body, answer.headers["content-type"] = 200, b"", "image/png"

    return RewriteAnswers(_simulator(), edit, prefix="/images/")


# --- rate limits -------------------------------------------------------------------------------------------------


@mutant("the minute window admits one image more than the limit", "test_rate_limits")
def minute_limit_off_by_one() -> ASGIApp:
    """The admission rule (`fits`) and the retry_after rule (`decide`) both see one image more than the limit."""
    fits, decide = simulator.state.memory.fits, simulator.state.memory.decide

    def loose(limits: Limits) -> Limits:
        return Limits(limits.images_per_minute + 1, limits.images_per_day)

    simulator.state.memory.fits = lambda used_minute, day_used, n, limits: fits(used_minute, day_used, n, loose(limits))
    simulator.state.memory.decide = lambda minute_entries, day_used, n, limits, now: decide(minute_entries, day_used, n, loose(limits), now)
    return _simulator()


@mutant("the minute window is fixed (resets at each :00), not sliding", "test_rate_limits", over_time=True)
def fixed_minute_window() -> ASGIApp:
    original = _Bucket.roll

    def roll(self: _Bucket, now: float) -> None:
        while self.minute and int(self.minute[0][0]) // tiers.MINUTE_SECONDS != int(now) // tiers.MINUTE_SECONDS:
            self.minute_used -= self.minute.popleft()[1]
        original(self, now)

    _Bucket.roll = roll  # type: ignore[method-assign]
    return _simulator()


@mutant("a 429 still consumes its images from the day window", "test_rate_limits", over_time=True)
def refused_requests_consume_day() -> ASGIApp:
    class Leaky(MemoryState):
        async def admit(self, bucket: str, n: int, limits: Limits, now: float) -> Admission:
            admission = await super().admit(bucket, n, limits, now)
            if not admission.admitted:
                self._bucket(bucket, now).day_used += n
            return admission

    config = _config()
    return _simulator(Leaky(config.clock, config.start_time))


@mutant("the day window turns over at 19:00 UTC, not midnight", "test_day_window", blind_in_real_time=True)
def day_window_not_utc() -> ASGIApp:
    simulator.state.memory.day_index = lambda now: int(now + 5 * 3600) // tiers.DAY_SECONDS
    return _simulator()


@mutant("a 429 has no retry_after", "test_rate_limits")
def no_retry_after() -> ASGIApp:
    return _on_error(errors.RATE_LIMIT_EXCEEDED, lambda answer, error: error.pop("retry_after", None))


def _retry_after_as(wait: Callable[[int], int]) -> ASGIApp:
    """A 429 whose retry_after (body and header alike) says `wait(true wait)` seconds."""

    def edit(answer: Answer, error: dict[str, Any]) -> None:
        error["retry_after"] = wait(int(error["retry_after"]))
        answer.headers["retry-after"] = str(error["retry_after"])

    return _on_error(errors.RATE_LIMIT_EXCEEDED, edit)


@mutant("retry_after is always 60 (the document's example), not the real wait", "test_rate_limits", over_time=True)
def retry_after_always_60() -> ASGIApp:
    return _retry_after_as(lambda seconds: 60)


@mutant("retry_after is half the real wait (retrying when told is refused)", "test_rate_limits", over_time=True)
def retry_after_too_short() -> ASGIApp:
    return _retry_after_as(lambda seconds: max(1, seconds // 2))


@mutant("retry_after is 5 s longer than the real wait (not the least wait)", "test_rate_limits", over_time=True)
def retry_after_too_long() -> ASGIApp:
    return _retry_after_as(lambda seconds: seconds + 5)


@mutant("no answer carries x-request-id (differs from a decision only)", "test_defaults")
def no_request_id_header() -> ASGIApp:
    def edit(answer: Answer) -> None:
        answer.headers.pop("x-request-id", None)

    return RewriteAnswers(_simulator(), edit, "/v1/")


@mutant("the images-remaining header is missing", "test_rate_limits")
def missing_remaining_header() -> ASGIApp:
    return _on_json(lambda answer, body: answer.headers.pop(tiers.HEADER_REMAINING_MINUTE, None))


@mutant("error responses carry no rate-limit headers", "test_rate_limits")
def no_rate_headers_on_errors() -> ASGIApp:
    def edit(answer: Answer, body: Any) -> None:
        if answer.status >= 400:
            for name in tiers.RATE_LIMIT_HEADERS:
                answer.headers.pop(name, None)

    return _on_json(edit)


def _without_rate_headers(app: ASGIApp) -> ASGIApp:
    """`app` with none of the x-ratelimit-* headers on any answer (the simulator's decision; the document names none)."""

    def edit(answer: Answer) -> None:
        for name in tiers.RATE_LIMIT_HEADERS:
            answer.headers.pop(name, None)

    return RewriteAnswers(app, edit, "/v1/images/generations")


@mutant("no answer carries the x-ratelimit-* headers (differs from a decision only)", "test_rate_limits")
def no_rate_limit_headers() -> ASGIApp:
    return _without_rate_headers(_simulator())


@mutant("no rate-limit headers, and a 429 has no retry_after", "test_rate_limits")
def no_headers_no_retry_after() -> ASGIApp:
    return _without_rate_headers(no_retry_after())


@mutant("the free tier admits one image a minute over its limit, and its headers say so", "test_rate_limits")
def free_tier_one_image_over() -> ASGIApp:
    """A tier table's typo: the free tier's limit is one higher everywhere (admission, retry_after, the headers), so
    the target agrees with itself and only the document's Rate Limits table shows it wrong. It passed with exit 0."""
    free = tiers.TIERS["free"]
    simulator.keys._TIER_LIMITS["free"] = Limits(free.images_per_minute + 1, free.images_per_day)
    return _simulator()


@mutant("the free key (via a keys file) gets pro limits", "test_rate_limits")
def free_key_with_pro_limits() -> ASGIApp:
    return _simulator(keys_file=HERE / "keys_free_as_pro.toml")


# --- defects that show how the verdict reads (tests/contract/test_contract_verdict.py) --------------------------------------


@mutant("url images also carry b64_json: null", "test_defaults")
def b64_json_null_beside_url() -> ASGIApp:
    def edit(body: dict[str, Any]) -> None:
        for item in body["data"]:
            if "url" in item:
                item["b64_json"] = None

    return _on_success(edit)


@mutant("one image whatever n is, and perf.quality always reported as hd", "test_models")
def two_defects_in_one_answer() -> ASGIApp:
    def edit(body: dict[str, Any]) -> None:
        body["data"] = body["data"][:1]
        body["perf"]["quality"] = "hd"

    return _on_success(edit)
