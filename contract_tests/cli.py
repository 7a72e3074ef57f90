"""`perf-contract`: run the contract suite against any base URL and say what broke."""

from __future__ import annotations

import argparse
import difflib
import os
import signal
import sys
from importlib.metadata import version
from pathlib import Path
from typing import NoReturn

import pytest

from contract_tests.target import NO_VERDICT_EXIT, Control, TargetUnreachable, other_keys, reach, reset_if_made_up, tier_key_pair
from perf_image_sim_plugins.contract_options import (
    DEFAULT_TIMEOUT_SECONDS,
    JUDGES,
    LEVELS,
    base_url,
    namespace_name,
    timeout_seconds,
)
from spec import DISTRIBUTION
from spec.tiers import PAID_TIERS, TIERS

SUITE_CONFIG = Path(__file__).with_name("suite.ini")
"""The suite's own pytest configuration, which stands in for the one of the directory perf-contract runs in."""
PLUGINS = ("perf_image_sim_plugins.perf_contract", "_hypothesis_pytestplugin", "contract_tests.conftest")
"""The pytest plugins the suite runs with, loaded by name: no other installed plugin is loaded (`isolated_env`), and
no conftest.py either (`--noconftest`), so the suite's own fixtures come in as a plugin.

Decision: with `--pyargs`, pytest looks for its first conftest.py files in the directory it is started in and its
`test*` subdirectories, so a user's project's conftest.py was loaded into the suite's run: one importing the project's
own package (found through a `pythonpath` that `SUITE_CONFIG` replaces) stopped the run with no verdict, and an
ordinary deselecting hook took rules out of the verdict without a word while the run still passed."""


def _refuse_near_misses(parser: argparse.ArgumentParser, extra: list[str]) -> None:
    """Options not ours go to pytest (`-k ...`, after `--` or not); one that is nearly ours (`--levle`) is a typo,
    refused here rather than by pytest, which would not say which option was meant."""
    ours = [option for action in parser._actions for option in action.option_strings if option.startswith("--")]
    for argument in extra[: extra.index("--")] if "--" in extra else extra:
        name = argument.partition("=")[0]
        if name.startswith("--") and name not in ours and (close := difflib.get_close_matches(name, ours, n=1, cutoff=0.75)):
            parser.error(f"unrecognized argument {name}: did you mean {close[0]}?")


def _tier_key(value: str) -> str:
    """TIER=KEY, with a paid tier."""
    if tier_key_pair(value) is None:
        raise argparse.ArgumentTypeError(f"expected TIER=KEY with TIER one of {', '.join(PAID_TIERS)}, got {value!r}")
    return value


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    """perf-contract's own options, and the arguments that go to pytest."""
    parser = argparse.ArgumentParser(
        prog="perf-contract",
        description="Judge an implementation of the Perf Image Generation API against the rules in spec/.",
        epilog="Arguments after -- go to pytest (e.g. -- -k rate_limits -x). "
        "`perf-contract proxy --target URL [--port P] [--report-json FILE]` runs the validation proxy instead.",
    )
    parser.add_argument("--base-url", type=base_url, help="e.g. http://127.0.0.1:8080 (required, but for --list-rules)")
    parser.add_argument("--key", help="a valid API key (any tier; required, but for --list-rules)")
    parser.add_argument("--key-tier", choices=tuple(TIERS), help="tier of --key when its name does not say")
    parser.add_argument(
        "--free-key",
        action="append",
        default=[],
        help="a free-tier key for rate-limit tests; repeat it so real-time rules run concurrently (simulator: three ready-made keys)",
    )
    parser.add_argument(
        "--tier-key",
        action="append",
        default=[],
        type=_tier_key,
        metavar="TIER=KEY",
        help=f"a key of a paid tier ({', '.join(PAID_TIERS)}) whose minute limit is judged; its minute is spent whole, so not "
        "--key (simulator: ready-made keys)",
    )
    parser.add_argument(
        "--generous-key", help="a key with high limits for generated traffic (simulator default: pk_test_enterprise_contract)"
    )
    parser.add_argument("--level", choices=LEVELS, default="full", help="smoke: quick core set; full: every rule (default)")
    parser.add_argument(
        "--judge",
        choices=JUDGES,
        default="document",
        help="document (default): exit status and FAILs count only the document's rules; differences from the simulator's "
        "decisions are listed apart. all: they count too (a target that must behave exactly like the simulator)",
    )
    parser.add_argument("--junit-xml", help="write a JUnit XML report here")
    parser.add_argument("--report-json", help="write the verdict as JSON here (every rule, case and finding)")
    parser.add_argument("--report-html", help="write the verdict as one HTML page here (rules green and red, each failure in full)")
    parser.add_argument(
        "--timeout",
        type=timeout_seconds,
        help="seconds to wait for one answer, a positive number (default 60); three requests in a row unanswered, and then the "
        "first probe again, end the run",
    )
    parser.add_argument(
        "--blocked-prompt",
        help="a prompt the target refuses with content_policy_violation, for the document's refusal envelope "
        "(simulator default: one with its trigger phrase; elsewhere that rule is not judged without it)",
    )
    parser.add_argument(
        "--namespace",
        type=namespace_name,
        help="simulator namespace to run in (default: a fresh one when the simulator has namespaces)",
    )
    parser.add_argument(
        "--list-rules", action="store_true", help="list the rules (tests) of the level, with their case counts and sources, and exit"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version(DISTRIBUTION)}")
    args, extra = parser.parse_known_args(argv)
    _refuse_near_misses(parser, extra)
    missing = [option for option, value in (("--base-url", args.base_url), ("--key", args.key)) if not value]
    if missing and not args.list_rules:  # listing the rules needs no target
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    return args, extra


def build_pytest_args(argv: list[str] | None = None) -> list[str]:
    args, extra = parse_args(argv)
    pytest_args = [
        "-c",
        str(SUITE_CONFIG),
        "--rootdir",
        os.getcwd(),
        "--noconftest",
        *(option for plugin in PLUGINS for option in ("-p", plugin)),
        "--pyargs",
        "contract_tests",
        "-p",
        "no:cacheprovider",
        "--perf-level",
        args.level,
        "--perf-judge",
        args.judge,
        "-rs",
        "--tb=short",
    ]
    for option, value in (
        ("--perf-base-url", args.base_url),
        ("--perf-key", args.key),
        ("--perf-key-tier", args.key_tier),
        ("--perf-generous-key", args.generous_key),
        ("--perf-namespace", args.namespace),
        ("--perf-blocked-prompt", args.blocked_prompt),
        ("--perf-timeout", None if args.timeout is None else str(args.timeout)),
        ("--perf-report-json", args.report_json),
        ("--perf-report-html", args.report_html),
    ):
        if value:
            pytest_args += [option, value]
    for free_key in args.free_key:
        pytest_args += ["--perf-free-key", free_key]
    for tier_key in args.tier_key:
        pytest_args += ["--perf-tier-key", tier_key]
    if args.junit_xml:
        pytest_args += ["--junit-xml", args.junit_xml, "-o", "junit_family=xunit2"]
    if args.list_rules:
        pytest_args += ["--perf-list-rules", "-qq"]  # the plugin makes it collect only, printing the rules alone
    return pytest_args + [a for a in extra if a != "--"]


def isolated_env() -> None:
    """Run the suite as itself whatever the environment holds for the user's own tests: `PYTEST_ADDOPTS` is dropped,
    and installed pytest plugins are not loaded unless named after `--` (`-p NAME`). Left in, a project's `-x`,
    `--timeout 30`, `-n auto` or pytest-randomly's shuffling would cut short, kill or reorder the rules and make the
    verdict about the setup instead of the target. (The directory's own pytest configuration is replaced by
    `SUITE_CONFIG`.)"""
    os.environ.pop("PYTEST_ADDOPTS", None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"


def main(argv: list[str] | None = None) -> None:
    """`perf-contract ...` runs the suite; `perf-contract proxy ...` runs the validation proxy."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["proxy"]:
        from contract_tests.proxy import main as proxy_main

        proxy_main(argv[1:])
    pytest_args = build_pytest_args(argv)
    args = parse_args(argv)[0]
    control = None if args.list_rules else refuse_unreachable(args)
    isolated_env()
    try:
        status = pytest.main(pytest_args)
    except BrokenPipeError:
        _reader_went_away()
    finally:
        # The probes above put their requests in the namespace made up for the run; a session that never starts (an
        # option after `--` that pytest refuses) never reaches the reset at its end. Once more after one is harmless.
        reset_if_made_up(control)
    # An option neither ours nor pytest's is pytest's usage error (4): ours is 2, as the docs give every usage error.
    sys.exit(NO_VERDICT_EXIT if status == pytest.ExitCode.USAGE_ERROR else status)


CLOSED_PIPE_EXIT = 128 + signal.SIGPIPE
"""The status of a command a closed pipe stopped (`perf-contract --list-rules | head -3`), as the shell gives one
that SIGPIPE killed: the output was cut by its reader, not by a broken rule or a crash."""


def _reader_went_away() -> NoReturn:
    """Stop quietly when whoever reads the output closed it: pytest would print its internal-error traceback, and
    Python another when it flushes stdout at exit, both about the pipe and not the target. Stdout is pointed at
    /dev/null so that last flush has somewhere to go."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(CLOSED_PIPE_EXIT)


def refuse_unreachable(args: argparse.Namespace) -> Control | None:
    """A target that cannot be judged (nothing answers, it refuses --key, or --namespace was given to a simulator
    whose namespaces do not answer) is one line on stderr and exit status 2, said before pytest starts: from within
    the run, pytest would print its session header and the line twice, on stdout and stderr, and a person would read
    a test run that crashed rather than a target to fix. (The plugin still checks, for `pytest --pyargs
    contract_tests`; the control API found here, and the namespace made up, are the ones it uses: returned, so that
    namespace is reset when pytest returns.)"""
    try:
        others = other_keys(args.free_key, args.generous_key, [tier_key_pair(value) or ("", value) for value in args.tier_key])
        timeout = DEFAULT_TIMEOUT_SECONDS if args.timeout is None else args.timeout
        return reach(args.base_url.rstrip("/"), args.key, timeout, others, args.namespace)
    except TargetUnreachable as exc:
        print(f"perf-contract: no verdict: {exc}", file=sys.stderr)
        sys.exit(NO_VERDICT_EXIT)


if __name__ == "__main__":
    main(sys.argv[1:])
