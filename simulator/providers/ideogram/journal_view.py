"""What the control layer's journal reads of an Ideogram request (simulator.journal_view): the `Api-Key` header, the
body's `image_request` (`prompt`, `model`, `num_images`; no size, an aspect ratio); its error envelope names no type
and no field (`error` is the message, which names the field)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.journal_view import Asked, ErrorSaid, JournalView, dict_or_empty, text_or_none
from simulator.providers.ideogram.face import PREFIX
from simulator.providers.ideogram.mapping import PATH
from spec.providers.ideogram import IDEOGRAM_DEFAULT_MODEL

KEY_HEADER = "api-key"


def key(path: str, headers: Mapping[str, str], query: str) -> str | None:
    return headers.get(KEY_HEADER, "").strip() or None


def asked(path: str, body: dict[str, Any]) -> Asked:
    request = dict_or_empty(body.get("image_request"))
    return request.get("model"), request.get("num_images"), None, request.get("prompt")


JOURNAL_VIEW = JournalView(
    key_headers=(KEY_HEADER,),
    key=key,
    asked=asked,
    error=lambda answer: ErrorSaid(None, text_or_none(answer.get("error")), None),
    generation=(f"{PREFIX}{PATH}", IDEOGRAM_DEFAULT_MODEL),
)
