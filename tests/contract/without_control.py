"""A correct simulator that hides its control API, standing in for an implementation that has none."""

from __future__ import annotations

from simulator.app import create_app
from simulator.config import SimulatorConfig
from tests.contract.asgi_defects import Answer, ASGIApp, RewriteAnswers


def hide_control(app: ASGIApp) -> ASGIApp:
    """Answer every /_sim/ path with a 404, as a foreign implementation would."""

    def hide(answer: Answer) -> None:
        answer.status, answer.body = 404, b'{"error": {"type": "not_found", "message": "no such route"}}'
        answer.headers["content-type"] = "application/json"

    return RewriteAnswers(app, hide, prefix="/_sim/")


def app() -> ASGIApp:
    return hide_control(create_app(SimulatorConfig()))
