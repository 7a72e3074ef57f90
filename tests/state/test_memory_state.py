"""The in-memory state forgets keys that count nothing, and only those, so minting tenants cannot grow it for ever."""

from __future__ import annotations

import asyncio

from simulator.state.base import Limits
from simulator.state.memory import MemoryState

FREE = Limits(5, 50)


def test_idle_keys_are_forgotten_and_busy_ones_kept() -> None:
    async def scenario() -> tuple[int, int, int]:
        state = MemoryState("manual", 1_767_225_600.0)
        now = await state.now()
        for i in range(20_000):
            await state.admit(f"perf:tenant{i}", 1, FREE, now)
        await state.advance_clock(86_400)
        now = await state.now()
        await state.admit("perf:busy", 5, FREE, now)
        for i in range(20_000):
            await state.usage(f"perf:reader{i}", FREE, now)
        for i in range(20_000):
            await state.admit(f"perf:next{i}", 1, FREE, now)
        busy = await state.usage("perf:busy", FREE, now)
        return len(state._buckets), busy.minute.used, busy.day.used

    buckets, busy_minute, busy_day = asyncio.run(scenario())
    assert buckets == 20_001, "yesterday's tenants and read-only lookups must not be kept"
    assert (busy_minute, busy_day) == (5, 5), "a key still counting images keeps its windows"
