"""Checks shared by many tests, each stating the spec rule it holds in words."""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from contract_tests.exchange import Exchange
from contract_tests.png import decodes_as_png, png_size
from contract_tests.violations import expect
from spec import errors, tiers
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


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = response_schema() if name == "response" else error_schema()
    return Draft202012Validator(schema, format_checker=FormatChecker())


def schema_errors(instance: Any, name: str) -> list[str]:
    found = sorted(_validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"at /{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:300]}" for e in found[:5]]


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
        return MODELS[self.model].cost_usd(self.size, self.quality, self.n)


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


def check_error(exchange: Exchange, error_type: str, param: str | _AnyParam | None = ANY_PARAM, rule: str = "") -> dict[str, Any]:
    """The response is the `{"error": {...}}` envelope of `error_type` with its status (spec/errors.py)."""
    status = errors.STATUS[error_type]
    rule = rule or f"This request is refused with HTTP {status} and error type {error_type!r}"
    body = exchange.json()
    got_type = body.get("error", {}).get("type") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
    expect(
        exchange.status == status and got_type == error_type,
        rule,
        f"expected {status} {error_type}, got {exchange.status} with error type {got_type!r}",
        exchange,
    )
    check_json_content_type(exchange)
    problems = schema_errors(body, "error")
    expect(not problems, "Every error body matches the spec's Error JSON Schema (spec/schemas.py)", "; ".join(problems), exchange)
    error: dict[str, Any] = body["error"]
    if not isinstance(param, _AnyParam):
        expect(
            error.get("param") == param,
            f"An {error_type} error names the offending parameter in error.param",
            f"expected param {param!r}, got {error.get('param')!r}",
            exchange,
        )
    return error


def check_rate_headers(exchange: Exchange) -> dict[str, int]:
    """All six rate-limit headers (spec/tiers.py), as non-negative integers; returns them by name."""
    values: dict[str, int] = {}
    for name in tiers.RATE_LIMIT_HEADERS:
        raw = exchange.header(name)
        expect(
            raw is not None and raw.isdigit(),
            f"Every authenticated response carries the rate-limit header {name} as a whole number",
            f"{name} is {raw!r}",
            exchange,
        )
        values[name] = int(raw or 0)
    for limit, remaining in (
        (tiers.HEADER_LIMIT_MINUTE, tiers.HEADER_REMAINING_MINUTE),
        (tiers.HEADER_LIMIT_DAY, tiers.HEADER_REMAINING_DAY),
    ):
        expect(
            values[remaining] <= values[limit],
            f"{remaining} never exceeds {limit}",
            f"{remaining}={values[remaining]} > {limit}={values[limit]}",
            exchange,
        )
    return values


def check_success(exchange: Exchange, body: dict[str, Any]) -> dict[str, Any]:
    """A 200 whose body matches the response schema and agrees with the request and the spec's prices."""
    want = resolve(body)
    expect(exchange.status == 200, "A valid request within the key's limits is answered 200", f"got HTTP {exchange.status}", exchange)
    check_json_content_type(exchange)
    result = exchange.json()
    problems = schema_errors(result, "response")
    expect(not problems, "Every success body matches the spec's ImageGenerationResponse JSON Schema", "; ".join(problems), exchange)
    perf = result["perf"]
    expect(len(result["data"]) == want.n, "data holds exactly n images", f"n={want.n}, got {len(result['data'])}", exchange)
    expect(
        perf["model_used"] == want.model,
        "perf.model_used is the requested model (dall-e-3 when none is given)",
        f"expected {want.model!r}, got {perf['model_used']!r}",
        exchange,
    )
    expect(
        perf["size"] == want.size,
        "perf.size is the requested size (1024x1024 when none is given)",
        f"expected {want.size!r}, got {perf['size']!r}",
        exchange,
    )
    expect(
        perf["quality"] == want.quality,
        "perf.quality is the quality used (standard when none is given)",
        f"expected {want.quality!r}, got {perf['quality']!r}",
        exchange,
    )
    cost = perf["cost_usd"]
    expect(
        isinstance(cost, (int, float)) and math.isclose(cost, want.cost_usd, rel_tol=0, abs_tol=1e-9),
        "perf.cost_usd equals the spec's price per image (spec/models.py) times n",
        f"{want.model} {want.size} {want.quality} x{want.n} costs {want.cost_usd}, got {cost!r}",
        exchange,
    )
    key = "url" if want.response_format == "url" else "b64_json"
    other = "b64_json" if key == "url" else "url"
    for item in result["data"]:
        expect(
            key in item and other not in item,
            f"response_format {want.response_format!r} returns every image as {key} (and not {other})",
            f"image keys: {sorted(item)}",
            exchange,
        )
        if not MODELS[want.model].rewrites_prompt:
            expect(
                item["revised_prompt"] == want.prompt,
                "revised_prompt is the prompt as used, for models that do not rewrite prompts",
                f"sent {trimmed(want.prompt)}, got {trimmed(item['revised_prompt'])}",
                exchange,
            )
    return dict(result)


def trimmed(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def check_png(data: bytes, size: str, rule: str, exchange: Exchange) -> None:
    want = parse_size(size)
    got = png_size(data)
    expect(got is not None, rule, f"the bytes are not a PNG (they start {data[:16]!r})", exchange)
    expect(got == want, rule, f"the PNG is {got[0]}x{got[1]}, requested {size}" if got else "", exchange)
    expect(decodes_as_png(data), rule, "the PNG header is right but the file does not decode", exchange)


def decode_b64(value: str, exchange: Exchange) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        expect(False, "b64_json is standard base64", "the value does not decode as base64", exchange)
        raise
