"""A mutant dressed as a foreign implementation: on a real clock, with its control API hidden.

`uvicorn --factory tests.contract.foreign:app` with PERF_MUTANT=<name> in the environment.
"""

from __future__ import annotations

import os

from tests.contract import mutants
from tests.contract.asgi_defects import ASGIApp
from tests.contract.without_control import hide_control

MUTANT_ENV = "PERF_MUTANT"


def app() -> ASGIApp:
    os.environ[mutants.CLOCK_ENV] = "real"
    factory = getattr(mutants, os.environ[MUTANT_ENV])
    return hide_control(factory())
