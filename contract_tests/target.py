"""The implementation under test: where it is, which keys to use, and whether it has the simulator's control API.

Decisions:
- `--key` is any valid key. Its tier is known when it is the document's example key, a `pk_test_<tier>_...` key
  or given by `--key-tier`; otherwise tier-specific checks on it are skipped (limits are still read from headers).
- `--free-key` is a free-tier key for rate-limit tests (the free tier's 5 images a minute are cheap to exhaust).
  On the simulator it defaults to `pk_test_free_contract`.
- `--generous-key` is used where many images are generated (schemathesis, property tests, per-model tables).
  On the simulator it defaults to `pk_test_enterprise_contract`; elsewhere it falls back to `--key`, and the
  client waits out a 429 (tests that are not about rate limits must not fail because of them).
- The control API is "present" when GET /_sim/health answers {"status": "ok"}; clock-moving tests also need the
  simulator's manual clock (GET /_sim/config). Without it the time rules run in real time (contract_tests/realtime.py).
- `--free-key` may be given several times: real-time rules run concurrently, one key each (a key's window is its
  state, so two rules cannot share a key at once). On the simulator three ready-made free keys are used.
- `--blocked-prompt` is a prompt the target refuses with content_policy_violation. What a service refuses is its
  own (the simulator's trigger phrase and word list are decisions, spec/policy.py); on the simulator it defaults to
  a prompt with the trigger phrase, elsewhere the document's refusal envelope is not judged without it.
- `--tier-key TIER=KEY` is a pro or enterprise key whose tier's minute limit is judged (the free tier's is, on
  `--free-key`). Its minute is spent whole, so it is a key of its own, not `--key` or `--generous-key`; on the
  simulator `pk_test_<tier>_contract_limits` are used.
- Namespaces: when the simulator has them (GET /_sim/namespaces answers), the run uses one of its own
  (`--namespace`, else a fresh name), sending `X-Sim-Namespace` on every request, the first probes included (the
  control API is detected before them), and `?namespace=` on control calls, so two runs can share one simulator and
  a run puts nothing in `default`. A name the suite made up is reset when the run ends (one given is kept, to be
  looked at). A `--namespace` given to a simulator whose namespaces do not answer is refused (no verdict): without
  them every reset would be the whole shared simulator's; so is one given to a target without a control API (a
  proxy hiding `/_sim/`), whose requests would carry no namespace. A base URL ending `/_sim/ns/NAME` runs in NAME.
"""

from __future__ import annotations

import os
import secrets
import socket
import ssl
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from perf_image_sim_plugins.contract_options import DEFAULT_TIMEOUT_SECONDS, base_url_problem, normalised_base_url
from spec import policy, tiers

SIM_FREE_KEYS = tuple(f"{tiers.TEST_KEY_PREFIX}free_contract{suffix}" for suffix in ("", "_b", "_c"))
SIM_GENEROUS_KEY = f"{tiers.TEST_KEY_PREFIX}enterprise_contract"
SIM_TIER_KEYS = tuple((tier, f"{tiers.TEST_KEY_PREFIX}{tier}_contract_limits") for tier in tiers.PAID_TIERS)
SIM_BLOCKED_PROMPT = f"A quiet reading room with tall windows {policy.TRIGGER_PHRASE}"
NAMESPACE_HEADER = "X-Sim-Namespace"


def tier_key_pair(value: str) -> tuple[str, str] | None:
    """(tier, key) from a `--tier-key` value, TIER=KEY; None when TIER is not a paid tier or KEY is empty (the CLI and
    the pytest option each refuse it in their own words)."""
    tier, _, key = value.partition("=")
    return (tier, key) if tier in tiers.PAID_TIERS and key else None


@dataclass(frozen=True)
class Control:
    """The simulator's /_sim/ control API: not part of the Perf API, used only to move time and reset state."""

    base_url: str
    manual_clock: bool
    namespaces: bool = False
    namespace: str | None = None
    made_up: bool = False
    """Whether the suite made `namespace` up (no `--namespace`): then the run resets it when it ends, so finished runs
    leave nothing in a shared simulator (its journal, windows and counters otherwise live on)."""
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10), compare=False, repr=False)

    def _params(self) -> dict[str, str]:
        return {"namespace": self.namespace} if self.namespace else {}

    def reset(self) -> float:
        return float(self._post("/_sim/reset", None)["now"])

    def now(self) -> float:
        return float(_answer(self.http.get(self.base_url + "/_sim/clock", params=self._params()))["now"])

    def advance(self, seconds: float) -> float:
        return float(self._post("/_sim/clock/advance", {"seconds": seconds})["now"])

    def _post(self, path: str, body: object) -> dict[str, Any]:
        return _answer(self.http.post(self.base_url + path, json=body, params=self._params()))


def _answer(response: httpx.Response) -> dict[str, Any]:
    """A control call's JSON answer; a refusal raises with the simulator's own `error.message`, which says what was
    wrong (a namespace it does not take, a clock it cannot move), not only httpx's status line."""
    if response.is_success:
        result: dict[str, Any] = response.json()
        return result
    try:
        error = response.json().get("error")
        said = error.get("message") if isinstance(error, dict) else None
    except (ValueError, AttributeError):
        said = None
    reason = said if isinstance(said, str) and said else response.text[:200] or response.reason_phrase
    raise httpx.HTTPStatusError(
        f"{response.request.method} {response.request.url} answered {response.status_code}: {reason}",
        request=response.request,
        response=response,
    )


NO_VERDICT_EXIT = 2
"""The exit status when the target cannot be judged (nothing answers, or it stopped answering), as for a usage
error: neither "all rules hold" (0) nor "a rule is broken" (1)."""


def trusted_certificates() -> str | None:
    """The CA bundle (SSL_CERT_FILE) or directory (SSL_CERT_DIR) the suite trusts besides certifi's, as httpx reads
    them for the suite's own requests: given to every other client the suite runs (schemathesis's, on requests, reads
    neither), so a target whose certificate a private CA signed is trusted by all of the suite or by none of it."""
    return os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR") or None


class TargetUnreachable(Exception):
    """The target cannot be judged at all: nothing answers at its URL (said once, not as a broken rule per case)."""


def check_scheme(base_url: str) -> None:
    """TargetUnreachable when `base_url` is no URL the suite can send to (the options refuse it first, as a usage
    error; this is for callers that resolve a target themselves)."""
    problem = base_url_problem(base_url)
    if problem is not None:
        raise TargetUnreachable(f"--base-url: {problem}")


def probe(base_url: str, timeout: float, headers: dict[str, str] | None = None, waited: float = 0.0) -> None:
    """One request without a key, which any implementation answers (a 401), or TargetUnreachable saying why not: a
    target that answers nothing would otherwise hold every case for the whole timeout. `headers`: the run's
    namespace header, on a simulator with namespaces. `waited`: seconds of `timeout` the target already spent silent
    (on the control API's detection), so the run ends within one `timeout` in all."""
    check_scheme(base_url)
    if waited >= timeout:
        raise TargetUnreachable(f"{base_url} did not answer a request within {timeout:g} s")
    try:
        answer = httpx.post(base_url + "/v1/images/generations", json={"prompt": "probe"}, headers=headers, timeout=timeout - waited)
    except httpx.TimeoutException:
        raise TargetUnreachable(f"{base_url} did not answer a request within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        hint = _trust_hint(exc) or _scheme_hint(base_url, exc, timeout - waited)
        raise TargetUnreachable(f"cannot reach {base_url}: {exc or exc.__class__.__name__}{hint}") from None
    if not _is_generation_endpoint(answer):
        raise TargetUnreachable(_not_the_endpoint(base_url, answer))


def _is_generation_endpoint(answer: httpx.Response) -> bool:
    """Whether the probe reached a generation endpoint at all: a 404 or 405 says nothing is there for POST, and a
    success that is not JSON (a web server's page) is no API. Any other answer, right or wrong, is the target's to be
    judged (a 401 in plain text is a defect the rules report, not a wrong URL)."""
    if answer.status_code in (404, 405):
        return False
    if answer.is_success:
        try:
            answer.json()
        except ValueError:
            return False
    return True


def _not_the_endpoint(base_url: str, answer: httpx.Response) -> str:
    """One line: what answered, and what to check (a base URL ending in /v1 is the OpenAI SDKs' habit)."""
    content_type = answer.headers.get("content-type") or "no Content-Type"
    hint = "give the base URL without /v1" if base_url.rstrip("/").endswith("/v1") else "check that --base-url is the API's base URL"
    return (
        f"POST {base_url}/v1/images/generations answered {answer.status_code} ({content_type}), not the Perf API's "
        f"generation endpoint: {hint}"
    )


def _trust_hint(exc: BaseException) -> str:
    """What the suite trusts, when the target's certificate is what it refused: a team's gateway often has a
    certificate its own CA signed, which the verdict would otherwise leave them to guess at."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return ""
    extra = trusted_certificates()
    trusted = f"certifi's CAs and {extra}" if extra else "certifi's CAs"
    return f" (the suite trusts {trusted}; for a certificate your own CA signed, give its PEM file in SSL_CERT_FILE)"


_STATED_MINUTE_LIMITS: dict[tuple[str, str], int] = {}
"""The images a minute the target's answer to a key's probe stated (its x-ratelimit-limit-images), by (base URL,
key): the run's header warns of a --free-key stating a paid tier's limit (`key_names.free_key_warnings`)."""


def stated_minute_limit(base_url: str, key: str) -> int | None:
    """The minute limit the target stated for `key` when it was probed, or None (not probed, or no such header)."""
    return _STATED_MINUTE_LIMITS.get((base_url, key))


def _scheme_hint(base_url: str, exc: httpx.HTTPError, timeout: float) -> str:
    """A plain-HTTP base URL whose port reset or garbled the probe, and which completes a TLS handshake: a server
    speaking TLS. Said as "cannot reach ...: Connection reset by peer" alone, it read as a server that is down."""
    if not base_url.startswith("http://") or isinstance(exc, httpx.ConnectError) or not _speaks_tls(base_url, timeout):
        return ""
    return f" (the port speaks TLS: is it https? give --base-url https://{base_url.removeprefix('http://')})"


def _speaks_tls(base_url: str, timeout: float) -> bool:
    """Whether `base_url`'s host and port complete a TLS handshake (whatever the certificate: this only tells the
    scheme)."""
    parts = urlsplit(base_url)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        wait = min(max(timeout, 1.0), DETECT_TIMEOUT_SECONDS)
        with (
            socket.create_connection((parts.hostname or "", parts.port or 80), timeout=wait) as raw,
            context.wrap_socket(raw, server_hostname=parts.hostname),
        ):
            return True
    except (OSError, ValueError):
        return False


def check_key(base_url: str, key: str, timeout: float, option: str = "--key", headers: dict[str, str] | None = None) -> None:
    """TargetUnreachable when the target refuses a key the run was given (`option` says which, never the key): every
    rule using it would fail for the key, not the target. The request asks for no image (n=0 is refused, consuming
    nothing), so it costs nothing. The minute limit its answer states is kept (`stated_minute_limit`)."""
    try:
        authorization = {**(headers or {}), "Authorization": f"Bearer {key}"}
        answer = httpx.post(base_url + "/v1/images/generations", json={"prompt": "probe", "n": 0}, headers=authorization, timeout=timeout)
    except httpx.HTTPError:
        return  # it answered the probe: a target that stops answering is told by the run itself
    if answer.status_code in (401, 403):
        raise TargetUnreachable(f"{option} is refused ({answer.status_code})")
    stated = answer.headers.get(tiers.HEADER_LIMIT_MINUTE) or ""
    if stated.isascii() and stated.isdigit():
        _STATED_MINUTE_LIMITS[(base_url, key)] = int(stated)


def other_keys(free_keys: Sequence[str], generous_key: str | None, tier_keys: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """(option, key) for each key given besides `--key`, the option naming which one it is (the key never shown).

    Decision: each is probed before the run as `--key` is. A `--free-key` the target refused was judged as the
    target's fault: "5 images remained; 0 were admitted" where every answer had been a 401."""
    named = [(f"--free-key #{number}" if len(free_keys) > 1 else "--free-key", key) for number, key in enumerate(free_keys, 1)]
    named += [("--generous-key", generous_key)] if generous_key else []
    named += [(f"--tier-key {tier}=...", key) for tier, key in tier_keys]
    return tuple(named)


_REACHED: set[tuple[str, str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]] = set()
"""The (base URL, key, other keys, headers) this process has found judgeable: `perf-contract` checks before pytest
starts, and the plugin again when it resolves the target (for `pytest --pyargs contract_tests`, which has no such
first check)."""


def check_reachable(
    base_url: str,
    key: str,
    timeout: float,
    others: tuple[tuple[str, str], ...] = (),
    headers: dict[str, str] | None = None,
    waited: float = 0.0,
) -> None:
    """TargetUnreachable when no verdict can be had: nothing answers at `base_url`, or it refuses `key`. `headers` go
    on every probe (the run's namespace header, so its probes are not in the simulator's `default`).

    Decision: a pair found judgeable is not asked again in the same process; a team's gateway or the real service
    then sees the two probe requests once per run, not twice."""
    reached = (base_url, key, others, tuple(sorted((headers or {}).items())))
    if reached in _REACHED:
        return
    probe(base_url, timeout, headers, waited)
    check_key(base_url, key, timeout, headers=headers)
    for option, other in dict.fromkeys(others):
        if other != key:
            check_key(base_url, other, timeout, option, headers)
    _REACHED.add(reached)


def namespace_in_base_url(base_url: str) -> str | None:
    """The namespace a base URL's path names by perf-sim's namespace base path (`http://host/_sim/ns/jobA` -> jobA),
    or None."""
    path = urlsplit(base_url).path.rstrip("/")
    _, found, name = path.rpartition(NAMESPACE_BASE_PATH)
    return name if found and name and "/" not in name else None


NAMESPACE_BASE_PATH = "/_sim/ns/"

DETECT_TIMEOUT_SECONDS = 5.0
"""The longest wait for each control API call while detecting it (the run's --timeout when that is shorter)."""


def detect_control(base_url: str, namespace: str | None = None, timeout: float = DETECT_TIMEOUT_SECONDS) -> Control | None:
    """The simulator's control API at `base_url`, in the run's namespace (`namespace`, else one made up) when the
    simulator has namespaces; None when there is no control API.

    Decision: a `namespace` given to a simulator whose `GET /_sim/namespaces` does not answer 200 (a 503 while its
    Redis is slow, a proxy in front, a simulator without them) is TargetUnreachable, not dropped: the run would
    otherwise go on without it and reset the whole shared simulator (every other job's windows, journal, rules and
    clocks) before every test, its header saying nothing. So is a `namespace` given to a target without a control API
    at `/_sim/` (a proxy in front hiding it, another implementation): its requests would carry no namespace and, on a
    simulator behind the proxy, land in `default`, the thing the option was for.

    Decision: a base URL ending `/_sim/ns/NAME` (perf-sim's namespace base path) is a run in NAME, as a given
    `--namespace NAME` is (kept at the end, not reset): the suite added a made-up name too, and the simulator refused
    every control call for naming two. A different `--namespace` with it is refused, naming both."""
    named = namespace_in_base_url(base_url)
    if named is not None and namespace is not None and named != namespace:
        raise TargetUnreachable(
            f"--namespace {namespace} was given, but the base URL {base_url} names namespace {named} (its /_sim/ns/{named}): "
            "name one (the base URL without /_sim/ns/..., or no --namespace)"
        )
    namespace = namespace if named is None else named
    given = f"--namespace {namespace} was given" if named is None else f"the base URL names namespace {named}"
    manual = False
    health: httpx.Response | None = None
    try:
        health = httpx.get(base_url + "/_sim/health", timeout=timeout)
        absent = health.status_code != 200 or health.json().get("status") != "ok"
        answered = str(health.status_code)
        if not absent:
            config = httpx.get(base_url + "/_sim/config", timeout=timeout)
            manual = config.status_code == 200 and config.json().get("clock") == "manual"
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        if isinstance(exc, httpx.TimeoutException) and health is None and namespace is None:
            raise Unanswered(timeout) from None  # nothing answered at all: reach() gives the probe what is left
        absent, answered = True, f"nothing usable ({exc.__class__.__name__})"
    if absent:
        if namespace is not None:
            raise TargetUnreachable(
                f"{given}, but GET {base_url}/_sim/health answered {answered}, not the simulator's "
                "control API (another implementation, or a proxy hiding /_sim/): the run's requests would carry no "
                "namespace (run without --namespace, or against the simulator's own URL)"
            )
        return None
    try:
        answered = str(httpx.get(base_url + "/_sim/namespaces", timeout=timeout).status_code)
    except httpx.HTTPError as exc:
        answered = f"nothing ({exc.__class__.__name__})"
    if answered != "200":
        if namespace is not None:
            raise TargetUnreachable(
                f"{given}, but GET {base_url}/_sim/namespaces answered {answered}, not 200: "
                "without the simulator's namespaces every reset of the run would be the whole simulator's (run without "
                "--namespace to do that knowingly)"
            )
        return Control(base_url, manual)
    if namespace is not None:
        return Control(base_url, manual, True, namespace)
    return Control(base_url, manual, True, f"contract-{secrets.token_hex(4)}", made_up=True)


class Unanswered(Exception):
    """The control API's detection got no answer at all within `waited` seconds (`GET /_sim/health`): the target may
    answer nothing, and the run's first probe is given only what is left of its timeout."""

    def __init__(self, waited: float) -> None:
        super().__init__(f"no answer within {waited:g} s")
        self.waited = waited


_DETECTED: dict[tuple[str, str | None], Control | None] = {}
"""The control API this process found at (base URL, --namespace): `perf-contract` probes before pytest starts and the
plugin resolves the target after, and both must send the same namespace, a made-up one included."""


def reach(
    base_url: str, key: str, timeout: float, others: tuple[tuple[str, str], ...] = (), namespace: str | None = None
) -> Control | None:
    """The target's control API (None: it has none), once the target is found judgeable (else TargetUnreachable).

    Decision: the control API is detected before the probes, so on a simulator with namespaces they carry the run's
    namespace header: sent in `default`, each run put a 401 and a 400 there, moving `default`'s count of errors, from
    which its `req_err_...` ids are made, for a job working in `default` on the same simulator.

    Decision: a run refused here (a key the target refuses, one it stops answering) resets the namespace it made up
    before saying so: its probes had put their 401s there, and the run's end, which resets it, never comes (pytest
    has not started, or stops before the target is resolved); each such CI run left a `contract-<hex>` behind."""
    check_scheme(base_url)
    waited = 0.0
    if (base_url, namespace) not in _DETECTED:
        try:
            _DETECTED[(base_url, namespace)] = detect_control(base_url, namespace, min(timeout, DETECT_TIMEOUT_SECONDS))
        except Unanswered as silent:
            _DETECTED[(base_url, namespace)], waited = None, silent.waited
    control = _DETECTED[(base_url, namespace)]
    headers = {NAMESPACE_HEADER: control.namespace} if control is not None and control.namespace else None
    try:
        check_reachable(base_url, key, timeout, others, headers, waited)
    except TargetUnreachable:
        reset_if_made_up(control)
        raise
    return control


def reset_if_made_up(control: Control | None) -> None:
    """Reset the run's namespace when the suite made it up (no `--namespace`); one the user named is kept, to be
    looked at. Resetting a namespace twice, or one already gone, is harmless: the simulator drops it either way.

    Decision: a reset the simulator does not answer is left undone without a word: the run has said its verdict (or
    why it has none), and the target going away at the end is not one of the rules."""
    if control is None or not control.made_up:
        return
    with suppress(httpx.HTTPError, ValueError):
        control.reset()


@dataclass(frozen=True)
class Target:
    base_url: str
    key: str
    key_tier: str | None
    free_keys: tuple[str, ...]
    generous_key: str
    level: str
    control: Control | None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    blocked_prompt: str | None = None
    tier_keys: tuple[tuple[str, str], ...] = ()
    """(tier, key) for the pro and enterprise tiers' limits."""

    @property
    def free_key(self) -> str | None:
        return self.free_keys[0] if self.free_keys else None

    @property
    def namespace(self) -> str | None:
        return self.control.namespace if self.control else None

    @property
    def clock_moves(self) -> bool:
        """Whether time rules can move the clock (the simulator's manual clock); else they run in real time."""
        return self.control is not None and self.control.manual_clock

    def tier_key(self, tier: str) -> str | None:
        return next((key for named, key in self.tier_keys if named == tier), None)

    def namespace_headers(self) -> dict[str, str]:
        return {NAMESPACE_HEADER: self.namespace} if self.namespace else {}

    @classmethod
    def resolve(
        cls,
        base_url: str,
        key: str,
        key_tier: str | None = None,
        free_keys: tuple[str, ...] = (),
        generous_key: str | None = None,
        level: str = "full",
        namespace: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        blocked_prompt: str | None = None,
        tier_keys: tuple[tuple[str, str], ...] = (),
    ) -> Target:
        check_scheme(base_url)  # as given: stripped of its slash, `http://` was said as 'http:'
        base_url = normalised_base_url(base_url).rstrip("/")  # the options' `base_url` did, for callers that skip them
        control = reach(base_url, key, timeout, other_keys(free_keys, generous_key, tier_keys), namespace)
        on_sim = control is not None
        return cls(
            base_url=base_url,
            key=key,
            key_tier=key_tier or tiers.tier_named_by(key),
            free_keys=free_keys or (SIM_FREE_KEYS if on_sim else ()),
            generous_key=generous_key or (SIM_GENEROUS_KEY if on_sim else key),
            level=level,
            control=control,
            timeout=timeout,
            blocked_prompt=blocked_prompt or (SIM_BLOCKED_PROMPT if on_sim else None),
            tier_keys=tier_keys or (SIM_TIER_KEYS if on_sim else ()),
        )

    def __repr__(self) -> str:
        """Short, and without keys: Hypothesis prints its arguments (this included) in failure reports."""
        return f"Target({self.base_url!r}, level={self.level!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def describe(self) -> str:
        control = "absent (time rules run in real time)"
        if self.control:
            control = "present, manual clock" if self.control.manual_clock else "present, real clock (time rules run in real time)"
            if self.namespace:
                control += f", namespace {self.namespace}" + (" (the run's own: reset at its end)" if self.control.made_up else "")
            else:
                control += ", no namespaces (every reset is the whole simulator's)"
        free = f"{len(self.free_keys)} set" if self.free_keys else "absent (free-tier tests skipped)"
        described = (
            f"perf-contract: target {self.base_url}  level {self.level}  key tier {self.key_tier or 'unknown'}  "
            f"free keys {free}  control API {control}"
        )
        return "\n".join([described, *filter(None, (tiers.given_tier_note(tier, key) for tier, key in self.tier_keys))])
