"""Serving generated images by URL until they expire."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.cors import EMBEDDABLE
from simulator.engine.errors import ApiError, quoted
from simulator.engine.generate import Engine
from simulator.perf.wire import error_response
from spec import errors
from spec.models import IMAGE_URL_TTL_SECONDS


class ImageFiles:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def routes(self) -> list[Route]:
        # Only a `.png` name is an image's: a path such as `/images/generations` (a client whose base URL lacks `/v1`)
        # is then an unknown route, whose 404 hints at the API's path, rather than a 405 naming GET as allowed there.
        return [Route("/images/{image_id}.png", self.get_image, methods=["GET", "HEAD"])]

    async def get_image(self, request: Request) -> Response:
        image_id: str = request.path_params["image_id"]
        found = await self.engine.image_for_url(image_id)
        if found is None:
            name = f"{image_id}.png"
            expired = f"image {quoted(name)} does not exist or has expired (URLs last {IMAGE_URL_TTL_SECONDS:,} seconds)"
            return error_response(ApiError(errors.NOT_FOUND, expired))
        png, seconds_left = found
        # Decision: a cache may keep an image as long as its URL lives, not longer: max-age is the seconds it has left
        # on its namespace's clock (so a manual clock advanced near expiry gives a short one). A gateway's copy, whose
        # expiry the state does not tell, is revalidated at each use.
        cache = "private, no-cache" if seconds_left is None else f"private, max-age={seconds_left}"
        return Response(png, media_type="image/png", headers={"cache-control": cache, **EMBEDDABLE})
