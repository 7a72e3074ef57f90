"""The contract suite's pytest options, its marks, and the values `perf-contract` shares with them.

Kept apart from the plugin module (`perf_image_sim_plugins/perf_contract.py`), which only pytest imports: `perf-contract`
reads these values before it starts pytest, and pytest warns that a plugin it is given by name cannot have its
asserts rewritten when that module was imported first. Like the plugin, this imports nothing of `spec`, `simulator`
or `contract_tests` as it loads (`perf_image_sim_plugins/__init__.py` says why).
"""

from __future__ import annotations

import argparse
import math
import re
from urllib.parse import urlsplit

import pytest

SMOKE_MARK = "smoke"
SOURCE_MARK = "source"
PARTLY_MARK = "partly"

TIER_NAMES = ("free", "pro", "enterprise")
"""`spec.tiers.TIERS`'s names, written out: importing `spec` as the plugin loads would take the name `spec` in every
pytest session (a test asserts they stay equal)."""
PAID_TIER_NAMES = ("pro", "enterprise")
"""`spec.tiers.PAID_TIERS`, written out for the same reason."""

LEVELS = ("smoke", "full")
JUDGES = ("document", "all")
"""document: only the document's rules count; all: the simulator's decisions count too."""

DEFAULT_TIMEOUT_SECONDS = 60.0
"""How long the suite waits for one answer (a generation with the document's modelled latency takes seconds)."""


def timeout_seconds(value: str) -> float:
    """A `--timeout` value: a positive, finite number of seconds. Refused as a usage error (exit 2) by the CLI and the
    plugin's option alike: a negative one would end in a traceback, and 0 would time out every request and read as a
    target that does not answer."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value!r}")
    return seconds


_AUTHORITY = re.compile(r"[^:]*://([^/?#]*)")
"""A URL's authority (its host and port, and any user), as written: `urlsplit` drops a tab or a newline in it."""


def base_url_problem(value: str) -> str | None:
    """What makes `value` no base URL the suite can send to (no http:// or https://, in any case; whitespace in its
    host; no host; a port outside 1-65535; a ?query or #fragment), or None. Said as it was given: `http://` stripped
    of its slash was echoed as 'http:', a port of 99999 reached the probe and came back as "Connection refused", as
    if nothing listened there, and so did a host with a space in it. The suite appends paths to the base URL, so
    `http://host?x=1` sent every case to `/` with a query of `x=1/v1/images/generations`."""
    if not value.lower().startswith(("http://", "https://")):
        return f"expected a URL starting with http:// or https://, got {value!r}"
    authority = _AUTHORITY.match(value)
    if authority is not None and any(char.isspace() for char in authority.group(1)):
        return f"expected a host without whitespace, got {value!r}"
    if any(char.isspace() for char in value):
        return f"expected a path without whitespace (the suite appends its paths to it), got {value!r}"
    parts = urlsplit(value)
    if not parts.hostname:
        return f"expected a URL with a host after {value.split('//')[0]}//, got {value!r}"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return f"invalid port in {value!r}: a port is a whole number from 1 to 65535"
    if "?" in value or "#" in value:
        return f"a base URL takes no ?query or #fragment, as the suite appends paths to it; got {value!r}"
    return None


def normalised_base_url(value: str) -> str:
    """`value` with its scheme and host in lower case (RFC 3986 §3.1 and §3.2.2: both are case-insensitive, and httpx
    sends `HTTP://LOCALHOST` as `Host: localhost`), as the suite compares it with the URLs the target answers (an
    image URL made from that Host) and tells its own paths from them by `http://`."""
    scheme, separator, rest = value.partition("://")
    authority, slash, path = rest.partition("/")
    user, at, host = authority.rpartition("@")
    return scheme.lower() + separator + user + at + host.lower() + slash + path


def base_url(value: str) -> str:
    """A `--base-url` value, scheme and host in lower case (`normalised_base_url`), refused as a usage error (exit 2) by the CLI
    and the plugin's option alike when it is no URL the suite can send to (`base_url_problem`)."""
    problem = base_url_problem(value)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return normalised_base_url(value)


def namespace_name(value: str) -> str:
    """A `--namespace` value: a name the simulator takes (`simulator.context.NAMESPACE_PATTERN`). Refused as a usage error
    by the CLI (exit 2) and the plugin's option alike (pytest's usage error, exit 4): the simulator refuses any other
    with a 400, so every case errored in its setup and the run exited 1, "a rule is broken", blaming the target for the
    option.

    Decision: the simulator's own pattern, imported when a name is given (not when the plugin loads, in every pytest
    session), so the suite and the simulator cannot disagree on a name."""
    from simulator.context import NAMESPACE_RULE, valid_namespace

    if not valid_namespace(value):
        raise argparse.ArgumentTypeError(f"expected a simulator namespace name, {NAMESPACE_RULE}, got {value!r}")
    return value


def add_options(parser: pytest.Parser) -> None:
    """The `--perf-*` options of a pytest session."""
    group = parser.getgroup("perf-contract", "Perf Image API contract suite")
    group.addoption("--perf-base-url", type=base_url, help="base URL of the implementation under test, e.g. http://127.0.0.1:8080")
    group.addoption("--perf-key", help="a valid API key (any tier)")
    group.addoption("--perf-key-tier", choices=TIER_NAMES, help="tier of --perf-key when its name does not say")
    group.addoption(
        "--perf-free-key",
        action="append",
        default=[],
        help="a free-tier key for rate-limit tests; repeat it to run real-time rules concurrently (simulator: three ready-made keys)",
    )
    group.addoption(
        "--perf-tier-key",
        action="append",
        default=[],
        help=f"TIER=KEY: a key of a paid tier ({', '.join(PAID_TIER_NAMES)}) whose minute limit is judged (simulator: ready-made keys)",
    )
    group.addoption(
        "--perf-generous-key",
        help="a key with high limits for generated traffic (simulator default: pk_test_enterprise_contract; else --perf-key)",
    )
    group.addoption(
        "--perf-judge",
        choices=JUDGES,
        default="document",
        help="document: only the document's rules decide the verdict, differences from the simulator's decisions are shown "
        "apart; all: they count too",
    )
    group.addoption("--perf-level", choices=LEVELS, default="full", help="smoke: a quick core set; full: every rule")
    group.addoption(
        "--perf-list-rules", action="store_true", help="print the rules of the selected level with their case counts and sources"
    )
    group.addoption(
        "--perf-timeout",
        type=timeout_seconds,
        default=DEFAULT_TIMEOUT_SECONDS,
        help="seconds to wait for one answer; three requests in a row unanswered, and then the first probe again, end the run",
    )
    group.addoption(
        "--perf-blocked-prompt",
        help="a prompt the target refuses with content_policy_violation (simulator default: one with its trigger phrase)",
    )
    group.addoption(
        "--perf-namespace",
        type=namespace_name,
        help="the simulator namespace to run in (default: a fresh one, when the simulator has them)",
    )
    group.addoption("--perf-report-json", help="write the verdict (every rule, case and finding) as JSON here")
    group.addoption("--perf-report-html", help="write the verdict as one HTML page here")
