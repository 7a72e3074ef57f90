"""A realistic mix of Perf API requests, drawn from the model table in `spec.models`.

Decision (the issue leaves the mix open): most traffic is the default model and size with url responses, as
in the document's examples; every model appears, with its own sizes, n up to min(max_n, 4), and about one
request in seven asks for b64_json. Custom sizes are drawn from the model's own allowed list.
"""

from __future__ import annotations

import random

from spec.models import DEFAULT_MODEL, DEFAULT_SIZE, MODELS

MODEL_WEIGHTS: dict[str, float] = {
    DEFAULT_MODEL: 0.35,
    "dall-e-2": 0.2,
    "flux-pro": 0.1,
    "flux-dev": 0.1,
    "stable-diffusion-3": 0.1,
    "ideogram-2": 0.08,
    "imagen-3": 0.07,
}
B64_SHARE = 0.15
MAX_N = 4
"""The most images a request of the mix asks for (less where the model or the tier's minute allows fewer)."""
PROMPTS = (
    "A serene Japanese garden with cherry blossoms at sunset, photorealistic",
    "A red 1965 Ford Mustang convertible parked in front of a neon-lit diner at night",
    "Portrait of a wise elderly wizard with a long white beard, oil painting style",
    "An isometric illustration of a tiny floating island with a lighthouse",
    "Macro photograph of dew drops on a spider web at dawn",
    "A cozy reading nook with a cat asleep on a stack of books, watercolor",
    "Futuristic city skyline with flying trams, cinematic lighting",
    "A bowl of ramen on a wooden table, top-down food photography",
)


def random_request(rng: random.Random, max_images: int) -> dict[str, object]:
    """One request body; n never exceeds `max_images` (a tier's per-minute limit), so it is never a 400."""
    name = rng.choices(list(MODEL_WEIGHTS), weights=list(MODEL_WEIGHTS.values()))[0]
    model = MODELS[name]
    body: dict[str, object] = {"prompt": rng.choice(PROMPTS), "model": name}
    top_n = min(model.max_n, MAX_N, max_images)
    body["n"] = 1 if top_n == 1 or rng.random() < 0.7 else rng.randint(2, top_n)
    if DEFAULT_SIZE in model.sizes and rng.random() < 0.6:
        body["size"] = DEFAULT_SIZE
    else:
        body["size"] = rng.choice(model.sizes)
    if len(model.qualities) > 1:
        body["quality"] = rng.choices(model.qualities, weights=[0.7, 0.3][: len(model.qualities)])[0]
    if model.styles:
        body["style"] = rng.choice(model.styles)
    if rng.random() < B64_SHARE:
        body["response_format"] = "b64_json"
    return body
