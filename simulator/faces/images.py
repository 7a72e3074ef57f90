"""Serving generated images by URL until they expire."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine
from simulator.perf.wire import error_response
from spec import errors
from spec.models import IMAGE_URL_TTL_SECONDS


class ImageFace:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def routes(self) -> list[Route]:
        return [Route("/images/{image_file}", self.get_image, methods=["GET", "HEAD"])]

    async def get_image(self, request: Request) -> Response:
        name: str = request.path_params["image_file"]
        png = await self.engine.image_png(name.removesuffix(".png")) if name.endswith(".png") else None
        if png is None:
            return error_response(ApiError(errors.NOT_FOUND, f"image {name!r} does not exist or has expired (URLs last one hour)"))
        return Response(png, media_type="image/png", headers={"cache-control": f"private, max-age={IMAGE_URL_TTL_SECONDS}"})
