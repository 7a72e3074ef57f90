"""A caller's regular expression over prompts (a fault rule's or a count's `match.prompt`), searched with a time limit.

Python's `re` cannot be stopped mid-search, and a pattern such as `^(a|aa)+$` backtracks for minutes on a prompt of
forty characters, holding the event loop (every request) the while. The `regex` module takes `re`'s syntax, stops a
search at a timeout, and avoids much of that backtracking to begin with.

Decisions:
- A rule's pattern gets `RULE_SEARCH_SECONDS` per request. Past that, the rule does not match that request and the
  server logs a warning naming the pattern: the request is not the one at fault, so it is answered.
- A count gets `COUNT_SEARCH_SECONDS` over the whole journal; past that the count is a 400 naming `match.prompt`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import regex

from simulator.engine.errors import ApiError, invalid

RULE_SEARCH_SECONDS = 0.05
COUNT_SEARCH_SECONDS = 2.0

log = logging.getLogger("perf-sim")


class PromptPattern:
    def __init__(self, text: str, field: str) -> None:
        """Compile `text`, or raise the 400 naming `field`."""
        self.text = text
        try:
            self.compiled = regex.compile(text)
        except (regex.error, OverflowError, RecursionError) as exc:  # a repeat count too large, groups nested too deep
            raise invalid(field, f"{field} is not a regular expression: {exc}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PromptPattern) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def found_in(self, prompt: str, seconds: float) -> bool:
        """Whether the pattern is found in `prompt`; TimeoutError when the search takes longer than `seconds`. The
        search lets go of the GIL (`concurrent`), so a count searching in a thread leaves the event loop serving."""
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

    def matches_for_rule(self, prompt: str) -> bool:
        try:
            return self.found_in(prompt, RULE_SEARCH_SECONDS)
        except TimeoutError:
            log.warning(
                "fault rule's match.prompt %r took over %g s on a prompt, so the rule did not match it", self.text, RULE_SEARCH_SECONDS
            )
            return False


def too_slow(field: str) -> ApiError:
    return invalid(field, f"{field} took over {COUNT_SEARCH_SECONDS:g} s over the journal: write it so it cannot backtrack without end")
