"""Every simulator decision the suite checks, in one place: where the document is silent or ambiguous the simulator
chose, and wrote the choice beside the rule in spec/. A target that chooses otherwise is not wrong by the document;
`--judge document` (the default) shows these differences without counting them, `--judge all` counts them.

A new decision goes at the end of the list: a decision's number is its place, and verdicts, docs and proxy lines
quote the numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from contract_tests.sources import RuleSources, Source
from spec import document
from spec.models import MAX_PROMPT_CHARS, MODELS

RATE_LIMIT_HEADERS = Source("the six x-ratelimit-* headers and their values", "spec/tiers.py")
SLIDING_WINDOW = Source("a sliding 60 s minute window (a fixed window is a legitimate reading)", "spec/tiers.py")
LEAST_RETRY_AFTER = Source("retry_after is the least wait: retrying a second or more sooner is refused", "spec/tiers.py")
RETRY_AFTER_HEADER = Source("a 429 carries a Retry-After header equal to retry_after", "spec/errors.py")
REFUSALS_CONSUME_NOTHING = Source("a refused request (400 or 429) consumes no images", "spec/tiers.py")
N_ABOVE_MINUTE_LIMIT = Source("n above the per-minute limit is a 400 on n, not a 429", "spec/tiers.py")
UTC_DAY = Source("the day window is the UTC calendar day", "spec/tiers.py")
TIER_OF_EXAMPLE_KEY = Source("the document's example key pk_live_abc123 works, on the Pro tier", "spec/tiers.py")
DOCUMENT_MESSAGES = Source("error messages are the document's example text word for word", "spec/errors.py")
ERROR_TYPES = Source(
    "error types the document does not name (authentication_error, not_found, method_not_allowed, payload_too_large, ...) "
    "and their statuses (401, 404, 405, 413: another client error there differs from the decision)",
    "spec/errors.py",
)
BODY_SIZE_CAP = Source("a body over 256 KiB is a 413 payload_too_large", "spec/errors.py")
TRIGGER_PHRASE = Source("the content-policy trigger phrase SIM_CONTENT_POLICY_VIOLATION", "spec/policy.py")
BLOCKED_TERMS = Source("the content policy's word list, as whole words", "spec/policy.py")
CUSTOM_SIZE = Source('what "custom" sizes means for each model (aspect sizes, flux\'s 256..1440 grid)', "spec/models.py")
MAX_N_OF_4 = Source("n at most 4 for the non-OpenAI models (the table's 4, where the text says 1-10)", "spec/models.py")
STYLE_DALLE3_ONLY = Source("style is refused for models other than dall-e-3, even vivid or natural", "spec/schemas.py")
DALLE2_PROMPT_LIMIT = Source("dall-e-2 prompts are limited to 1,000 characters", "spec/models.py")
DALLE2_PRICE_PER_SIZE = Source("dall-e-2 is priced per size ($0.016, $0.018, $0.020) within the document's range", "spec/models.py")
NULL_MEANS_DEFAULT = Source("an optional field sent as JSON null means its default", "spec/schemas.py")
UNKNOWN_FIELDS_REFUSED = Source("unknown request fields are refused (OpenAI's user accepted)", "spec/schemas.py")
USER_FIELD = Source("OpenAI's user field is accepted and ignored", "spec/schemas.py")
INTEGER_N = Source("n as a JSON Schema integer: 2.0 counts as 2", "spec/schemas.py")
BLANK_PROMPT = Source("a prompt of whitespace only is refused", "spec/models.py")
REVISED_PROMPT_ALWAYS = Source("every image carries revised_prompt, whatever the model", "spec/schemas.py")
OPENAPI_DOCUMENT = Source("the OpenAPI document generated from spec/ (its error types, headers, request schema)", "spec/openapi.py")
REQUEST_SCHEMA = Source("the request schema as the oracle of what is invalid", "spec/schemas.py")
REQUEST_ID_HEADER = Source("every answer carries an x-request-id header, a success's its perf.request_id", "spec/openapi.py")
WHOLE_SECOND_RETRY_AFTER = Source("retry_after is a whole number of seconds (the document shows one example, 60)", "spec/tiers.py")

ALL: tuple[Source, ...] = tuple(value for value in globals().values() if isinstance(value, Source))
"""Every decision above, for the docs and the verdict; a decision's number is its place here, from 1."""

OF_SUCCESS = (REVISED_PROMPT_ALWAYS, DALLE2_PRICE_PER_SIZE)
"""The decisions `checks.check_success` holds besides the document (for models other than dall-e-3): a rule that
judges successes of those models holds them in part."""
OF_SCENARIO = (
    RATE_LIMIT_HEADERS,
    SLIDING_WINDOW,
    LEAST_RETRY_AFTER,
    RETRY_AFTER_HEADER,
    DOCUMENT_MESSAGES,
    WHOLE_SECOND_RETRY_AFTER,
    *OF_SUCCESS,
)
"""The decisions a rate-limit scenario's steps hold (`scenario.Scenario`, the real-time runs of `realtime.py`)."""


def label(sources: RuleSources) -> str:
    """A rule's source as the verdict table and --list-rules give it: its own source in full, and the decisions it
    holds in part by number (`legend` lists them under the table): each in full would bury the rule."""
    if not sources.partly:
        return str(sources.main)
    numbers = ", ".join(f"#{number}" for number in sorted(ALL.index(source) + 1 for source in sources.partly))
    return f"{sources.main}; in part decision{'s' if len(sources.partly) > 1 else ''} {numbers}"


def numbered(source: Source) -> str:
    """A finding's source in a few characters, for a line: `document`, or `decision #24`."""
    return str(source) if source.is_document or source not in ALL else f"decision #{ALL.index(source) + 1}"


def legend(rules: Iterable[RuleSources]) -> list[str]:
    """The decisions the rules hold in part, by number, in full."""
    numbers = sorted({ALL.index(source) + 1 for sources in rules for source in sources.partly})
    if not numbers:
        return []
    return [
        "Decisions held in part (by number, contract_tests/decisions.py):",
        *(f"  #{n} {ALL[n - 1].decision} ({ALL[n - 1].spec_file})" for n in numbers),
    ]


# The models the document lists with "custom" sizes besides 1024x1024.
CUSTOM_SIZE_MODELS = tuple(name for name, model in MODELS.items() if model.custom_sizes)
# The models whose maximum n the document states twice, differently (the parameter text's and the table's).
MAX_N_AMBIGUOUS_MODELS = tuple(name for name, model in MODELS.items() if model.max_n != document.text_max_n(name))


def of_size(model: str, size: object) -> Source | None:
    """The decision a size case holds for `model`, or None when the document settles it (its listed sizes)."""
    return CUSTOM_SIZE if model in CUSTOM_SIZE_MODELS and size != "1024x1024" else None


def of_invalid_value(model: str, param: str, value: object) -> Source | None:
    """The decision that makes `value` of `param` invalid for `model`, or None when the document does."""
    if param == "size":
        # A well-formed WIDTHxHEIGHT off the simulator's grid is refused by its reading of "custom"; a malformed one by any.
        return of_size(model, value) if isinstance(value, str) and re.fullmatch(r"[0-9]+x[0-9]+", value) else None
    if (
        param == "n"
        and model in MAX_N_AMBIGUOUS_MODELS
        and isinstance(value, int)
        and not isinstance(value, bool)
        and value > MODELS[model].max_n
    ):
        return MAX_N_OF_4
    if param == "style" and model != "dall-e-3" and value in ("vivid", "natural"):
        return STYLE_DALLE3_ONLY
    if param == "prompt" and model == "dall-e-2" and isinstance(value, str) and len(value) <= MAX_PROMPT_CHARS:
        return DALLE2_PROMPT_LIMIT
    return None
