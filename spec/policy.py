"""The simulator's content policy: deterministic, documented, and the same behind every face.

A prompt violates the policy when it contains the trigger phrase anywhere (case-insensitive), or one of the
blocked terms as a whole word (case-insensitive). The trigger lets a client team exercise its error path from
any language without writing anything objectionable.

Output moderation is the second decision: a prompt that passes the policy but contains the output-filter phrase
makes images that every provider face reports as flagged after generation, each in its own way (BFL "Content
Moderated", Imagen predictions filtered out, Stability `finish_reason: CONTENT_FILTERED`, Ideogram
`is_image_safe: false`), so a client can exercise its output-moderation path. The Perf API itself has no output
moderation; its gateway maps a provider's flag to `content_policy_violation`.
"""

from __future__ import annotations

import re

TRIGGER_PHRASE = "SIM_CONTENT_POLICY_VIOLATION"
OUTPUT_FILTER_PHRASE = "SIM_OUTPUT_FILTERED"

BLOCKED_TERMS: tuple[str, ...] = (
    "nsfw",
    "nude",
    "nudity",
    "gore",
    "gory",
    "beheading",
    "decapitated",
    "bloodbath",
    "massacre",
    "pornographic",
    "self-harm",
    "terrorist attack",
)

_BLOCKED = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(t) for t in BLOCKED_TERMS) + r")(?![\w-])", re.IGNORECASE)
_TRIGGER = TRIGGER_PHRASE.lower()

# The regex tries its look-behind at every position of the prompt, on every request. A prompt it matches contains,
# once lower-cased, the term's clue: its longest run of characters that nothing but their own cases matches
# case-insensitively (the regex also takes "ı" and "İ" for i and "ſ" for s, which lower-case to something else).
# So the clues are looked for first, by substring search, and the regex runs only when one is there.
EXOTIC_CASE_LETTERS = "is"


def _clue(term: str) -> str:
    return max(re.split(f"[{EXOTIC_CASE_LETTERS}]", term), key=len)


def _clues(terms: tuple[str, ...]) -> tuple[str, ...]:
    """Each term's clue, less any clue containing another (the shorter is found wherever the longer is)."""
    clues = {_clue(term) for term in terms}
    return tuple(sorted(clue for clue in clues if not any(other != clue and other in clue for other in clues)))


_CLUES = _clues(BLOCKED_TERMS)


def violates_policy(prompt: str) -> bool:
    lowered = prompt.lower()
    if _TRIGGER in lowered:
        return True
    for clue in _CLUES:
        if clue in lowered:
            return _BLOCKED.search(prompt) is not None
    return False


def flags_output(prompt: str) -> bool:
    """Whether output moderation flags the images of a prompt that passed `violates_policy`."""
    return OUTPUT_FILTER_PHRASE.lower() in prompt.lower()
