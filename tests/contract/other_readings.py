"""Implementations that follow the document but read it otherwise than the simulator where it is silent: each
must pass by the document (`--judge document`), its differences shown and not counted.

`uvicorn --factory tests.contract.other_readings:<name>`.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from contract_tests.decisions import CUSTOM_SIZE_MODELS
from spec import policy
from tests.contract.asgi_defects import ASGIApp, RewriteRequests
from tests.contract.mutants import CLOCK_ENV, _on_success, _patch_model, _simulator
from tests.contract.without_control import hide_control

SIXTY_FOURS = tuple(range(256, 2048 + 1, 64))


def custom_sizes_in_steps_of_64() -> ASGIApp:
    """ "custom" read as any WxH, each side a multiple of 64 from 256 to 2048, for every custom-size model: the
    simulator's 1440x768 (flux), 1312x736 (ideogram-2) are refused, 1344x768 (stable-diffusion-3) taken."""
    sizes = tuple(f"{w}x{h}" for w in SIXTY_FOURS for h in SIXTY_FOURS)
    for name in CUSTOM_SIZE_MODELS:
        _patch_model(name, sizes=sizes)
    return _simulator()


OWN_REFUSED_PROMPT = "A harbour at dusk, ACME-FORBIDDEN"
"""The one prompt `content_policy_of_its_own` refuses (as a foreign target's own policy would)."""


def content_policy_of_its_own() -> ASGIApp:
    """A foreign implementation (real clock, no /_sim/) whose content policy is its own: it refuses
    OWN_REFUSED_PROMPT and takes the simulator's trigger phrase as any other words."""
    os.environ[CLOCK_ENV] = "real"
    phrase = re.compile(re.escape(policy.TRIGGER_PHRASE), re.IGNORECASE)

    def edit(raw: bytes) -> bytes:
        try:
            body = json.loads(raw)
        except ValueError:
            return raw
        if isinstance(body, dict) and isinstance(body.get("prompt"), str):
            prompt = phrase.sub("", body["prompt"]).strip() or "a harbour"
            body["prompt"] = policy.TRIGGER_PHRASE if "ACME-FORBIDDEN" in prompt else prompt
        return json.dumps(body).encode()

    return hide_control(RewriteRequests(_simulator(), edit))


def revised_prompt_for_dalle3_only() -> ASGIApp:
    """revised_prompt only where the document says prompts are rewritten (dall-e-3), as OpenAI's own API answers."""

    def edit(body: dict[str, Any]) -> None:
        if body["perf"]["model_used"] != "dall-e-3":
            for item in body["data"]:
                item.pop("revised_prompt", None)

    return _on_success(edit)
