"""`State.give_back` takes back exactly what one admission counted, in memory and in Redis alike, and nothing when a
reset or the minute's roll removed it in between: never a wrong or negative count (gateway mode gives an outage's
charge back with it, docs/providers.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis

from load.redis_server import RedisServer
from simulator.context import in_namespace, namespace
from simulator.state.base import CLOCK_MANUAL, DEFAULT_MANUAL_START, Charge, Limits, State, charge_of
from simulator.state.memory import MemoryState
from simulator.state.redis import RedisState
from spec import tiers

pytestmark = pytest.mark.anyio

FREE = Limits(tiers.TIERS["free"].images_per_minute, tiers.TIERS["free"].images_per_day)
BUCKET = "perf:pk_test_free_give_back"
REDIS_DB = 13
"""A database of this module's own on the session's Redis (emptied first)."""


@pytest.fixture(params=["memory", "redis"])
async def state(request: pytest.FixtureRequest) -> AsyncIterator[State]:
    if request.param == "memory":
        yield MemoryState(CLOCK_MANUAL, DEFAULT_MANUAL_START)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    with redis.Redis(port=server.port, db=REDIS_DB) as client:
        client.flushdb()
    shared = RedisState(server.database(REDIS_DB), CLOCK_MANUAL, DEFAULT_MANUAL_START)
    yield shared
    await shared.close()


async def admit(state: State, n: int) -> Charge:
    ticket = await state.admit_and_record(BUCKET, n, FREE, None)
    charge = charge_of(ticket, namespace(), BUCKET, n)
    assert ticket.admission.admitted and charge is not None
    return charge


async def used(state: State) -> tuple[int, int]:
    """The images in the minute and the day window."""
    rate = await state.usage(BUCKET, FREE, await state.now())
    return rate.minute.used, rate.day.used


async def test_a_charge_given_back_leaves_both_windows_as_before_the_admission(state: State) -> None:
    await admit(state, 1)
    charge = await admit(state, 3)
    await state.give_back(charge)
    assert await used(state) == (1, 1)
    assert (await state.admit_and_record(BUCKET, 4, FREE, None)).admission.admitted, "the freed room admits again"


async def test_only_that_admissions_images_go_when_another_came_at_the_same_instant_with_as_many(state: State) -> None:
    """Memory's entries are (time, images) pairs: two alike are told apart by identity, as Redis's by their member."""
    first = await admit(state, 2)
    await admit(state, 2)
    await state.give_back(first)
    await state.give_back(first)
    assert await used(state) == (2, 2), "given back once, however often asked"


async def test_nothing_is_given_back_after_the_namespace_was_reset_and_admitted_again(state: State) -> None:
    with in_namespace("job"):
        charge = await admit(state, 3)
    await state.reset("job")
    with in_namespace("job"):
        await admit(state, 2)
        await state.give_back(charge)
        assert await used(state) == (2, 2)


async def test_nothing_is_given_back_after_a_full_reset(state: State) -> None:
    charge = await admit(state, 3)
    await state.reset()
    await admit(state, 1)
    await state.give_back(charge)
    assert await used(state) == (1, 1)


async def test_nothing_is_given_back_once_the_minute_rolled_past_the_admission(state: State) -> None:
    """The day window keeps the images then: no guess is made about a window the admission's entry has left."""
    charge = await admit(state, 3)
    await state.advance_clock(tiers.MINUTE_SECONDS + 1)
    await admit(state, 1)
    await state.give_back(charge)
    assert await used(state) == (1, 4)


async def test_a_charge_counted_yesterday_leaves_the_minute_but_not_todays_total(state: State) -> None:
    await state.advance_clock(tiers.seconds_to_utc_midnight(await state.now()) - 1)
    charge = await admit(state, 3)
    await state.advance_clock(2)
    await admit(state, 1)
    await state.give_back(charge)
    assert await used(state) == (1, 1)
