"""The gateway's Imagen call: one Gemini Developer API :predict request for all the images."""

from __future__ import annotations

from simulator.engine.request import GenerationRequest
from simulator.gateway.transport import UpstreamHttp, UpstreamImage, json_body
from simulator.providers.google import mapping as google

PROVIDER = "google"


async def generate(http: UpstreamHttp, base: str, key: str, request: GenerationRequest) -> list[UpstreamImage]:
    model_id, body = google.native_request(request)
    url = f"{base}/v1beta/models/{model_id}:predict"
    answer = await http.send(PROVIDER, "POST", url, json=body, headers={"x-goog-api-key": key})
    payload = json_body(PROVIDER, answer)
    if answer.status_code != 200:
        raise google.perf_error(answer.status_code, payload, answer.headers.get("retry-after"))
    return [UpstreamImage(png) for png in google.images_from_predict(payload, request.n)]
