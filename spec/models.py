"""The model table: providers, sizes, image counts, quality/style support and prices.

Decisions where the document is silent or ambiguous are noted beside the rule they shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from spec import document

DEFAULT_MODEL = "dall-e-3"
DEFAULT_N = 1
DEFAULT_SIZE = "1024x1024"
DEFAULT_QUALITY = "standard"
# Decision: the document's default style "vivid" applies to dall-e-3 only; other models report no style.
DEFAULT_STYLE = "vivid"
DEFAULT_RESPONSE_FORMAT = "url"
RESPONSE_FORMATS = ("url", "b64_json")
QUALITIES = ("standard", "hd")
STYLES = ("vivid", "natural")
# Decision: the document's 4,000-character limit is the gateway-wide maximum; dall-e-2 keeps its upstream
# limit of 1,000 (OpenAI rejects longer prompts, so a gateway could never honour them).
MAX_PROMPT_CHARS = 4000
# Decision: a prompt holding `[sim:` (as any field of a body) is read as a fault token, the simulator's own, by default;
# a run started with --no-prompt-tokens reads it as ordinary text (simulator.control.layer, docs/control.md).
# Decision: a prompt is blank when it has no character outside this set, Python's whitespace (str.isspace): Unicode's
# White_Space plus the information separators U+001C-U+001F. Regex engines disagree on `\s` (ECMA-262, which JSON
# Schema tools use, leaves the separators out), so the published schema's pattern spells the set out.
PROMPT_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
NON_BLANK_PATTERN = "[^" + "".join(f"\\u{ord(c):04x}" for c in PROMPT_WHITESPACE) + "]"
"""A JSON Schema (ECMA-262) pattern that finds a character that is not blank."""


def is_blank(prompt: str) -> bool:
    """The prompt check every face makes, and the schema's pattern states."""
    return not prompt.strip(PROMPT_WHITESPACE)


# Decision: an hd image takes this much longer to generate than a standard one (simulator.engine.latency).
HD_LATENCY_FACTOR = 1.3

# Decision: image URLs live one hour of simulator time, as the document says ("expires after 1 hour").
IMAGE_URL_TTL_SECONDS = 3600


# A model taking more sizes than this states its size rule in error messages instead of listing them.
LISTED_SIZES_LIMIT = 12


@dataclass(frozen=True)
class ModelSpec:
    """One row of the document's model table, made exact."""

    name: str
    provider: str
    provider_name: str
    sizes: tuple[str, ...]
    max_n: int
    """Decision: the document's model table gives 4 for every model but the two DALL-Es, where its parameter text says
    "1-10 for others"; the table, the more specific, decides (it gives dall-e-2 10, dall-e-3 1)."""
    price_usd: dict[str, Decimal]
    """Price per image, keyed by "quality" (dall-e-3), by size (dall-e-2), or "*" (flat)."""
    base_latency_ms: int
    """Centre of the modelled generation latency for one image at the default size."""
    size_rule: str
    """One line saying which sizes the model takes, and why (printed in the README and OpenAPI)."""
    custom_sizes: bool = False
    """The document's table gives the sizes as "1024x1024, custom": which others it takes (`sizes`) is a decision."""
    qualities: tuple[str, ...] = ("standard",)
    styles: tuple[str, ...] = ()
    max_prompt_chars: int = MAX_PROMPT_CHARS
    rewrites_prompt: bool = False
    native_ids: dict[str, str] = field(default_factory=dict)
    _size_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_size_set", frozenset(self.sizes))

    def price_per_image(self, size: str, quality: str) -> Decimal:
        """Price of one image of this model at this size and quality."""
        for key in (quality if len(self.qualities) > 1 else None, size, "*"):
            if key is not None and key in self.price_usd:
                return self.price_usd[key]
        raise KeyError(f"no price for {self.name} {size} {quality}")

    def cost_usd(self, size: str, quality: str, n: int) -> float:
        """Cost of a request as the `perf.cost_usd` field reports it (exact decimal, rounded to 1e-6)."""
        return float(round(self.price_per_image(size, quality) * n, 6))

    def accepts_size(self, size: str) -> bool:
        return size in self._size_set

    @property
    def valid_sizes(self) -> str:
        """The sizes as an error message states them: each one when they are few, else the rule (FLUX's 2,025)."""
        return ", ".join(self.sizes) if len(self.sizes) <= LISTED_SIZES_LIMIT else self.size_rule

    @property
    def valid_n(self) -> str:
        """The image counts as an error message states them."""
        return "1: it generates one image per request" if self.max_n == 1 else f"between 1 and {self.max_n}"


def _dims(lo: int, hi: int, step: int) -> range:
    return range(lo, hi + 1, step)


# Flux (FLUX.1 [pro]/[dev]) takes any width and height from 256 to 1440 in steps of 32 (BFL's documented
# constraint for FLUX.1; FLUX.2's multiples of 16 do not apply). "custom" for flux therefore means every such pair.
FLUX_DIMENSIONS = tuple(_dims(256, 1440, 32))
FLUX_SIZES = tuple(f"{w}x{h}" for w in FLUX_DIMENSIONS for h in FLUX_DIMENSIONS)

# Stability's SD3 endpoint takes an aspect ratio, not pixels, and renders about one megapixel. "custom" for
# stable-diffusion-3 therefore means the pixel size each of its nine aspect ratios produces.
STABILITY_ASPECT_SIZES: dict[str, str] = {
    "1:1": "1024x1024",
    "16:9": "1344x768",
    "9:16": "768x1344",
    "21:9": "1536x640",
    "9:21": "640x1536",
    "3:2": "1216x832",
    "2:3": "832x1216",
    "5:4": "1088x896",
    "4:5": "896x1088",
}

# Ideogram's legacy /generate endpoint takes an aspect-ratio enum; each renders one fixed resolution.
IDEOGRAM_ASPECT_SIZES: dict[str, str] = {
    "ASPECT_1_1": "1024x1024",
    "ASPECT_16_9": "1312x736",
    "ASPECT_9_16": "736x1312",
    "ASPECT_16_10": "1280x800",
    "ASPECT_10_16": "800x1280",
    "ASPECT_3_2": "1248x832",
    "ASPECT_2_3": "832x1248",
    "ASPECT_4_3": "1152x864",
    "ASPECT_3_4": "864x1152",
    "ASPECT_3_1": "1728x576",
    "ASPECT_1_3": "576x1728",
}

# Imagen 3's aspect ratios and the pixel size each returns (Vertex AI documentation).
IMAGEN_ASPECT_SIZES: dict[str, str] = {
    "1:1": "1024x1024",
    "3:4": "896x1280",
    "4:3": "1280x896",
    "9:16": "768x1408",
    "16:9": "1408x768",
}

MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in (
        ModelSpec(
            name="dall-e-3",
            provider="openai",
            provider_name="OpenAI",
            sizes=("1024x1024", "1792x1024", "1024x1792"),
            max_n=1,
            # Decision: the document prices dall-e-3 by quality only ($0.040 standard, $0.080 hd) at every size;
            # OpenAI's own size-dependent hd price is not the Perf price.
            price_usd={"standard": Decimal("0.040"), "hd": Decimal("0.080")},
            # Decision: the document's one figure, 5,234 ms, is its example's, an hd 1024x1024 request: that is the
            # centre of an hd request, so standard is centred on 5,234 / HD_LATENCY_FACTOR (4,026).
            base_latency_ms=round(document.EXAMPLE_LATENCY_MS / HD_LATENCY_FACTOR),
            size_rule="the three sizes OpenAI accepts for dall-e-3",
            qualities=("standard", "hd"),
            styles=("vivid", "natural"),
            rewrites_prompt=True,
            native_ids={"openai": "dall-e-3"},
        ),
        ModelSpec(
            name="dall-e-2",
            provider="openai",
            provider_name="OpenAI",
            sizes=("256x256", "512x512", "1024x1024"),
            max_n=10,
            # The document's "$0.016-0.020" range resolved per size, as OpenAI prices dall-e-2.
            price_usd={"256x256": Decimal("0.016"), "512x512": Decimal("0.018"), "1024x1024": Decimal("0.020")},
            base_latency_ms=2100,
            size_rule="the three sizes OpenAI accepts for dall-e-2",
            max_prompt_chars=1000,
            native_ids={"openai": "dall-e-2"},
        ),
        ModelSpec(
            name="stable-diffusion-3",
            provider="stability",
            provider_name="Stability AI",
            sizes=tuple(STABILITY_ASPECT_SIZES.values()),
            max_n=4,
            price_usd={"*": Decimal("0.035")},
            base_latency_ms=3800,
            size_rule="custom = the ~1 MP size of each of Stability's nine aspect ratios (1:1 16:9 9:16 21:9 9:21 3:2 2:3 5:4 4:5)",
            custom_sizes=True,
            native_ids={"stability": "sd3.5-large"},
        ),
        ModelSpec(
            name="flux-pro",
            provider="bfl",
            provider_name="Black Forest Labs",
            sizes=FLUX_SIZES,
            max_n=4,
            price_usd={"*": Decimal("0.055")},
            base_latency_ms=6200,
            size_rule="custom = any WxH with W and H from 256 to 1440 in steps of 32 (BFL's FLUX.1 constraint)",
            custom_sizes=True,
            native_ids={"bfl": "flux-pro"},
        ),
        ModelSpec(
            name="flux-dev",
            provider="bfl",
            provider_name="Black Forest Labs",
            sizes=FLUX_SIZES,
            max_n=4,
            price_usd={"*": Decimal("0.025")},
            base_latency_ms=3900,
            size_rule="custom = any WxH with W and H from 256 to 1440 in steps of 32 (BFL's FLUX.1 constraint)",
            custom_sizes=True,
            native_ids={"bfl": "flux-dev"},
        ),
        ModelSpec(
            name="ideogram-2",
            provider="ideogram",
            provider_name="Ideogram",
            sizes=tuple(IDEOGRAM_ASPECT_SIZES.values()),
            max_n=4,
            price_usd={"*": Decimal("0.040")},
            base_latency_ms=7100,
            size_rule="custom = the resolution of each of Ideogram's eleven aspect ratios (e.g. 1312x736 for 16:9)",
            custom_sizes=True,
            native_ids={"ideogram": "V_2"},
        ),
        ModelSpec(
            name="imagen-3",
            provider="google",
            provider_name="Google",
            # Decision: the document lists 1024x1024 only (no "custom") for imagen-3, so the Perf API takes only that;
            # the native Google face still takes Imagen's other aspect ratios.
            sizes=("1024x1024",),
            max_n=4,
            # Decision: the document's $0.040 (Vertex) price, not the Gemini API's $0.03.
            price_usd={"*": Decimal("0.040")},
            base_latency_ms=4600,
            size_rule="1024x1024 only, as the document lists",
            native_ids={"google": "imagen-3.0-generate-002"},
        ),
    )
}
# The upstream providers, in the model table's order (each has a native face and a gateway adapter).
PROVIDERS: tuple[str, ...] = tuple(dict.fromkeys(m.provider for m in MODELS.values()))
PERF_FACE = "perf"
"""The name of the Perf API's own face, beside the providers' (each names its native face): fault rules, the journal
and /_sim/usage select faces by these names, and a key's rate windows on a face are kept under its name."""


def only_model_of(provider: str) -> str:
    """The Perf model of a provider the table gives one (its native face renders every request with it)."""
    (name,) = (name for name, model in MODELS.items() if model.provider == provider)
    return name


def parse_size(size: str) -> tuple[int, int]:
    """Width and height of a "WxH" size string the spec has already accepted."""
    width, height = size.split("x")
    return int(width), int(height)
