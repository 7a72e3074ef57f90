"""Blobs in the in-memory state: kept until they expire, bounded by total size, forgotten on reset."""

from __future__ import annotations

import asyncio

from simulator.state.base import CLOCK_MANUAL
from simulator.state.memory import MemoryState


def test_blobs_expire_are_bounded_and_reset() -> None:
    async def scenario() -> None:
        state = MemoryState(CLOCK_MANUAL, 1000.0, max_blob_bytes=10)
        await state.put_blob("a", b"12345", expires_at=1010.0)
        await state.advance_clock(9.9)
        assert await state.get_blob("a") == b"12345"
        await state.advance_clock(0.1)
        assert await state.get_blob("a") is None
        await state.put_blob("b", b"12345", expires_at=2000.0)
        await state.put_blob("c", b"123456", expires_at=2000.0)  # 11 bytes in all: the oldest goes
        assert await state.get_blob("b") is None and await state.get_blob("c") == b"123456"
        await state.put_blob("c", b"1", expires_at=2000.0)  # replacing frees the old value's bytes
        await state.put_blob("d", b"123456789", expires_at=2000.0)
        assert await state.get_blob("c") == b"1"
        await state.reset()
        assert await state.get_blob("d") is None

    asyncio.run(scenario())
