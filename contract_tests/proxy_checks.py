"""What the validation proxy holds each exchange to: the rules of spec/, judged from the request alone.

For a generation request it works out what a correct server must answer (401 for a missing or malformed key,
413 over the body cap, 400 invalid_request naming the field the request schema rejects, 400
content_policy_violation, else 200 or 429) and checks the answer with the suite's own checks: the schema, the
envelope, the perf block against the request (cost = price x n), the images (decodable PNGs of the requested
size, fetched when given as URLs), the rate-limit headers, and per key the admissions seen against the limit
(a key's ledger: the images the proxy saw admitted in the last 60 s must all be counted).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from jsonschema import Draft202012Validator

from contract_tests import decisions
from contract_tests.checks import (
    ANY_PARAM,
    _AnyParam,
    check_error,
    check_png,
    check_rate_headers,
    check_request_id,
    check_success,
    decode_b64,
    resolve,
)
from contract_tests.client import GENERATIONS_PATH
from contract_tests.exchange import Exchange
from contract_tests.explain import shown, shown_header
from contract_tests.ledger import KeyLedger
from contract_tests.png import decodes_as_png
from contract_tests.sources import DOCUMENT, Source, judged_as
from contract_tests.violations import ContractViolation, Finding, collecting, expect
from spec import errors, policy, tiers
from spec.models import DEFAULT_MODEL, DEFAULT_SIZE, MODELS
from spec.providers import bfl
from spec.schemas import request_schema

REQUEST_VALIDATOR = Draft202012Validator(request_schema())
IMAGE_RULE = "An image URL serves a PNG of the requested size"
IMAGE_FETCH_TIMEOUT = 30.0
MINUTE_LIMIT_NOT_JUDGED = (
    f"not judged: the per-minute limit (admissions in any 60 s, the remaining header counting them), for answers without "
    f"a whole-number {tiers.HEADER_LIMIT_MINUTE} header: the proxy knows a key's limit only from that header"
)
OUTSIDE_THE_API_NOT_JUDGED = (
    "not judged: requests outside the Perf API's paths (/v1/..., /images/...) under the target's base URL, such as a "
    "native face's of perf-sim (/openai/v1/images/generations, /stability/..., BFL's /v1/flux-...): spec/ holds the "
    "Perf API's rules, not theirs"
)
IMAGE_PATH_PREFIX = "/images/"
"""Where the Perf API serves an image its url answer names (spec/openapi.py: /images/{image_file})."""


def _bearer(headers: dict[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme == "Bearer" else None


def _rejected_field(body: Any) -> str | _AnyParam | None:
    """The one field the request schema rejects; ANY_PARAM when several are, None when the body is valid."""
    fields = _rejected_fields(body)
    if not fields:
        return ANY_PARAM if not REQUEST_VALIDATOR.is_valid(body) else None
    return fields.pop() if len(fields) == 1 else ANY_PARAM


def _rejected_fields(body: Any) -> set[str]:
    """Every field the request schema rejects by name."""
    fields: set[str] = set()
    for error in REQUEST_VALIDATOR.iter_errors(body):
        if error.validator == "required":
            fields |= {f for f in error.validator_value if f not in body}
        elif error.validator == "additionalProperties":
            fields |= {f for f in body if f not in request_schema()["properties"]}
        elif error.absolute_path:
            fields.add(str(error.absolute_path[0]))
        else:
            # an allOf/if-then rule names its field one level down
            fields |= {str(sub.absolute_path[0]) for sub in error.context or [] if sub.absolute_path}
    return fields


def _refused_by(body: dict[str, Any]) -> Source:
    """Where the refusal of an invalid body comes from: the document when any field it rejects is the document's to
    reject, else the decision that rejects them (a flux size off the simulator's grid, an unknown field, ...), as the
    suite's validation rules judge each case."""
    given = body.get("model")
    model = given if isinstance(given, str) and given in MODELS else DEFAULT_MODEL
    sources: list[Source] = []
    for field in _rejected_fields(body) or {""}:
        if field and field not in request_schema()["properties"]:
            sources.append(decisions.UNKNOWN_FIELDS_REFUSED)
        elif field == "prompt" and isinstance(body.get("prompt"), str) and body["prompt"] and not body["prompt"].strip():
            sources.append(decisions.BLANK_PROMPT)
        elif field:
            sources.append(decisions.of_invalid_value(model, field, body.get(field)) or DOCUMENT)
        else:
            sources.append(decisions.REQUEST_SCHEMA)
    return DOCUMENT if DOCUMENT in sources else sources[0]


def _accepted_by(body: dict[str, Any]) -> Source | None:
    """The decision a valid body relies on to be accepted, if any: a null meaning its default, OpenAI's user field,
    n as 2.0, a size of the simulator's reading of "custom"."""
    if any(value is None for value in body.values()):
        return decisions.NULL_MEANS_DEFAULT
    if "user" in body:
        return decisions.USER_FIELD
    if isinstance(body.get("n"), float):
        return decisions.INTEGER_N
    return decisions.of_size(body.get("model") or DEFAULT_MODEL, body.get("size") or DEFAULT_SIZE)


def _policy_of(prompt: str) -> Source:
    """The decision by which spec/policy.py blocks `prompt` (the trigger phrase, or the word list)."""
    return decisions.TRIGGER_PHRASE if policy.TRIGGER_PHRASE.lower() in prompt.lower() else decisions.BLOCKED_TERMS


_SAYING = threading.Lock()


def say(line: str) -> None:
    """Print one whole line of the proxy's output. Judge threads print violations and notes at once: two `print`s
    write their text and their newline apart, so a note and a violation ran into one line, and a reader counting
    `VIOLATION` lines (a CI log scanner, the proxy's own tests) missed one."""
    with _SAYING:
        print(line, flush=True)


class ExchangeJudge:
    """Judges exchanges (from any thread); `on_violation` is told each broken rule as it is found."""

    def __init__(self, on_violation: Callable[[Exchange, Finding], None], base_path: str = "") -> None:
        self.on_violation = on_violation
        self.base_path = base_path.rstrip("/")
        """The target's base URL's path: the Perf API's paths are under it (a gateway may serve it under a prefix)."""
        self.ledgers: dict[str, KeyLedger] = {}
        self.lock = threading.Lock()
        self.http = httpx.Client(timeout=IMAGE_FETCH_TIMEOUT)
        self.exchanges = 0
        self.request_ids: set[str] = set()
        self.notes: list[str] = []
        """What the proxy could not judge, each said once (printed when it is first met, and in the report)."""

    def api_path(self, exchange: Exchange) -> str | None:
        """The exchange's path within the Perf API (`/v1/images/generations`), None when it is not the Perf API's.

        Whole paths under the target's base path, never a suffix: perf-sim's OpenAI face answers
        /openai/v1/images/generations, which ends like the Perf API's path, in OpenAI's format, and the Perf API's
        rules made that out to be violations; its BFL face answers at the root too (spec.providers.bfl), in BFL's."""
        path = urlsplit(exchange.url).path
        if not path.startswith(self.base_path + "/"):
            return None
        path = path[len(self.base_path) :]
        if not path.startswith(("/v1/", IMAGE_PATH_PREFIX)) or path in bfl.BFL_ROOT_PATHS or path.startswith(bfl.BFL_ROOT_PREFIXES):
            return None
        return path

    def record(self, exchange: Exchange) -> None:
        """Enter an admission in its key's ledger, in arrival order (called on the request path, before judging)."""
        key = _bearer(exchange.request_headers)
        limit = exchange.header(tiers.HEADER_LIMIT_MINUTE) or ""
        if key is None or exchange.status != 200 or not limit.isdigit() or self.api_path(exchange) != GENERATIONS_PATH:
            return
        with self.lock:
            self.ledgers.setdefault(key, KeyLedger(key, int(limit))).observe(exchange)

    def judge(self, exchange: Exchange) -> list[Finding]:
        path = self.api_path(exchange)
        if path is None:
            if exchange.method == "POST":  # a generation elsewhere, which its sender may take for judged
                self._note(OUTSIDE_THE_API_NOT_JUDGED)
            return []
        findings: list[Finding] = []
        with collecting(findings):
            try:
                if path.startswith("/v1/"):
                    check_request_id(exchange)
                if path == GENERATIONS_PATH and exchange.method == "POST":
                    self._generation(exchange)
                elif exchange.method == "GET" and exchange.status == 200 and (exchange.header("content-type") or "").startswith("image/"):
                    size = len(exchange.response_body)
                    expect(
                        decodes_as_png(exchange.response_body),
                        "An image URL serves a decodable PNG",
                        f"{size} bytes that are not a PNG",
                        exchange,
                    )
                elif exchange.status >= 400 and path.startswith("/v1/"):
                    check_error(exchange, {404: errors.NOT_FOUND, 405: errors.METHOD_NOT_ALLOWED}.get(exchange.status, errors.NOT_FOUND))
            except ContractViolation as exc:
                findings.extend(exc.findings)
            except (KeyError, TypeError, ValueError, httpx.HTTPError) as exc:
                findings.append(Finding("The answer can be judged", f"{type(exc).__name__}: {exc}", (exchange,)))
        with self.lock:
            self.exchanges += 1
        for finding in findings:
            self.on_violation(exchange, finding)
        return findings

    def _generation(self, exchange: Exchange) -> None:
        key = _bearer(exchange.request_headers)
        raw = exchange.request_body or b""
        if key is None or exchange.status == 401:
            check_error(exchange, errors.AUTHENTICATION_ERROR)
            return
        if len(raw) > errors.MAX_BODY_BYTES:
            with judged_as(decisions.BODY_SIZE_CAP):
                check_error(exchange, errors.PAYLOAD_TOO_LARGE)
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            check_error(exchange, errors.INVALID_REQUEST)
            self._headers(key, exchange)
            return
        field = _rejected_field(body)
        refused = (exchange.json() or {}).get("error") if isinstance(exchange.json(), dict) else None
        if field is not None:
            with judged_as(_refused_by(body)):
                check_error(exchange, errors.INVALID_REQUEST, param=field)
        elif policy.violates_policy(body["prompt"]):
            with judged_as(_policy_of(body["prompt"])):
                check_error(exchange, errors.CONTENT_POLICY_VIOLATION)
        elif isinstance(refused, dict) and refused.get("type") == errors.CONTENT_POLICY_VIOLATION:
            # What a service refuses is its own: refusing a prompt spec/policy.py allows differs from its word list;
            # the refusal's envelope is still the document's.
            expect(
                False,
                "A prompt spec/policy.py allows is not refused by the content policy",
                f"the prompt {shown(body['prompt'])} was refused with content_policy_violation",
                exchange,
                source=decisions.BLOCKED_TERMS,
            )
            check_error(exchange, errors.CONTENT_POLICY_VIOLATION)
        elif exchange.status == errors.STATUS[errors.RATE_LIMIT_EXCEEDED]:
            error = check_error(exchange, errors.RATE_LIMIT_EXCEEDED)
            expect(
                exchange.header("retry-after") == str(error.get("retry_after")),
                "A 429 carries a Retry-After header equal to error.retry_after",
                f"Retry-After {shown_header(exchange.header('retry-after'))}, retry_after {shown(error.get('retry_after'))}",
                exchange,
                source=decisions.RETRY_AFTER_HEADER,
            )
        elif exchange.status != errors.STATUS[errors.SERVICE_UNAVAILABLE]:
            accepted_by = _accepted_by(body)
            # A body valid only by a decision, refused: a difference from that decision. Answered, it is judged whole
            # by the document (its images, price and count do not rest on the decision).
            with judged_as(accepted_by if accepted_by is not None and exchange.status != 200 else DOCUMENT):
                self._success(exchange, body)
        self._headers(key, exchange)

    def _success(self, exchange: Exchange, body: dict[str, Any]) -> None:
        result = check_success(exchange, body)
        request_id = str((result.get("perf") or {}).get("request_id"))
        with self.lock:
            seen = request_id in self.request_ids
            self.request_ids.add(request_id)
        expect(not seen, "perf.request_id is unique per request", f"{request_id!r} was already given to an earlier answer", exchange)
        size = resolve(body).size
        for index, item in enumerate(result.get("data") or []):
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("b64_json"), str):
                check_png(decode_b64(item["b64_json"], exchange), size, "b64_json decodes to a PNG of the requested size", exchange)
            elif isinstance(item.get("url"), str) and item["url"].startswith(("http://", "https://")):
                image = self.http.get(item["url"])
                fetched = Exchange("GET", item["url"], {}, None, image.status_code, dict(image.headers), image.content)
                rule = IMAGE_RULE
                if expect(image.status_code == 200, rule, f"data[{index}].url gave HTTP {image.status_code}", exchange, fetched):
                    check_png(image.content, size, rule, fetched)

    def _note(self, note: str) -> None:
        """Say `note` once, the first time it holds."""
        with self.lock:
            if note in self.notes:
                return
            self.notes.append(note)
        say(f"perf-contract proxy: {note}")

    def _headers(self, key: str, exchange: Exchange) -> None:
        """The rate-limit headers, the key's tier when its name says it, and the admissions the proxy saw."""
        values = check_rate_headers(exchange)
        limit, day_limit, remaining = (
            values[name] for name in (tiers.HEADER_LIMIT_MINUTE, tiers.HEADER_LIMIT_DAY, tiers.HEADER_REMAINING_MINUTE)
        )
        if limit is None:
            # A missing header is no limit of 0: judged against one, every admission would be a false violation.
            self._note(MINUTE_LIMIT_NOT_JUDGED)
            return
        tier = tiers.tier_named_by(key)
        if tier is not None and day_limit is not None:
            want = tiers.TIERS[tier]
            expect(
                (limit, day_limit) == (want.images_per_minute, want.images_per_day),
                f"The limit headers of a {tier} key are its tier's images per minute and per day",
                f"headers say {(limit, day_limit)}",
                exchange,
                source=decisions.RATE_LIMIT_HEADERS,
            )
        with self.lock:
            ledger = self.ledgers.setdefault(key, KeyLedger(key, limit))
            certain, _ = ledger.counted(exchange)
            if exchange.status == 200:
                # counted() leaves out this admission itself (recorded in arrival order by `record`).
                n = len((exchange.json() or {}).get("data") or [])
                expect(
                    certain + n <= ledger.limit,
                    "No more than the per-minute limit of images is admitted in any 60 seconds",
                    f"the proxy saw {certain} images admitted on this key in the 60 s before this admission of {n}; "
                    f"the limit is {ledger.limit}",
                    exchange,
                    # in any 60 s: a fixed window admits up to twice the limit across its turn, a legitimate reading
                    source=decisions.SLIDING_WINDOW,
                )
                expect(
                    remaining is None or remaining <= max(0, ledger.limit - certain - n),
                    "x-ratelimit-remaining-images counts every image admitted in the last 60 seconds",
                    f"the proxy saw {certain + n} images admitted on this key within 60 s (this one included); "
                    f"the header says {remaining} of {ledger.limit} remain",
                    exchange,
                    source=decisions.RATE_LIMIT_HEADERS,
                )
