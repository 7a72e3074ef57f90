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


def violates_policy(prompt: str) -> bool:
    return TRIGGER_PHRASE.lower() in prompt.lower() or _BLOCKED.search(prompt) is not None


def flags_output(prompt: str) -> bool:
    """Whether output moderation flags the images of a prompt that passed `violates_policy`."""
    return OUTPUT_FILTER_PHRASE.lower() in prompt.lower()
