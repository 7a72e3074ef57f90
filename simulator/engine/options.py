"""The rules of a request's options (n, size, quality, style, response_format) for the faces that take them as the
Perf API has them: the Perf API itself and the OpenAI face, whose body the Perf API copies.

The two faces word a broken rule each in their own envelope, and read a value's JSON type each by their own rule (the
Perf API takes 2.0 for n, OpenAI does not), so each passes its readers in and words the neutral `OptionError`. The
readers are called in the options' order, so a body breaking two rules gets the first one's error on either face.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from simulator.engine.request import GenerationRequest
from spec.models import (
    DEFAULT_N,
    DEFAULT_QUALITY,
    DEFAULT_RESPONSE_FORMAT,
    DEFAULT_SIZE,
    DEFAULT_STYLE,
    MODELS,
    RESPONSE_FORMATS,
    ModelSpec,
)

STYLED_MODELS = tuple(name for name, model in MODELS.items() if model.styles)
"""The models that take a style: the ones an error refusing another model's style names."""

Problem = Literal["unsupported", "not_for_model"]
ReadString = Callable[[dict[str, Any], str], str | None]
"""A face's reader of a string option: the body's value, None when it is absent, or the face's error for another type."""
ReadInteger = Callable[[dict[str, Any]], int | None]
"""A face's reader of n: the body's value, None when it is absent, or the face's error for another type."""


class OptionError(Exception):
    """An option the request's model does not take, in no face's words: `param` is the option; `problem` is
    "unsupported" when `value` is not among `allowed`, the values the model takes, and "not_for_model" when the model
    takes no such option at all, `allowed` then naming the models that do."""

    def __init__(self, param: str, problem: Problem, value: object, model: ModelSpec, allowed: Sequence[object]) -> None:
        super().__init__(f"{param} {value!r} ({problem}) for model {model.name}")
        self.param = param
        self.problem = problem
        self.value = value
        self.model = model
        self.allowed = allowed


def request_with_options(
    prompt: str, model: ModelSpec, body: dict[str, Any], read_string: ReadString, read_integer: ReadInteger
) -> GenerationRequest:
    """The engine's request for a prompt and model the face has checked, with the body's options resolved against the
    model: a missing option takes the spec's default, and one the model does not take raises OptionError."""
    n = read_integer(body)
    if n is None:
        n = DEFAULT_N
    if not 1 <= n <= model.max_n:
        raise OptionError("n", "unsupported", n, model, range(1, model.max_n + 1))

    size = read_string(body, "size")
    if size is None:
        size = DEFAULT_SIZE
    if not model.accepts_size(size):
        raise OptionError("size", "unsupported", size, model, model.sizes)

    quality = read_string(body, "quality")
    if quality is None:
        quality = DEFAULT_QUALITY
    if quality not in model.qualities:
        raise OptionError("quality", "unsupported", quality, model, model.qualities)

    style = read_string(body, "style")
    if model.styles:
        if style is None:
            style = DEFAULT_STYLE
        if style not in model.styles:
            raise OptionError("style", "unsupported", style, model, model.styles)
    elif style is not None:
        raise OptionError("style", "not_for_model", style, model, STYLED_MODELS)

    response_format = read_string(body, "response_format")
    if response_format is None:
        response_format = DEFAULT_RESPONSE_FORMAT
    if response_format not in RESPONSE_FORMATS:
        raise OptionError("response_format", "unsupported", response_format, model, RESPONSE_FORMATS)
    return GenerationRequest(prompt, model.name, n, size, quality, style, response_format)
