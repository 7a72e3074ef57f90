"""Revised prompts: dall-e-3 rewrites deterministically; every other model returns the prompt it used.

The rewrite imitates the document's example (the prompt expanded with setting, light and style detail), so a
client that displays `revised_prompt` sees something realistic that differs from what it sent.
"""

from __future__ import annotations

from simulator.engine.digest import digest
from simulator.engine.request import GenerationRequest

_DETAILS = (
    "rendered with fine, intricate detail",
    "composed with a balanced, cinematic framing",
    "with rich textures and a carefully layered depth of field",
    "captured with crisp focus on the main subject",
)
_LIGHT = (
    "bathed in warm golden light",
    "under soft, diffused daylight",
    "lit by dramatic, low-angle light",
    "in the cool glow of early evening",
)
_STYLE = {
    "vivid": "in a hyper-real, vivid style with saturated colours",
    "natural": "in a natural, true-to-life style with subtle colours",
}


def revised_prompt(seed: int, request: GenerationRequest) -> str:
    """Decision: the revision is a prompt the model would take back. A revision is at most the model's prompt limit
    (spec.models), so the clauses it adds are kept, in order, only while they fit, and a capital that would lengthen the
    subject (German ß becomes SS) is left out when that would pass the limit.

    Decision: a prompt of only whitespace (the OpenAI face accepts one, as OpenAI's documented rule is a length of at
    least 1) has no subject, so its revision is the added clauses alone, the first capitalised, as dall-e-3 fills in
    what the prompt left out: it began ", composed with ...", a text no client should show."""
    if not request.spec.rewrites_prompt:
        return request.prompt
    limit = request.spec.max_prompt_chars
    pick = digest(seed, "revise", request.prompt, request.style)
    # A prompt of only dots (or spaces and dots) keeps its text rather than become an empty subject.
    base = request.prompt.strip().rstrip(".") or request.prompt.strip()
    clauses = [_DETAILS[pick[0] % len(_DETAILS)], _LIGHT[pick[1] % len(_LIGHT)], _STYLE[request.style or "vivid"]]
    if not base:
        base = clauses.pop(0)
    capitalised = base[:1].upper() + base[1:]
    revised = capitalised if len(capitalised) <= limit else base
    for clause in clauses:
        if len(revised) + 2 + len(clause) > limit:
            break
        revised = f"{revised}, {clause}"
    return revised
