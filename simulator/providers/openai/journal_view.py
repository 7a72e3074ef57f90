"""What the control layer's journal reads of an OpenAI request (simulator.journal_view): a bearer key, a body that
names everything at its top level, `error.type`."""

from __future__ import annotations

from simulator.journal_view import images_api_view
from simulator.providers.openai.face import PREFIX
from simulator.providers.openai.mapping import PATH
from spec.providers.openai import OPENAI_DEFAULT_MODEL

JOURNAL_VIEW = images_api_view(f"{PREFIX}/v1{PATH}", OPENAI_DEFAULT_MODEL)
