"""The dashboard at `/_sim/ui`: one page, with its style and script inlined, that watches and steers the simulator.

Everything the page shows it reads from the control API (so it works whichever worker answers); the only thing the
server puts in it is what the spec says about models and faces, for the forms. One request loads it, nothing is
fetched from elsewhere, and there is no build step: the files under static/ are the page.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from simulator.control.actions import (
    MAX_DELAY_MS,
    MAX_FAULT_STATUS,
    MAX_MESSAGE_CHARS,
    MAX_RETRY_AFTER_SECONDS,
    MIN_DELAY_MS,
    MIN_FAULT_STATUS,
    MIN_RETRY_AFTER_SECONDS,
)
from simulator.control.api import namespace_param
from simulator.control.rules import MAX_TIMES
from simulator.namespace_path import NAMED_BY_PATH
from simulator.registry import FACE_NAMES
from spec import tiers
from spec.models import IMAGE_URL_TTL_SECONDS, MODELS

PATH = "/_sim/ui"
# The page polls the control API this often; new requests appear within two polls.
POLL_MS = 1000
# Decision: the namespace list is read this often, and when the selector gets the focus, not at every poll. It holds
# every namespace seen since the last reset (one per test of a suite using the `perf_sim` fixture: hundreds, tens of
# kB), and only the selector shows it.
NAMESPACES_MS = 10_000
# Decision: a model with more listed sizes than this (flux: any WxH in steps of 32) gets no size suggestions.
MAX_SUGGESTED_SIZES = 20


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def _spec() -> str:
    """What the forms offer, from spec/: models with their sizes and image counts, faces, the document's key; and the
    bounds of each field of a fault rule the server takes (simulator.control.actions and rules), as the form
    fields' own constraints."""
    models = {
        name: {"sizes": list(model.sizes) if len(model.sizes) <= MAX_SUGGESTED_SIZES else [], "max_n": model.max_n}
        for name, model in MODELS.items()
    }
    spec = {
        "models": models,
        "faces": FACE_NAMES,
        "key": tiers.DOCUMENT_EXAMPLE_KEY,
        "poll_ms": POLL_MS,
        "namespaces_ms": NAMESPACES_MS,
        "image_url_seconds": IMAGE_URL_TTL_SECONDS,
        "fault_fields": {
            "status": {"min": MIN_FAULT_STATUS, "max": MAX_FAULT_STATUS},
            "retry_after": {"min": MIN_RETRY_AFTER_SECONDS, "max": MAX_RETRY_AFTER_SECONDS},
            "message": {"maxLength": MAX_MESSAGE_CHARS},
            "delay_ms": {"min": MIN_DELAY_MS, "max": MAX_DELAY_MS},
            "times": {"min": 1, "max": MAX_TIMES},
        },
    }
    # "</" would end the inline script early; JSON allows it escaped.
    return json.dumps(spec).replace("</", "<\\/")


@cache
def page() -> str:
    return (
        _static("dashboard.html")
        .replace("/*CSS*/", _static("dashboard.css"))
        .replace("/*SPEC*/", _spec())
        .replace("/*JS*/", _static("dashboard.js"))
    )


async def dashboard(request: Request) -> Response:
    """The page; opened in a namespace (under its base path, `perf_sim.base_url + "/_sim/ui"`, or with
    `?namespace=NAME`), a redirect to the page with that namespace chosen (`/_sim/ui#ns=NAME`). A name the control API
    refuses, two different names, or a query parameter other than `namespace` is its 400, as for any control call:
    served as the `default` namespace's page, it showed another namespace than the one asked for without a word.

    Decision: the X-Sim-Namespace header alone does not redirect. The redirect's target carries no namespace but its
    fragment, which a browser keeps to itself, while a header-adding extension or proxy sends the header again with
    it: the same 303 for ever. The page is served with that namespace chosen instead (it writes `#ns=NAME` into its
    own URL before its script reads it), so its calls name the namespace the header names, not two.

    Decision: a redirect rather than the page served in place. The page's calls name their namespace themselves
    (`?namespace=`, X-Sim-Namespace), which a base path that also names one would make a 400 as soon as the user
    picked another namespace in the selector; at `/_sim/ui#ns=NAME` the selector works, and the URL is the one to
    share."""
    named = namespace_param(request)
    if named is None:
        return HTMLResponse(page(), headers={"Cache-Control": "no-cache"})
    chosen = f"#ns={quote(named, safe='')}"
    if "namespace" in request.query_params or NAMED_BY_PATH in request.scope:
        return RedirectResponse(PATH + chosen, status_code=303, headers={"Cache-Control": "no-cache"})
    choose = f"<head><script>if(!location.hash)history.replaceState(null,'',{json.dumps(chosen)})</script>"
    return HTMLResponse(page().replace("<head>", choose, 1), headers={"Cache-Control": "no-cache"})


def routes() -> list[Route]:
    return [Route(PATH, dashboard, methods=["GET"])]
