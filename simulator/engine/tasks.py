"""Asynchronous generation tasks (BFL's submit-then-poll flow): a record in the state and its phase on the clock.

A task is decided entirely at submit time (policy, admission, image ids, latency); what changes afterwards is only
its phase, read from the simulator clock: pending until the modelled latency times the engine's latency scale has
passed (so `--latency-scale 0` makes a task ready at once, as it makes every other face answer at once), then ready
(or flagged by output moderation). Records live in the `State` as blobs, so every worker sharing the state answers a poll.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from simulator.context import DEFAULT_NAMESPACE, in_namespace, namespace
from simulator.engine.errors import ApiError
from simulator.engine.generate import Engine
from simulator.engine.request import GenerationRequest
from simulator.keys import Tenant
from spec import errors

PENDING = "pending"
READY = "ready"
MODERATED = "moderated"
"""The prompt failed the content policy: known at once, no image, no quota used."""
FLAGGED = "flagged"
"""Output moderation flagged the images: known once the latency has passed."""


@dataclass(frozen=True)
class TaskRecord:
    task_id: str
    model: str
    prompt: str
    size: str
    submitted_at: float
    ready_at: float
    moderated: bool
    flagged: bool
    image_ids: list[str] = field(default_factory=list)
    native: dict[str, Any] = field(default_factory=dict)
    """What the face needs to answer in its own terms later (e.g. BFL's seed and output format)."""
    latency_ms: int = 0
    """The modelled latency, reported whatever the latency scale (as the Perf API reports `latency_ms`)."""
    namespace: str = DEFAULT_NAMESPACE
    """Whose clock `submitted_at` and `ready_at` are on: a polling client need not send the namespace."""

    def phase(self, now: float) -> str:
        if self.moderated:
            return MODERATED
        if now < self.ready_at:
            return PENDING
        return FLAGGED if self.flagged else READY


class TaskStore:
    def __init__(self, engine: Engine, kind: str, ttl_seconds: float) -> None:
        self.engine = engine
        self.kind = kind
        self.ttl_seconds = ttl_seconds

    def _key(self, task_id: str) -> str:
        return f"task:{self.kind}:{task_id}"

    async def submit(self, tenant: Tenant, request: GenerationRequest, face: str, native: dict[str, Any]) -> TaskRecord:
        """Decide the task now; raises ApiError only for what the provider refuses at submit (rate limits, bad n)."""
        task_id = _uuid(await self.engine.new_id(f"task:{self.kind}", length=32))
        now = await self.engine.state.now()
        try:
            result = await self.engine.generate(tenant, request, face=face, wait_latency=False)
        except ApiError as exc:
            if exc.type != errors.CONTENT_POLICY_VIOLATION:
                raise
            record = TaskRecord(task_id, request.model, request.prompt, request.size, now, now, True, False, [], native, 0, namespace())
        else:
            ready_at = now + result.latency_ms * self.engine.latency_scale / 1000
            flagged = self.engine.output_flagged(request)
            image_ids = [image.image_id for image in result.images]
            record = TaskRecord(
                task_id,
                request.model,
                request.prompt,
                request.size,
                now,
                ready_at,
                False,
                flagged,
                image_ids,
                native,
                result.latency_ms,
                namespace(),
            )
        await self.engine.state.put_blob(self._key(task_id), json.dumps(asdict(record)).encode(), now + self.ttl_seconds)
        return record

    async def get(self, task_id: str) -> TaskRecord | None:
        raw = await self.engine.state.get_blob(self._key(task_id))
        return None if raw is None else TaskRecord(**json.loads(raw))

    async def clock(self, record: TaskRecord) -> float:
        """The clock of the task's namespace, which says whether it is ready."""
        with in_namespace(record.namespace):
            return await self.engine.state.now()


def _uuid(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:32]}"
