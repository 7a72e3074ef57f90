"""The native provider faces mounted beside the Perf API, one module per provider.

Layout (chosen so every official client works unchanged with only its base URL changed):
- OpenAI      /openai/v1/...            (openai SDK: base_url=".../openai/v1")
- Stability   /stability/v2beta/...
- BFL         /v1/flux-pro, /v1/flux-dev, /v1/get_result at the root (the `blackforest` client drops any path
              in its base URL; these paths do not collide with the Perf API), and the same under /bfl
- Ideogram    /ideogram/generate
- Google      /google/v1beta/... and /google/v1beta1/projects/... (Gemini and Vertex paths)
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from simulator.config import SimulatorConfig
from simulator.engine.generate import Engine
from simulator.faces.bfl import BflFace
from simulator.faces.google import GoogleFace
from simulator.faces.ideogram import IdeogramFace
from simulator.faces.openai import OpenAIFace
from simulator.faces.stability import StabilityFace
from simulator.keys import KeyRegistry

# Each provider's base URL on this server, relative to its root, as that provider's official client takes it.
BASE_PATHS: dict[str, str] = {
    "openai": "/openai/v1",
    "stability": "/stability",
    "bfl": "",
    "ideogram": "/ideogram",
    "google": "/google",
}


def provider_routes(engine: Engine, keys: KeyRegistry, config: SimulatorConfig) -> list[BaseRoute]:
    return [
        *OpenAIFace(engine, keys, config).routes(),
        *StabilityFace(engine, keys).routes(),
        *BflFace(engine, keys, config.public_url).routes(),
        *IdeogramFace(engine, keys, config).routes(),
        *GoogleFace(engine, keys).routes(),
    ]
