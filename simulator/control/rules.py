"""Fault rules: which requests get an action, how many times, with what probability, in which namespace.

Decisions:
- A rule applies only to requests of its own namespace ("default" when created without one), so parallel test
  runs in their own namespaces never see each other's faults.
- Rules are tried in creation order; the first that matches and fires gives the action.
- A request's prompt patterns are searched in its namespace's thread, in one go before its rules are tried, within
  one time for them all (simulator.control.prompt_pattern); only a request with a rule whose other fields hold and
  that names a prompt waits for that thread. A store releases a namespace's thread once no rule of it names a prompt.
  A rule added while they are searched applies from the next request.
- A rule without `method` matches every method but OPTIONS: a browser's CORS preflight would otherwise take the fault
  (which the browser reports as a network error, not the answer) and use up one of its `times`.
- A rule's `method` (and a count's, and a listing's `?method=`) is one of MATCH_METHODS, in any case: see there.
- `probability` is decided from the seed, the rule's namespace, the rule's ordinal in that namespace and the count
  of requests it has matched: the same seed and the same requests, sent one after another, give the same faults, run
  after run (requests sent at once are counted in the order they arrive, which can change from run to run).
- A rule whose `times` are used up stays listed (remaining 0) until removed, so a test can read how often it fired.
- A rule's id is never given again for the life of the run, a full reset included: a test holding a stale id
  must not remove another test's new rule. A run numbers from fault_1 (on Redis too, `start_numbering`), as the
  journal numbers from request_1, so a restart with the same seed gives the same ids. (Ordinals, which seed the
  probability draws, do restart with a reset, so a namespace's draws are the same run after run.)
- Removing a rule by id in a namespace removes it only if it is that namespace's: a client bound to a namespace
  reads and steers only that namespace.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from simulator.context import DEFAULT_NAMESPACE, NAMESPACE_RULE, valid_namespace
from simulator.control.actions import Action, action_from_json, fault_parts
from simulator.control.journal import PATH_CHARS, check_key_id, check_masked_key, check_request_id, key_digest, key_id
from simulator.control.prompt_pattern import PromptPattern, RuleSearchThreads
from simulator.control.since import since_from_json
from simulator.engine.digest import unit_interval
from simulator.engine.errors import cut, invalid, param_name, quoted
from simulator.engine.jsontypes import json_integer
from simulator.namespace_path import is_control_path
from simulator.registry import BY_NAME, FACE_NAMES, faces_under
from spec.model_names import perf_model_name
from spec.models import PERF_FACE
from spec.tiers import mask_key

STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
"""RFC 9110's methods (section 9) and PATCH (RFC 5789)."""
PARSER_METHODS = (
    "ACL", "BIND", "CHECKOUT", "COPY", "LINK", "LOCK", "M-SEARCH", "MERGE", "MKACTIVITY", "MKCALENDAR", "MKCOL", "MOVE",
    "NOTIFY", "PROPFIND", "PROPPATCH", "PURGE", "QUERY", "REBIND", "REPORT", "SEARCH", "SOURCE", "SUBSCRIBE", "UNBIND",
    "UNLINK", "UNLOCK", "UNSUBSCRIBE",
)  # fmt: skip
"""The other methods uvicorn's HTTP parser (httptools, llhttp) passes to the simulator: WebDAV's, Varnish's PURGE,
UPnP's, QUERY."""
MATCH_METHODS = STANDARD_METHODS + PARSER_METHODS
"""Decision: the methods a rule's `match.method` may name (in any case; a count's and a listing's `?method=` too):
every method a request the journal lists can have. The faces serve GET, HEAD and POST, OPTIONS is a browser's CORS
preflight (a rule matches it only by naming it), and every other method reaches the app as well, answered with a 405
that a rule can still fault and the journal lists: RFC 9110's and PATCH, and the others uvicorn's parser passes
(PARSER_METHODS; it refuses any other method with a 400 before the simulator sees it, so no journal entry has one).
A closed list, not any HTTP token (RFC 9110's method syntax): a typo (`POTS`) was taken and never matched, a scenario
that quietly never faulted and a count of 0 that passed a test which tested nothing, and a token refuses only `/`
and `(?`. An earlier list of the seven common methods refused TRACE, CONNECT, PURGE and PROPFIND, which the journal
lists: its own filter could not select them. (Under h11, uvicorn's parser where httptools is not installed, a method
outside this list can reach the journal; it cannot be selected by method.)"""
_MATCH_FIELDS = ("face", "path", "method", "model", "key", "prompt")
_JOURNAL_FIELDS = ("status", "fault", "key_id", "since", "request_id")
_RULE_FIELDS = ("match", "action", "times", "probability", "namespace")
MAX_TIMES = 1_000_000


@dataclass(frozen=True)
class RequestFacts:
    """What a rule can match on, read where the request enters (before the face)."""

    face: str
    path: str
    method: str
    namespace: str
    model: str | None
    key: str | None
    prompt: str | None


@dataclass(frozen=True)
class Match:
    face: str | None = None
    path: str | None = None
    method: str | None = None
    model: str | None = None
    key: str | None = None
    prompt: PromptPattern | None = None
    status: int | None = None
    """Only for counting journal entries, as `fault`, `key_id`, `since` and `request_id` are."""
    fault: frozenset[str] | None = None
    key_id: str | None = None
    since: datetime | None = None
    request_id: str | None = None

    def holds(self, facts: RequestFacts, found: Collection[PromptPattern]) -> bool:
        """Whether every field holds, `found` being the patterns found in the request's prompt: searched beforehand,
        off the event loop, by `prompts_found`."""
        return self.holds_but_prompt(facts) and (self.prompt is None or self.prompt in found)

    def holds_but_prompt(self, facts: RequestFacts) -> bool:
        return (
            (self.face is None or facts.face == self.face)
            and (self.path is None or facts.path.startswith(self.path))
            and (facts.method == self.method or (self.method is None and facts.method != "OPTIONS"))
            and (self.model is None or (facts.model is not None and perf_model_name(facts.model) == perf_model_name(self.model)))
            and (self.key is None or facts.key == self.key or (facts.key is not None and mask_key(facts.key) == self.key))
        )

    def as_json(self) -> dict[str, Any]:
        shown = {name: getattr(self, name) for name in (*_MATCH_FIELDS, "status") if getattr(self, name) is not None}
        return shown if self.prompt is None else {**shown, "prompt": self.prompt.text}


async def prompts_found(matches: Iterable[Match], facts: RequestFacts, searches: RuleSearchThreads) -> set[PromptPattern]:
    """The prompt patterns of `matches` found in the request's prompt. Only the patterns of matches whose other fields
    hold are searched, and a request with none goes on without leaving the event loop."""
    patterns = list(dict.fromkeys(match.prompt for match in matches if match.prompt is not None and match.holds_but_prompt(facts)))
    if facts.prompt is None or not patterns:
        return set()
    return await searches.found_by_rules(facts.namespace, patterns, facts.prompt)


def check_path_prefix(path: str, field: str) -> None:
    """Decision: a path prefix must start with `/`, as every request's path does; `v1/images` would match nothing,
    and a rule or a count that can never match is the silent typo the control API refuses elsewhere."""
    if not path.startswith("/"):
        raise invalid(field, f"{field} is a path prefix and must start with /, as in /openai/ or /v1/images; got {quoted(path)}")
    if len(path) > PATH_CHARS:
        raise invalid(field, f"{field} is longer than the {PATH_CHARS} characters of a path an entry keeps, so it could never match")
    if "?" in path or "#" in path:
        raise invalid(field, f"{field} is a path prefix, matched against the path without its query: leave out ?... and #...")
    if is_control_path(path):
        message = (
            f"{field} is matched against API paths as the journal shows them, without a /_sim/ns/<name> base path, and the "
            f"simulator's own /_sim/ paths are never faulted or journalled; got {quoted(path)}"
        )
        raise invalid(field, message)


def check_face_and_path(face: str, path: str, face_field: str, path_field: str) -> None:
    """Decision: a face and a path prefix that no request can have together are refused (a 400 naming the path), as
    a path without its `/` is: `{"face": "perf", "path": "/openai/"}` selects nothing, a rule that never fires or a
    count of 0 that passes a test which tested nothing. The path is read as the journal shows it, without a
    /_sim/ns/<name> base path (check_path_prefix refuses one), and its face as the control layer decides it
    (`registry.faces_under`)."""
    faces = faces_under(path)
    if face in faces:
        return
    if face == PERF_FACE:
        # Decision: the Perf API takes every path no other face serves (/v2/x and /nope are journalled as its), so
        # its paths are said as that, beside the paths of the face that owns this one; "whose paths start with /v1/"
        # read as if a perf rule could never match a 404 at /v2/... (`faces_under` never leaves the Perf API out of
        # a prefix some other face does not own alone, so here `faces` is that one face).
        owner = BY_NAME[faces[0]]
        message = (
            f"{path_field} {quoted(path)} is a path of the {owner.name} face (whose paths start with {', '.join(owner.path_starts)}), "
            f"not of {face_field} {quoted(face)} (which takes the paths no other face serves), so it could never match"
        )
    else:
        message = (
            f"{path_field} {quoted(path)} is a path of the {' or '.join(faces)} face, not of {face_field} {quoted(face)} "
            f"(whose paths start with {', '.join(BY_NAME[face].path_starts)}), so it could never match"
        )
    raise invalid(path_field, message)


def method_from(value: str, field: str) -> str:
    """`value` as a match names a request's method (upper case), or a 400 naming `field` unless it is one of
    MATCH_METHODS. ASCII only: `str.upper` makes `poſt` (a long s) POST."""
    method = value.upper()
    if not value.isascii() or method not in MATCH_METHODS:
        known = ", ".join(STANDARD_METHODS)
        raise invalid(field, f"{field} must be an HTTP method, in any case ({known}, PURGE, ...), got {quoted(value)}")
    return method


def match_from_json(body: object, field: str = "match", for_journal: bool = False) -> Match:
    """A match from its JSON object (a call that leaves `match` out matches every request; `null` is refused, as
    the control API's document says: an object); `for_journal`: a count's, which also takes what only a journalled
    request has, its status, the fault applied and its answer's x-request-id."""
    names = (*_MATCH_FIELDS, *_JOURNAL_FIELDS) if for_journal else _MATCH_FIELDS
    if not isinstance(body, dict):
        raise invalid(field, f"{field} must be an object with any of {', '.join(names)}")
    unknown = sorted(set(body) - set(names))
    if unknown:
        raise invalid(param_name(f"{field}.{unknown[0]}"), f"{field}.{cut(unknown[0])} is not a match field; fields: {', '.join(names)}")
    for name in _MATCH_FIELDS:
        if name in body and (not isinstance(body[name], str) or not body[name]):
            raise invalid(f"{field}.{name}", f"{field}.{name} must be a non-empty string")
    if "face" in body and body["face"] not in FACE_NAMES:
        raise invalid(f"{field}.face", f"{field}.face must be one of {', '.join(FACE_NAMES)}")
    if "path" in body:
        check_path_prefix(body["path"], f"{field}.path")
        if "face" in body:
            check_face_and_path(body["face"], body["path"], f"{field}.face", f"{field}.path")
    if "key" in body:
        check_masked_key(body["key"], f"{field}.key")
    if "key_id" in body:
        check_key_id(body["key_id"], f"{field}.key_id")
    if "request_id" in body:
        check_request_id(body["request_id"], f"{field}.request_id")
    status = json_integer(body.get("status"))
    if "status" in body and (status is None or not 100 <= status <= 599):
        raise invalid(f"{field}.status", f"{field}.status must be an HTTP status from 100 to 599")
    return Match(
        face=body.get("face"),
        path=body.get("path"),
        method=method_from(body["method"], f"{field}.method") if "method" in body else None,
        model=body.get("model"),
        key=body.get("key"),
        prompt=PromptPattern(body["prompt"], f"{field}.prompt") if "prompt" in body else None,
        status=status,
        fault=fault_parts(body["fault"], f"{field}.fault") if "fault" in body else None,
        key_id=body.get("key_id"),
        since=since_from_json(body["since"], f"{field}.since") if "since" in body else None,
        request_id=body.get("request_id"),
    )


def namespace_from(value: object, field: str = "namespace") -> str:
    if not isinstance(value, str) or not valid_namespace(value):
        raise invalid(field, f"{field} must be {NAMESPACE_RULE}, got {quoted(value)}")
    return value


@dataclass(frozen=True)
class RuleSpec:
    """A rule as asked for, before the store gives it an id."""

    match: Match
    action: Action
    times: int | None
    probability: float
    namespace: str


def rule_spec_from_json(body: object, namespace: str = DEFAULT_NAMESPACE) -> RuleSpec:
    """The rule `body` asks for, in the namespace it names or else in `namespace`."""
    if not isinstance(body, dict):
        raise invalid(None, 'send a JSON object such as {"match": {"face": "openai"}, "action": {"status": 503}, "times": 2}')
    unknown = sorted(set(body) - set(_RULE_FIELDS))
    if unknown:
        raise invalid(param_name(unknown[0]), f"{cut(unknown[0])} is not a rule field; fields: {', '.join(_RULE_FIELDS)}")
    if "action" not in body:
        raise invalid("action", 'action is required, e.g. {"status": 503}')
    # Decision: null for `times` or `probability` means the field left out (until removed; every matching request),
    # as null for an optional field of the Perf API means its default.
    times = json_integer(body.get("times"))
    if body.get("times") is not None and (times is None or not 1 <= times <= MAX_TIMES):
        message = f"times must be a whole number from 1 to {MAX_TIMES} (leave it out for until removed), got {quoted(body['times'])}"
        raise invalid("times", message)
    probability = body.get("probability")
    probability = 1.0 if probability is None else probability
    # Decision: 0 is refused, as a rule that can never fire is (check_face_and_path): `probability = 0` reads as a rule
    # turned off, but it stays listed and matched, a fault a test believes in that never comes; a rule is turned off
    # by removing it (DELETE /_sim/faults/{id}, or a line taken out of a scenario).
    if isinstance(probability, bool) or not isinstance(probability, (int, float)) or not 0 < probability <= 1:
        message = (
            "probability must be a number above 0 and at most 1 (leave it out for every matching request; 0 could never "
            f"fire), got {quoted(body['probability'])}"
        )
        raise invalid("probability", message)
    return RuleSpec(
        match=match_from_json(body["match"]) if "match" in body else Match(),
        action=action_from_json(body["action"]),
        times=times,
        probability=float(probability),
        namespace=namespace_from(body["namespace"]) if "namespace" in body else namespace,
    )


@dataclass(frozen=True)
class Rule:
    id: str
    ordinal: int
    """The rule's place among the rules made in its namespace: what its probability draws are seeded with."""
    spec: RuleSpec
    remaining: int | None
    fired: int
    matched: int

    def as_json(self) -> dict[str, Any]:
        """The rule as the control API shows it (its listing, its creation's answer): a key it matches is masked."""
        return {
            "id": self.id,
            "match": shown_match(self.spec.match),
            "action": self.spec.action.as_json(),
            "times": self.spec.times,
            "remaining": self.remaining,
            "probability": self.spec.probability,
            "namespace": self.spec.namespace,
            "fired": self.fired,
        }


def shown_match(match: Match) -> dict[str, Any]:
    """`match` as a listing shows it: a full key masked with its key_id beside it, as the journal shows a request's key
    (a masked key, which selects every key masked alike, as it was given).

    Decision: the control API is open to any page (CORS), and a gateway's callers send their real provider keys, so a
    rule's key is no more shown whole than the journal's, the request log's or the usage listing's. The rule keeps the
    full key and matches by it; a Redis-held rule is stored whole (redis_rules), only shown masked."""
    shown = match.as_json()
    key = shown.get("key")
    if key is not None and not key.endswith("…"):  # a masked form ends as mask_key ends one
        shown.update(key=mask_key(key), key_id=key_id(key_digest(key)))
    return shown


def draws(seed: int, rule: Rule, matched: int) -> bool:
    """Whether the rule's `matched`-th matching request (from 1) gets the action, by its probability."""
    probability = rule.spec.probability
    return probability >= 1 or unit_interval(seed, "fault", rule.spec.namespace, rule.ordinal, matched) < probability


class RuleStore(ABC):
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.prompt_searches = RuleSearchThreads()

    def keep_prompt_searches_of(self, specs: Iterable[RuleSpec]) -> None:
        """Release the search threads of namespaces that `specs` (every rule now held) give no prompt rule."""
        self.prompt_searches.keep_only(spec.namespace for spec in specs if spec.match.prompt is not None)

    @abstractmethod
    async def add(self, spec: RuleSpec) -> Rule: ...

    async def add_all(self, specs: Sequence[RuleSpec]) -> None:
        """Add `specs` in their order (a scenario's rules, at start and after a reset), as `add` would one by one."""
        for spec in specs:
            await self.add(spec)

    async def reset(self, namespace: str | None, starting: Sequence[RuleSpec]) -> int:
        """Remove the rules of `namespace` (None: all), then put back the `starting` rules (a scenario's) of the
        namespaces removed, in their order (so their probability draws repeat); returns how many were removed."""
        deleted = await self.clear(namespace)
        await self.add_all([spec for spec in starting if namespace in (None, spec.namespace)])
        return deleted

    @abstractmethod
    async def start_numbering(self) -> None:
        """Give the next rule the id fault_1: once, as a run starts, so that a restart with the same seed answers the
        control API as the last run did (resets never do: an id names one rule for the whole run)."""

    @abstractmethod
    async def rules(self, namespace: str | None = None) -> list[Rule]:
        """Rules of `namespace` (None: all), oldest first."""

    @abstractmethod
    async def delete(self, rule_id: str, namespace: str | None = None) -> bool:
        """Remove the rule, if it is one of `namespace` (None: of any); returns whether it did."""

    @abstractmethod
    async def clear(self, namespace: str | None) -> int:
        """Remove the rules of `namespace` (None: all); returns how many."""

    @abstractmethod
    def may_apply(self) -> bool:
        """False when no rule can apply to any request now: the control layer then skips `select` (and reading the
        request) altogether, which is every request of a run without faults."""

    @abstractmethod
    async def select(self, namespace: str, facts: Callable[[], RequestFacts]) -> Action | None:
        """The action for a request of `namespace`, counting the firing (and a match, for probability) on the rule that
        gives it. `facts` reads the request, which only happens when the namespace has rules."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""


class MemoryRuleStore(RuleStore):
    """Rules of one process. With no rules, `select` is one dictionary check."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self._rules: dict[str, Rule] = {}
        self._ids = itertools.count(1)
        self._ordinals: dict[str, int] = {}

    async def add(self, spec: RuleSpec) -> Rule:
        ordinal = self._ordinals[spec.namespace] = self._ordinals.get(spec.namespace, 0) + 1
        rule = Rule(f"fault_{next(self._ids)}", ordinal, spec, spec.times, 0, 0)
        self._rules[rule.id] = rule
        return rule

    async def start_numbering(self) -> None:
        """Nothing to do: a store in process is new with its run."""

    async def rules(self, namespace: str | None = None) -> list[Rule]:
        return [rule for rule in self._rules.values() if namespace is None or rule.spec.namespace == namespace]

    async def delete(self, rule_id: str, namespace: str | None = None) -> bool:
        rule = self._rules.get(rule_id)
        if rule is None or namespace not in (None, rule.spec.namespace):
            return False
        del self._rules[rule_id]
        self.keep_prompt_searches_of(rule.spec for rule in self._rules.values())
        return True

    async def clear(self, namespace: str | None) -> int:
        doomed = [rule.id for rule in await self.rules(namespace)]
        for rule_id in doomed:
            del self._rules[rule_id]
        if namespace is None:
            self._ordinals.clear()
        else:
            self._ordinals.pop(namespace, None)
        self.keep_prompt_searches_of(rule.spec for rule in self._rules.values())
        return len(doomed)

    def may_apply(self) -> bool:
        return bool(self._rules)

    async def select(self, namespace: str, facts: Callable[[], RequestFacts]) -> Action | None:
        if not self._rules:
            return None
        candidates = [rule for rule in self._rules.values() if rule.spec.namespace == namespace and rule.remaining != 0]
        if not candidates:
            return None
        asked = facts()
        found = await prompts_found((rule.spec.match for rule in candidates), asked, self.prompt_searches)
        for candidate in candidates:
            # Read again: while the prompt patterns were searched, other requests may have counted on the rule or
            # used it up, or it may have been removed.
            rule = self._rules.get(candidate.id)
            if rule is None or rule.remaining == 0 or not rule.spec.match.holds(asked, found):
                continue
            matched = rule.matched + 1
            fires = draws(self.seed, rule, matched)
            self._rules[rule.id] = replace(
                rule,
                matched=matched,
                fired=rule.fired + fires,
                remaining=rule.remaining - 1 if fires and rule.remaining is not None else rule.remaining,
            )
            if fires:
                return rule.spec.action
        return None

    async def close(self) -> None:
        self.prompt_searches.close()
