"""A caller's regular expression over prompts (a fault rule's or a count's `match.prompt`, a listing's `?prompt=`),
searched with a time limit.

Python's `re` cannot be stopped mid-search, and a pattern such as `^(a|aa)+$` backtracks for minutes on a prompt of
forty characters, holding the event loop (every request) the while. The `regex` module takes `re`'s syntax, stops a
search at a timeout, and avoids much of that backtracking to begin with.

Decisions:
- Searches run in a thread, never on the event loop: a stopped search still takes its whole time limit, and forty
  rules of a slow pattern searched on the loop held every namespace's requests for two seconds each.
- The patterns of one request's rules get `RULE_SEARCH_SECONDS` in all, searched in rule order, not that each: the
  time a request waits on its rules is bounded whatever their count. A rule whose search runs out of time, and any
  later one the time ran out before, does not match that request: the request is not the one at fault, so it is
  answered. The server logs a warning naming the pattern that ran out of time, once per rule: a pattern that is slow
  on one prompt is slow on every such prompt, and the warning repeated per request flooded the log.
- Each namespace with prompt rules has a search thread of its own (`RuleSearchThreads`): a flood of slow patterns
  queues in its namespace's thread, so its own requests wait behind each other's searches (each search still gets
  its whole time), while another namespace's requests, prompt rules or not, are not held. One thread shared by every
  namespace held a request of another namespace, with a quick pattern of its own, for two seconds behind forty
  flooding requests. A flood takes at most one core per namespace from the event loop and leaves the default
  executor (image rendering, counts) to every other request.
- A namespace's thread is started by its first search and released once the namespace has no prompt rule left (its
  reset, its rules removed): the threads are bounded by the namespaces that have prompt rules, not by every
  namespace ever used. A released thread ends once it has searched what was already queued on it.
- A count gets `COUNT_SEARCH_SECONDS` over the whole journal; past that the count is a 400 naming `match.prompt`. A
  listing (`GET /_sim/requests?prompt=`) gets the same time, and past it is a 400 naming `prompt`.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import regex

from simulator.engine.errors import ApiError, invalid, quoted

RULE_SEARCH_SECONDS = 0.05
COUNT_SEARCH_SECONDS = 2.0
MAX_UNROLLED_ITEMS = 100_000
"""Decision: how many items a pattern may stand for once each repeat is written out its least number of times, as
`regex` writes them out when it compiles (`a{10000000}` took 3.4 s, `a{1000000000}` would take minutes, on the event
loop, since a rule, count or listing compiles where it is asked). 100,000 compile in about a tenth of a second, and no
pattern needs them: no face takes a prompt of over 10,000 characters (Ideogram's and Stability's limit; the journal
searches its first 200)."""
MAX_PATTERN_CHARS = 10_000
"""Decision: a pattern is at most this long. The engine takes about a second to read and compile 250,000 characters,
on the event loop; a pattern over prompts of at most 10,000 characters needs nowhere near as many."""

_PARSER: Any = importlib.import_module("regex._regex_core")
"""The engine's own parser (`regex`'s, private, and left out of its type stubs): see `_unrolled_items`."""

log = logging.getLogger("perf-sim")


def _unrolled_items(text: str) -> int:
    """How many items `text` stands for with each repeat written out its least number of times, and at least once
    (`(ab){3}` is 6; `a*` and `a{0,5}` are 1: the engine compiles a repeat's item even when it may be left out).

    Decision: read by the engine's own parser (`regex._regex_core`, fast Python; it is the engine's compile, in C,
    that writes repeats out), so comments, verbose mode, spaced or zero-padded counts are read as the engine reads
    them: a scan of the text of our own was three times read otherwise, and each time let a pattern through that held
    the event loop for seconds. A pattern the parser refuses is left to `regex.compile` to refuse with its message."""
    flags = 0
    while True:
        source = _PARSER.Source(text)
        info = _PARSER.Info(flags, source.char_type, {})
        source.ignore_space = bool(info.flags & regex.VERBOSE)
        try:
            return _items(_PARSER._parse_pattern(source, info))
        except _PARSER._UnscopedFlagSet:  # a flag for the whole pattern set mid-way: the engine parses again so
            flags = info.global_flags
        except regex.error:
            return 0


def _items(node: Any) -> int:
    """`node`'s items (see `_unrolled_items`): a leaf is one; a node holding others (a sequence, a branch, a group, a
    set) is theirs in all, and a repeat theirs times its least count. Its parts are read from its attributes, so no
    list of the parser's node classes is kept here."""
    parts = [part for value in vars(node).values() for part in (value if isinstance(value, list | tuple) else (value,))]
    inner = sum(_items(part) for part in parts if isinstance(part, _PARSER.RegexBase)) or 1
    return inner * max(node.min_count, 1) if isinstance(node, _PARSER.GreedyRepeat) else inner


class PromptPattern:
    def __init__(self, text: str, field: str) -> None:
        """Compile `text`, or raise the 400 naming `field`."""
        self.text = text
        self.said_slow = False
        """Whether the warning that a search of this rule's pattern ran out of time has been logged."""
        if len(text) > MAX_PATTERN_CHARS:
            raise invalid(field, f"{field} is {len(text):,} characters long; a pattern is at most {MAX_PATTERN_CHARS:,}")
        try:
            if _unrolled_items(text) > MAX_UNROLLED_ITEMS:
                raise invalid(
                    field,
                    f"{field} repeats too much: written out their least number of times, its repeats come to over "
                    f"{MAX_UNROLLED_ITEMS:,} items, which the regex engine takes seconds to compile; no face takes a prompt "
                    "that long",
                )
            self.compiled = regex.compile(text)
        # A repeat count too large (or of more digits than Python reads), groups nested too deep, clashing flags.
        except (regex.error, OverflowError, ValueError, RecursionError) as exc:
            raise invalid(field, f"{field} is not a regular expression: {exc}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PromptPattern) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def found_in(self, prompt: str, seconds: float) -> bool:
        """Whether the pattern is found in `prompt`; TimeoutError when the search takes longer than `seconds`. The
        search lets go of the GIL (`concurrent`), so a search in a thread leaves the event loop serving."""
        return self.compiled.search(prompt, timeout=seconds, concurrent=True) is not None

    def within(self, seconds: float) -> Callable[[str], bool]:
        """`found_in` for a run of searches (a count over the journal) that must all end within `seconds`."""
        deadline = time.monotonic() + seconds

        def found(prompt: str) -> bool:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            return self.found_in(prompt, left)

        return found


class RuleSearchThreads:
    """The search thread of each namespace whose prompt rules have been searched, held by one rule store."""

    def __init__(self) -> None:
        self._threads: dict[str, ThreadPoolExecutor] = {}

    async def found_by_rules(self, namespace: str, patterns: Sequence[PromptPattern], prompt: str) -> set[PromptPattern]:
        """Which of `patterns` (a request's rules', in rule order) are found in `prompt`, searched in `namespace`'s
        thread within `RULE_SEARCH_SECONDS` in all."""
        thread = self._threads.get(namespace)
        if thread is None:
            thread = self._threads[namespace] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"rule-prompt-search-{namespace}")
        found, ran_out = await asyncio.get_running_loop().run_in_executor(thread, _search_in_turn, patterns, prompt)
        if ran_out is not None and not ran_out.said_slow:
            ran_out.said_slow = True
            log.warning(
                "fault rule's match.prompt %s took over the %g s a request's rule patterns get in all on a prompt, so it did not "
                "match that request, nor did any later prompt rule of its namespace; said once per rule",
                quoted(ran_out.text),
                RULE_SEARCH_SECONDS,
            )
        return found

    def keep_only(self, namespaces: Iterable[str]) -> None:
        """Release the threads of namespaces not in `namespaces` (those with prompt rules left). Searches already
        queued on a released thread still run, and answer their requests."""
        kept = set(namespaces)
        for namespace in [namespace for namespace in self._threads if namespace not in kept]:
            self._threads.pop(namespace).shutdown(wait=False)

    def close(self) -> None:
        self.keep_only(())


def _search_in_turn(patterns: Sequence[PromptPattern], prompt: str) -> tuple[set[PromptPattern], PromptPattern | None]:
    """The patterns found, and the one whose search ran out of time, if any (the rest are not searched).

    Decision: the time starts when the thread takes the request's searches, not when the request asked: a request
    queued behind its namespace's slow patterns still gets its whole time, so a quick pattern matches however loaded the server."""
    deadline = time.monotonic() + RULE_SEARCH_SECONDS
    found = set()
    for pattern in patterns:
        left = deadline - time.monotonic()
        try:
            if left <= 0:  # `regex` reads a negative timeout as none
                raise TimeoutError
            if pattern.found_in(prompt, left):
                found.add(pattern)
        except TimeoutError:
            return found, pattern
    return found, None


def too_slow(field: str) -> ApiError:
    return invalid(field, f"{field} took over {COUNT_SEARCH_SECONDS:g} s over the journal: write it so it cannot backtrack without end")
