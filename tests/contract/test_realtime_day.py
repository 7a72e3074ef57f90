"""The real-time rules run against a real clock at any hour: a wait that crosses the target's UTC midnight starts a
new day's count, which a correct server shows and the suite must not call a charged refusal."""

from __future__ import annotations

import time

import pytest

from contract_tests import realtime
from contract_tests.exchange import Exchange
from contract_tests.realtime import _day_may_have_turned
from spec import tiers


def answer(at: float, day_reset: str | None) -> Exchange:
    headers = {tiers.HEADER_REMAINING_DAY: "45", **({tiers.HEADER_RESET_DAY: day_reset} if day_reset else {})}
    return Exchange("POST", "http://target/v1/images/generations", {}, b"{}", 200, headers, b"{}", sent_at=at, received_at=at + 0.1)


def test_a_wait_past_the_day_reset_the_server_gave_may_start_a_new_day() -> None:
    before = answer(100.0, day_reset="40")
    assert _day_may_have_turned(before, answer(161.0, day_reset="86399"))
    assert not _day_may_have_turned(before, answer(120.0, day_reset="20"))


def test_a_wait_within_a_long_day_is_judged() -> None:
    assert not _day_may_have_turned(answer(100.0, day_reset="3600"), answer(161.0, day_reset="3539"))


def test_without_a_day_reset_header_the_clients_utc_midnight_between_the_answers_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answers' times are monotonic; the client's clock is read when judging, seconds after the first answer."""
    started = time.monotonic() - 30  # the first answer came 30 s before the check
    before, after = answer(started, day_reset=None), answer(started + 29, day_reset=None)
    monkeypatch.setattr(realtime.time, "time", lambda: 1_767_225_600.0 + 10)  # ten seconds after a UTC midnight
    assert _day_may_have_turned(before, after)
    monkeypatch.setattr(realtime.time, "time", lambda: 1_767_225_600.0 + 3600)
    assert not _day_may_have_turned(before, after)
