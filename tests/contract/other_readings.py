"""Implementations that follow the document but read it otherwise than the simulator where it is silent: each
must pass by the document (`--judge document`), its differences shown and not counted.

`uvicorn --factory tests.contract.other_readings:<name>`.
"""

from __future__ import annotations

from contract_tests.decisions import CUSTOM_SIZE_MODELS
from tests.contract.asgi_defects import ASGIApp
from tests.contract.mutants import _patch_model, _simulator

SIXTY_FOURS = tuple(range(256, 2048 + 1, 64))


def custom_sizes_in_steps_of_64() -> ASGIApp:
    """ "custom" read as any WxH, each side a multiple of 64 from 256 to 2048, for every custom-size model: the
    simulator's 1440x768 (flux), 1312x736 (ideogram-2) are refused, 1344x768 (stable-diffusion-3) taken."""
    sizes = tuple(f"{w}x{h}" for w in SIXTY_FOURS for h in SIXTY_FOURS)
    for name in CUSTOM_SIZE_MODELS:
        _patch_model(name, sizes=sizes)
    return _simulator()
