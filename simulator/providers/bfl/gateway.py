"""The gateway's BFL call: submit one task per image, poll each until ready, fetch the samples."""

from __future__ import annotations

import asyncio

from simulator.engine.errors import ApiError
from simulator.engine.request import GenerationRequest
from simulator.gateway.transport import UpstreamHttp, UpstreamImage, all_or_none, json_body
from simulator.providers.bfl import mapping as bfl
from spec import errors

PROVIDER = "bfl"
# Decision: poll every 0.25 s (BFL's own examples poll every 0.5-1 s); the measured latency is at most this much late.
POLL_INTERVAL_SECONDS = 0.25


async def generate(http: UpstreamHttp, base: str, key: str, request: GenerationRequest) -> list[UpstreamImage]:
    endpoint, bodies = bfl.native_requests(request)
    return await all_or_none(_one_image(http, base, key, endpoint, body) for body in bodies)


async def _one_image(http: UpstreamHttp, base: str, key: str, endpoint: str, body: dict[str, object]) -> UpstreamImage:
    headers = {"x-key": key, "accept": "application/json"}
    submitted = await http.send(PROVIDER, "POST", f"{base}/v1/{endpoint}", json=body, headers=headers)
    task = json_body(PROVIDER, submitted)
    if submitted.status_code != 200:
        raise bfl.perf_error(submitted.status_code, task, submitted.headers.get("retry-after"))
    task_id = task.get("id") if isinstance(task, dict) else None
    if not isinstance(task_id, str):
        raise ApiError(errors.UPSTREAM_ERROR, "upstream bfl accepted the task without an id")
    polling_url = task.get("polling_url")
    polling_url = polling_url if isinstance(polling_url, str) else f"{base}/v1/get_result?id={task_id}"
    while True:
        polled = await http.send(PROVIDER, "GET", polling_url, headers=headers)
        poll = json_body(PROVIDER, polled)
        if polled.status_code != 200:
            raise bfl.perf_error(polled.status_code, poll, polled.headers.get("retry-after"))
        sample_url = bfl.sample_url(poll)
        if sample_url is not None:
            break
        await asyncio.sleep(POLL_INTERVAL_SECONDS)
    sample = await http.send(PROVIDER, "GET", sample_url)
    if sample.status_code != 200:
        raise ApiError(errors.UPSTREAM_ERROR, f"upstream bfl answered {sample.status_code} for the sample of task {task_id}")
    return UpstreamImage(sample.content)
