"""A correct simulator that hides its control API, standing in for an implementation that has none; and one whose
namespaces do not answer (a 503 on `GET /_sim/namespaces`, as while its Redis is slow)."""

from __future__ import annotations

from simulator.app import create_app
from simulator.config import CLOCK_MANUAL, SimulatorConfig
from tests.contract.asgi_defects import Answer, ASGIApp, RewriteAnswers


def hide_control(app: ASGIApp) -> ASGIApp:
    """Answer every /_sim/ path with a 404, as a foreign implementation would."""

    def hide(answer: Answer) -> None:
        answer.status, answer.body = 404, b'{"error": {"type": "not_found", "message": "no such route"}}'
        answer.headers["content-type"] = "application/json"

    return RewriteAnswers(app, hide, prefix="/_sim/")


def app() -> ASGIApp:
    return hide_control(create_app(SimulatorConfig()))


def without_namespaces() -> ASGIApp:
    """A manual-clock simulator whose `GET /_sim/namespaces` answers 503, its other control calls as ever."""

    def unavailable(answer: Answer) -> None:
        answer.status, answer.body = 503, b'{"error": {"type": "service_unavailable", "message": "the state did not answer"}}'
        answer.headers["content-type"] = "application/json"

    return RewriteAnswers(create_app(SimulatorConfig(clock=CLOCK_MANUAL)), unavailable, prefix="/_sim/namespaces")


def with_http_image_urls() -> ASGIApp:
    """`app`, its image URLs written http:// whatever scheme the request came in on: served over TLS, a target that
    builds its URLs from a request it saw as plain HTTP (behind a TLS terminator, or its own TLS port)."""

    def plain(answer: Answer) -> None:
        body = answer.json()
        if answer.status == 200 and isinstance(body, dict):
            for image in body.get("data") or []:
                if isinstance(image, dict) and isinstance(image.get("url"), str):
                    image["url"] = "http://" + image["url"].partition("://")[2]
            answer.set_json(body)

    return RewriteAnswers(app(), plain)
