"""Checks shared by many tests, each stating the spec rule it holds in words."""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from contract_tests import decisions
from contract_tests.exchange import Exchange
from contract_tests.explain import explain_all, shown, shown_header
from contract_tests.png import decodes_as_png, png_size
from contract_tests.sources import DOCUMENT, Source
from contract_tests.violations import expect, require
from spec import document, errors, tiers
from spec.models import (
    DEFAULT_MODEL,
    DEFAULT_N,
    DEFAULT_QUALITY,
    DEFAULT_RESPONSE_FORMAT,
    DEFAULT_SIZE,
    MODELS,
    parse_size,
)
from spec.schemas import error_schema, response_schema

DOCUMENT_ERROR_TYPES = (errors.INVALID_REQUEST, errors.CONTENT_POLICY_VIOLATION, errors.RATE_LIMIT_EXCEEDED)
"""The error types the document names; the others are the simulator's decisions (spec/errors.py)."""


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = response_schema() if name == "response" else error_schema()
    return Draft202012Validator(schema, format_checker=FormatChecker())


def schema_errors(instance: Any, name: str) -> list[str]:
    """Each way `instance` breaks the named schema, in plain words naming the field."""
    return explain_all(_validator(name).iter_errors(instance))


def said_by_the_answer(exchange: Exchange) -> str:
    """What an error answer says beyond its status (message and param): usually the likeliest cause."""
    body = exchange.json()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ""
    message, param = error.get("message"), error.get("param")
    parts = [f"message {trimmed(message, 160)}" if isinstance(message, str) and message else "", f"param {param!r}" if param else ""]
    said = ", ".join(p for p in parts if p)
    return f"; the answer says: {said}" if said else ""


def _got(exchange: Exchange) -> tuple[str, str]:
    """(status and error type as a person reads them, with what the answer says; the same without it and without
    the param: the cause shared by many cases)."""
    body = exchange.json()
    error = body.get("error") if isinstance(body, dict) else None
    got_type = error.get("type") if isinstance(error, dict) else None
    param = error.get("param") if isinstance(error, dict) else None
    # A body without the envelope says so: "expected 404 not_found, got 404" alone would read as no difference. An
    # envelope whose error object names its fields otherwise ({"code", "msg"}) is there: called absent, a team looked
    # for a missing envelope rather than at its field names, which only the longer form lists (the cause is shared).
    fields = ""
    if got_type:
        kind = f" {got_type}"
    elif isinstance(error, dict) and "type" in error and exchange.status >= 400:
        kind = f" with error.type {shown(error['type'])}"
    elif isinstance(error, dict) and exchange.status >= 400:
        kind = " with an error object without `type`"
        fields = f" (its fields: {', '.join(map(str, error)) or 'none'})"
    else:
        kind = " without an error envelope" if exchange.status >= 400 else ""
    short = f"{exchange.status}{kind}"
    return short + fields + (f" (param {param!r})" if param else "") + said_by_the_answer(exchange), short


@dataclass(frozen=True)
class Resolved:
    """A request with the spec's defaults filled in: what a correct server must act on."""

    model: str
    n: int
    size: str
    quality: str
    response_format: str
    prompt: str

    @property
    def cost_usd(self) -> float:
        """The price table's entry (spec/models.py keys it by quality, by size, or "*") times n, worked out here and
        not by `ModelSpec.cost_usd`: that is the simulator's own pricing, whose defects it would share."""
        prices = MODELS[self.model].price_usd
        for key in (self.quality, self.size, "*"):
            if key in prices:
                return float(prices[key] * self.n)
        raise KeyError(f"the price table has no price for {self.model} {self.size} {self.quality}")


def resolve(body: dict[str, Any]) -> Resolved:
    def pick(name: str, default: Any) -> Any:
        value = body.get(name)
        return default if value is None else value

    return Resolved(
        model=pick("model", DEFAULT_MODEL),
        n=int(pick("n", DEFAULT_N)),
        size=pick("size", DEFAULT_SIZE),
        quality=pick("quality", DEFAULT_QUALITY),
        response_format=pick("response_format", DEFAULT_RESPONSE_FORMAT),
        prompt=body["prompt"],
    )


def check_json_content_type(exchange: Exchange) -> None:
    content_type = exchange.header("content-type") or ""
    expect(
        content_type.split(";")[0].strip() == "application/json" and exchange.json() is not None,
        "Every API response (success or error) is a JSON body with Content-Type application/json",
        f"Content-Type is {content_type!r}" + ("" if exchange.json() is not None else " and the body is not JSON"),
        exchange,
    )


class _AnyParam:
    """error.param is not checked."""


ANY_PARAM = _AnyParam()


DOCUMENT_MESSAGE = {errors.CONTENT_POLICY_VIOLATION: errors.CONTENT_POLICY_MESSAGE, errors.RATE_LIMIT_EXCEEDED: errors.RATE_LIMIT_MESSAGE}
"""The error messages the document shows, by error type."""


def check_document_message(error: dict[str, Any], error_type: str, rule: str, exchange: Exchange) -> None:
    """The error's message is the document's example text word for word: a decision, since the document only shows it.

    Judged only on an error of `error_type`: on a 200 or another error there is no such message to judge, and the
    wrong answer is already a finding of `check_error` ("message is None" on a 200 only repeated it)."""
    if error.get("type") != error_type:
        return
    said = f"message is {shown(error['message'])}" if "message" in error else "the error has no message"
    expect(error.get("message") == DOCUMENT_MESSAGE[error_type], rule, said, exchange, source=decisions.DOCUMENT_MESSAGES)


def check_error(
    exchange: Exchange, error_type: str, param: str | _AnyParam | None = ANY_PARAM, rule: str = "", source: Source | None = None
) -> dict[str, Any]:
    """The response is the `{"error": {...}}` envelope of `error_type` with its status (spec/errors.py); `source`
    names the decision that makes this request an error, when the rule's own source does not."""
    status = errors.STATUS[error_type]
    rule = rule or f"This request is refused with HTTP {status} and error type {error_type!r}"
    body = exchange.json()
    error: dict[str, Any] = body["error"] if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
    got, got_short = _got(exchange)
    # The status is the rule's; a type the document does not name is the simulator's decision: a target answering
    # the right status with its own type differs from a decision, and only that is said. So does one refusing with
    # another client-error status where the document names neither type nor status (a 403 for a bad key, where
    # the simulator answers 401): the document asks for a refusal there, not for a status.
    status_right = exchange.status == status
    undocumented = error_type not in DOCUMENT_ERROR_TYPES
    # An error answer without the envelope (a 500 in plain text) is one finding saying what the body is: its content
    # type and schema findings only said it again, three causes for one answer, one of them "the body is null". It is
    # the document's whatever the type: the envelope is, and it stood on the document's schema finding before.
    bare = exchange.status >= 400 and not (isinstance(body, dict) and isinstance(body.get("error"), dict))
    type_right = expect(
        status_right and error.get("type") == error_type,
        rule,
        f"expected {status} {error_type}, got {got}" + (f"; {_not_an_envelope(exchange)}" if bare else ""),
        exchange,
        cause=f"expected {status} {error_type}, got {got_short}",
        source=decisions.ERROR_TYPES if undocumented and not bare and (status_right or 400 <= exchange.status < 500) else source,
    )
    if exchange.status < 400 or bare:
        return error
    check_json_content_type(exchange)
    # A wrong error.type is reported above; the schema would only say it again. A 429's retry_after is judged apart,
    # below: the schema's "must be an integer" said a second time, as the document's, what is a decision.
    judges_retry_after = type_right and error_type == errors.RATE_LIMIT_EXCEEDED
    problems = [
        p
        for p in schema_errors(body, "error")
        if (type_right or not p.startswith("error.type ")) and not (judges_retry_after and "retry_after" in p)
    ]
    expect(not problems, "Every error body matches the spec's Error JSON Schema (spec/schemas.py)", "; ".join(problems), exchange)
    if judges_retry_after:
        _check_retry_after_value(error, exchange)
    # A param checked on an answer of the wrong type would only repeat that finding under another cause.
    if type_right and not isinstance(param, _AnyParam) and error:
        expect(
            error.get("param") == param,
            f"An {error_type} error names the offending parameter in error.param",
            f"expected param {param!r}, got {error.get('param')!r}",
            exchange,
        )
    return error


def _not_an_envelope(exchange: Exchange) -> str:
    """What an error answer's body is instead of the `{"error": {...}}` envelope."""
    content_type = exchange.header("content-type")
    if not exchange.is_json():
        text = exchange.response_body[:80].decode("utf-8", "replace")
        if not text.strip():
            return f"the body is empty (Content-Type {content_type!r})"
        return f"the body is not JSON (Content-Type {content_type!r}): {text!r}"
    return f"the body is {shown(exchange.json())}, with no error object"


def shown_number(value: float) -> str:
    """A number of seconds as JSON writes it: 60, not 60.0; 59.9 as it is."""
    return format(value, ".15g")


RETRY_AFTER_RULE = "A 429 carries error.retry_after, the seconds to wait (the document's example: 60)"


def retry_after_seconds(value: Any) -> float | None:
    """retry_after as a number of seconds to wait (more than 0), or None when it is none."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def _check_retry_after_value(error: dict[str, Any], exchange: Exchange) -> None:
    """A 429's retry_after: a number of seconds to wait, the document's (its 429 shows one); a whole number, the
    simulator's decision (spec/tiers.py). The document shows only `"retry_after": 60`: a target answering 59.9 differs
    from the decision, one difference, where the schema and this rule each failed it as the document's."""
    value = error.get("retry_after")
    seconds = retry_after_seconds(value)
    if seconds is None:
        said = f"retry_after is {shown(value)}" if "retry_after" in error else "the error has no retry_after"
        expect(False, RETRY_AFTER_RULE, said, exchange)
        return
    expect(
        seconds.is_integer(),
        "retry_after is a whole number of seconds",
        f"retry_after is {shown(value)}",
        exchange,
        source=decisions.WHOLE_SECOND_RETRY_AFTER,
    )


def check_retry_after(exchange: Exchange) -> dict[str, Any]:
    """A 429 rate_limit_exceeded carrying error.retry_after (the document's 429); returns the error."""
    return check_error(exchange, errors.RATE_LIMIT_EXCEEDED)


REQUEST_ID_RULE = "Every answer carries an x-request-id header; a success's is its perf.request_id"


def check_request_id(exchange: Exchange) -> None:
    """The x-request-id header (spec/openapi.py), a decision: the document is silent on it. Each way it differs is
    its own cause, so a target that sends none reads as one difference whatever the answer."""
    sent = exchange.header("x-request-id")
    if not expect(bool(sent), REQUEST_ID_RULE, "the answer has no x-request-id header", exchange, source=decisions.REQUEST_ID_HEADER):
        return
    body = exchange.json()
    perf = body.get("perf") if exchange.status == 200 and isinstance(body, dict) else None
    request_id = perf.get("request_id") if isinstance(perf, dict) else None
    expect(
        request_id is None or sent == request_id,
        REQUEST_ID_RULE,
        f"x-request-id {shown_header(sent)}, perf.request_id {shown(request_id)}",
        exchange,
        cause="x-request-id is not the success's perf.request_id",
        source=decisions.REQUEST_ID_HEADER,
    )


RateHeaders = dict[str, int | None]
"""The six rate-limit headers by name: a whole number, or None where the answer has none (never 0: a limit or a
count of 0 is a value a target can send, and judging an absent header as one made up findings)."""
RATE_HEADERS_RULE = "Every answer to a request whose key was accepted carries the six rate-limit headers (x-ratelimit-*) as whole numbers"


def check_rate_headers(exchange: Exchange) -> RateHeaders:
    """All six rate-limit headers (spec/tiers.py), as non-negative integers; returns them by name.

    Absent headers are one finding naming them all: a target that sends none (the document names none) reads as one
    difference, not six, each with its own example."""
    raw = {name: exchange.header(name) for name in tiers.RATE_LIMIT_HEADERS}
    values: RateHeaders = {name: int(value) if value is not None and value.isdigit() else None for name, value in raw.items()}
    absent = [name for name, value in raw.items() if value is None]
    if absent:
        said = (
            f"the answer carries none of the x-ratelimit-* headers ({', '.join(absent)})"
            if len(absent) == len(raw)
            else f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} absent"
        )
        expect(False, RATE_HEADERS_RULE, said, exchange, cause=said, source=decisions.RATE_LIMIT_HEADERS)
    for name, value in raw.items():
        expect(
            value is None or value.isdigit(),
            RATE_HEADERS_RULE,
            f"{name} is {shown_header(value)}",
            exchange,
            cause=f"{name} is not a whole number",
            source=decisions.RATE_LIMIT_HEADERS,
        )
    for limit, remaining in (
        (tiers.HEADER_LIMIT_MINUTE, tiers.HEADER_REMAINING_MINUTE),
        (tiers.HEADER_LIMIT_DAY, tiers.HEADER_REMAINING_DAY),
    ):
        most, left = values[limit], values[remaining]
        expect(
            most is None or left is None or left <= most,
            f"{remaining} never exceeds {limit}",
            f"{remaining}={left} > {limit}={most}",
            exchange,
            source=decisions.RATE_LIMIT_HEADERS,
        )
    return values


def not_sent(exchange: Exchange, *names: str) -> str:
    """Why a rule that needs the rate-limit headers `names` cannot be judged on this answer, or "" when it can: an
    absent header is no value, and the headers are a decision (their absence is said by `check_rate_headers`)."""
    missing = [name for name in names if not (exchange.header(name) or "").isdigit()]
    if not missing:
        return ""
    how = "does not send" if all(exchange.header(name) is None for name in missing) else "does not send as a whole number"
    headers = f"{' and '.join(missing)} header{'s' if len(missing) > 1 else ''}"
    return f"needs the {headers} ({decisions.RATE_LIMIT_HEADERS}), which the target {how}"


def _kind(exchange: Exchange) -> str:
    """What a body that should be a JSON object is instead, in JSON's words."""
    return shown(exchange.json()) if exchange.is_json() else "not JSON"


def check_success(exchange: Exchange, body: dict[str, Any]) -> dict[str, Any]:
    """A 200 whose body matches the response schema and agrees with the request and the spec's prices.

    Every rule is checked on what is there (a schema failure does not hide a wrong size or count)."""
    want = resolve(body)
    got, got_short = _got(exchange)
    require(
        exchange.status == 200,
        "A valid request within the key's limits is answered 200",
        f"got HTTP {got}",
        exchange,
        cause=f"a valid request got {got_short}",
    )
    check_json_content_type(exchange)
    result = exchange.json()
    problems = schema_errors(result, "response") if exchange.is_json() else ["the body is not JSON"]
    # revised_prompt on every image is a decision; the document says only that dall-e-3 rewrites prompts. It is
    # checked apart only for the other models, so a dall-e-3 rule does not hold the decision.
    decided = [p for p in problems if "revised_prompt" in p] if want.model != "dall-e-3" else []
    schema_rule = "Every success body matches the spec's ImageGenerationResponse JSON Schema"
    found = [p for p in problems if p not in decided]
    expect(not found, schema_rule, "; ".join(found), exchange)
    if want.model != "dall-e-3":
        expect(not decided, schema_rule, "; ".join(decided), exchange, source=decisions.REVISED_PROMPT_ALWAYS)
    require(isinstance(result, dict), "A success body is a JSON object", f"it is {_kind(exchange)}", exchange)
    data = result.get("data") if isinstance(result.get("data"), list) else []
    perf = result.get("perf") if isinstance(result.get("perf"), dict) else {}
    expect(len(data) == want.n, "data holds exactly n images", f"n={want.n}, got {len(data)}", exchange)
    for name, expected, rule in (
        ("model_used", want.model, "perf.model_used is the requested model (dall-e-3 when none is given)"),
        ("size", want.size, "perf.size is the requested size (1024x1024 when none is given)"),
        ("quality", want.quality, "perf.quality is the quality used (standard when none is given)"),
    ):
        if name in perf:
            expect(perf[name] == expected, rule, f"expected {expected!r}, got {perf[name]!r}", exchange)
    if "cost_usd" in perf:
        _check_cost(exchange, want, perf["cost_usd"])
    key = "url" if want.response_format == "url" else "b64_json"
    other = "b64_json" if key == "url" else "url"
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            continue
        expect(
            key in item and other not in item,
            f"response_format {want.response_format!r} returns every image as {key} (and not {other})",
            f"data[{index}] has the fields {sorted(item)}",
            exchange,
        )
        if not MODELS[want.model].rewrites_prompt and isinstance(item.get("revised_prompt"), str):
            expect(
                item["revised_prompt"] == want.prompt,
                "revised_prompt is the prompt as used, for models that do not rewrite prompts",
                f"sent {trimmed(want.prompt)}, got {trimmed(item['revised_prompt'])}",
                exchange,
            )
    return dict(result)


def _check_cost(exchange: Exchange, want: Resolved, cost: Any) -> None:
    """cost_usd is the price times n. For dall-e-2 the document gives only a range per image: within it is the
    document's rule, the exact price per size the simulator's decision.

    Decision: the price is the document's whatever decision let the request through. The document prices a model
    per image, whatever its size or quality (dall-e-3's HD apart), so a custom size charged 1.5 times, or a price
    found by a request that sent `"style": null`, was filed under the size's or the null's decision and not counted."""
    priced: Source = DOCUMENT
    if want.model == "dall-e-2":
        low, high = (bound * want.n for bound in document.DALLE2_PRICE_RANGE)
        if not expect(
            isinstance(cost, (int, float)) and low - 1e-9 <= cost <= high + 1e-9,
            "perf.cost_usd of dall-e-2 is within the document's ${:.3f}-{:.3f} per image, times n".format(*document.DALLE2_PRICE_RANGE),
            f"x{want.n} must cost {low:.3f}..{high:.3f}, got {cost!r}",
            exchange,
            source=DOCUMENT,
        ):
            return
        priced = decisions.DALLE2_PRICE_PER_SIZE
    expect(
        isinstance(cost, (int, float)) and math.isclose(cost, want.cost_usd, rel_tol=0, abs_tol=1e-9),
        "perf.cost_usd equals the spec's price per image (spec/models.py) times n",
        f"{want.model} {want.size} {want.quality} x{want.n} costs {want.cost_usd}, got {cost!r}",
        exchange,
        source=priced,
    )


def trimmed(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def check_png(data: bytes, size: str, rule: str, exchange: Exchange) -> None:
    want = parse_size(size)
    got = png_size(data)
    if not expect(got is not None, rule, f"the bytes are not a PNG (they start {data[:16]!r})", exchange, cause=f"{rule}: not a PNG"):
        return
    expect(got == want, rule, f"the PNG is {got[0]}x{got[1]}, requested {size}" if got else "", exchange, cause=f"{rule}: wrong size")
    expect(decodes_as_png(data), rule, "the PNG header is right but the file does not decode", exchange, cause=f"{rule}: does not decode")


def decode_b64(value: str, exchange: Exchange) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        require(False, "b64_json is standard base64", f"the value ({trimmed(str(value), 40)}) does not decode as base64", exchange)
        raise
