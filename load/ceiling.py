"""The benchmark's ceiling: a bare Starlette app on the same server stack that parses the same JSON body and
answers a JSON body of the requested size (`?bytes=N`), doing nothing else. What the simulator loses against it
is the simulator's own work."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEFAULT_BYTES = 512


async def generations(request: Request) -> Response:
    body = json.loads(await request.body())
    size = int(request.query_params.get("bytes", DEFAULT_BYTES))
    shell = {"prompt_chars": len(body.get("prompt", "")), "pad": ""}
    pad = max(0, size - len(json.dumps(shell, separators=(",", ":"))))
    return JSONResponse({**shell, "pad": "x" * pad})


async def health(request: Request) -> Response:
    return Response("ok")


app = Starlette(routes=[Route("/v1/images/generations", generations, methods=["POST"]), Route("/health", health)])
