"""The simulator's content policy: deterministic, documented, and the same behind every face.

A prompt violates the policy when it contains the trigger phrase anywhere (case-insensitive), or one of the
blocked terms as a whole word (case-insensitive). The trigger lets a client team exercise its error path from
any language without writing anything objectionable.
"""

from __future__ import annotations

import re

TRIGGER_PHRASE = "SIM_CONTENT_POLICY_VIOLATION"

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
