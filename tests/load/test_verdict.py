"""The verdict's rules on hand-made observations: each kind of violation is caught, and a correct run passes."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from load.verdict import (
    BAD_RETRY_AFTER,
    OVER_ADMISSION,
    UNDER_ADMISSION,
    UNEXPECTED_ANSWER,
    WRONG_WAIT,
    ClockAdvance,
    Observation,
    judge,
    main,
    read_events,
    write_events,
)
from spec import tiers

FREE = "pk_test_free_unit"
T0 = 1_767_225_600.0 + 3600  # one hour into a UTC day


def ok(t: float, n: int = 1, key: str = FREE) -> Observation:
    return Observation(key, n, T0 + t, T0 + t + 0.01, 200, images=n, request_id=f"req_{t}")


def limited(t: float, retry_after: object, n: int = 1, header: str | None = None, error_type: str = "rate_limit_exceeded") -> Observation:
    return Observation(FREE, n, T0 + t, T0 + t + 0.01, 429, error_type=error_type, retry_after=retry_after, retry_after_header=header)


def strict_json_lines(path: Path) -> list[object]:
    """The file's lines as JSON, refusing what only Python's json module reads (NaN, Infinity), as other readers do."""

    def refuse(constant: str) -> None:
        raise ValueError(constant)

    return [json.loads(line, parse_constant=refuse) for line in path.read_text().splitlines()]


def kinds(observations: list[Observation], advances: list[ClockAdvance] | None = None) -> list[str]:
    return [v.kind for v in judge(observations, advances or []).violations]


def test_a_run_that_keeps_the_free_limits_passes() -> None:
    run = [ok(t) for t in range(5)] + [limited(5, 55, header="55"), limited(30, 30, n=2)] + [ok(60.5 + t) for t in range(5)]
    verdict = judge(run)
    assert verdict.passed, verdict.summary()
    assert verdict.keys[FREE].minute_limit_hit == 2
    assert "VERDICT: PASS" in verdict.summary()


def test_more_images_than_the_minute_allows_is_over_admission() -> None:
    verdict = judge([ok(t * 2) for t in range(6)])
    assert [v.kind for v in verdict.violations] == [OVER_ADMISSION]
    assert "6 images admitted within" in verdict.summary() and "VERDICT: FAIL" in verdict.summary()


def test_a_day_over_its_limit_is_over_admission_even_when_every_minute_is_fine() -> None:
    run = [ok(t * 61, n=5) for t in range(11)]
    assert kinds(run) == [OVER_ADMISSION]


def test_a_429_while_quota_remained_is_under_admission() -> None:
    assert kinds([ok(0), ok(1), limited(2, 58)]) == [UNDER_ADMISSION]


def test_under_admission_names_a_key_used_before_the_run_as_a_possible_cause() -> None:
    """A second run with the same --tier-key on the same day meets the first run's use, which no record shows."""
    assert "a key used before the run" in judge([ok(0), ok(1), limited(2, 58)]).summary()
    assert "a key used before the run" not in judge([ok(t * 2) for t in range(6)]).summary()


def test_requests_without_an_answer_may_have_used_the_quota() -> None:
    lost = Observation(FREE, 3, T0 + 1, None, None)
    assert kinds([ok(0), ok(0.5), lost, limited(2, 58)]) == []


def test_a_window_boundary_within_the_tolerance_is_not_a_violation() -> None:
    assert kinds([ok(t * 0.1) for t in range(5)] + [ok(60.05)]) == []


def test_retry_after_must_be_a_sensible_integer_matching_its_header() -> None:
    base = [ok(t) for t in range(5)]
    for bad in (None, 0, "55", True, 86_401, 61):
        assert kinds([*base, limited(5, bad)]) == [BAD_RETRY_AFTER], bad
    assert kinds([*base, limited(5, 55, header="54")]) == [BAD_RETRY_AFTER]
    assert kinds([*base, limited(5, 55, error_type="invalid_request")]) == [BAD_RETRY_AFTER]


def test_a_429_of_a_day_the_runs_own_200s_filled_must_wait_until_the_servers_utc_midnight() -> None:
    """Fifty images certainly admitted that day: the same request is admitted only after midnight, whatever use
    before the run no record shows. Any wait from 1 to 86,400 s passed, so a server answering its day refusals with
    the API document's example 60 (or an hour past midnight) passed."""
    spent = [ok(t * 61, n=5) for t in range(10)]
    to_midnight = tiers.DAY_SECONDS - 3600 - 10 * 61
    verdict = judge([*spent, limited(10 * 61, to_midnight)])
    assert verdict.passed, verdict.summary()
    assert verdict.keys[FREE].day_limit_hit == 1
    for wrong in (1, 60, 80_000, to_midnight + 3600):
        verdict = judge([*spent, limited(10 * 61, wrong)])
        assert [v.kind for v in verdict.violations] == [WRONG_WAIT], wrong
        assert f"{FREE}: 429 for n=1 with retry_after {wrong}, but 50 images were certainly admitted before it" in verdict.summary()
        assert f"the wait is to the server's UTC midnight, {to_midnight - 1} to {to_midnight + 1} s" in verdict.summary()


def test_a_full_days_429_just_before_midnight_may_wait_for_its_minute_window_instead() -> None:
    """Five images 30 s before midnight keep the minute full until 30 s after it: a 429 20 s before midnight waits
    50 s, longer than to midnight, and that is right; shorter than to midnight is not."""
    midnight = tiers.DAY_SECONDS - 3600
    day = [ok(t * 61, n=5) for t in range(9)] + [ok(midnight - 30 + t) for t in range(5)]
    assert kinds([*day, limited(midnight - 20, 50)]) == []
    assert kinds([*day, limited(midnight - 20, 10)]) == [WRONG_WAIT]


def test_clock_advances_of_the_run_move_the_windows() -> None:
    first = [ok(t * 0.1) for t in range(5)]
    second = [ok(1 + t * 0.1) for t in range(5)]
    advance = ClockAdvance(T0 + 0.6, T0 + 0.61, 60.0)
    assert kinds(first + second, [advance]) == []
    assert kinds(first + second) == [OVER_ADMISSION]


def test_keys_without_a_known_tier_are_listed_not_judged() -> None:
    verdict = judge([ok(t, key="sk_someone_else") for t in range(50)] + [ok(0)])
    assert verdict.passed and verdict.keys["sk_someone_else"].tier is None
    assert "not judged" in verdict.summary()


def test_a_run_that_judged_no_key_of_a_known_tier_does_not_pass() -> None:
    verdict = judge([ok(t, key="sk_someone_else") for t in range(50)])
    assert not verdict.passed and "VERDICT: NOT JUDGED" in verdict.summary()


def test_a_key_the_target_refuses_is_an_unexpected_answer_not_a_pass() -> None:
    refused = [Observation(FREE, 1, T0 + t, T0 + t + 0.01, 401, error_type="authentication_error") for t in range(215)]
    verdict = judge(refused)
    assert [v.kind for v in verdict.violations] == [UNEXPECTED_ANSWER]
    summary = verdict.summary()
    assert "215 answers 401 authentication_error to valid requests" in summary and "VERDICT: FAIL" in summary


def test_a_key_of_a_tier_given_by_the_run_is_judged_by_that_tiers_limits() -> None:
    mine = [Observation("mykey_free_1", 1, T0 + t * 2, T0 + t * 2 + 0.01, 200, images=1, tier="free") for t in range(6)]
    assert kinds(mine) == [OVER_ADMISSION]


def test_recorded_events_can_be_judged_again_from_the_command_line(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    write_events(events, [ok(t * 2) for t in range(6)], [ClockAdvance(T0 + 100, T0 + 100.1, 5)])
    assert main([str(events)]) == 1
    write_events(events, [ok(t * 2) for t in range(5)], [])
    assert main([str(events)]) == 0
    assert main([str(events), "--require-limits", "minute"]) == 1


def test_a_pass_names_the_windows_whose_limits_the_run_never_reached() -> None:
    pro = "pk_test_pro_unit"
    run = [ok(t) for t in range(5)] + [limited(5, 55)] + [ok(t, key=pro) for t in range(3)]
    verdict = judge(run)
    assert verdict.passed, verdict.summary()
    assert verdict.unexercised_windows() == ["free day", "pro minute", "pro day"]
    assert "no 429 was justified by free day, pro minute, pro day" in verdict.summary()
    minute_then_day = [
        *(ok(t) for t in range(5)),
        limited(5, 55),
        *(ok(100 + t * 61, n=5) for t in range(9)),
        limited(100 + 9 * 61, 80_000),
    ]
    assert judge(minute_then_day).unexercised_windows() == []


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda lines: [lines[0], '{"request": {"key": "x"}}', *lines[1:]], "events.jsonl:2: not an event a run recorded"),
        (lambda lines: lines[:-1], "events.jsonl: no end line: the file was cut short"),
        (lambda lines: [], "events.jsonl: no end line"),
        (lambda lines: [lines[0].replace('"key"', '"face": "perf", "key"'), *lines[1:]], "fields face are not a request's here"),
        (lambda lines: [lines[0], lines[0], *lines[1:]], "its end line counts"),
        (lambda lines: [*lines, lines[0]], "an event after the file's end line"),
        (lambda lines: ['{"something": 1}', *lines], "events.jsonl:1: not an event a run recorded (--verdict-events): no field 'end'"),
    ],
    ids=["malformed", "cut-short", "empty", "another-version", "a-line-added", "joined", "foreign"],
)
def test_an_events_file_a_run_did_not_write_whole_is_refused_with_status_2_saying_how(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Callable[[list[str]], list[str]], said: str
) -> None:
    """Not judged, so not the 1 of a violation, and a message rather than a traceback: a file cut at a line boundary
    was judged PASS on what was left of it, an empty one NOT JUDGED with status 1."""
    events = tmp_path / "events.jsonl"
    write_events(events, [ok(0)], [])
    events.write_text("".join(line + "\n" for line in edit(events.read_text().splitlines())))
    with pytest.raises(SystemExit) as exited:
        main([str(events)])
    errors = capsys.readouterr().err
    assert exited.value.code == 2 and said in errors and "Traceback" not in errors, errors


def test_one_events_file_given_twice_is_refused_rather_than_judged_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    write_events(events, [ok(0)], [])
    with pytest.raises(SystemExit) as exited:
        main([str(events), str(tmp_path / "." / "events.jsonl")])
    assert exited.value.code == 2 and "given twice" in capsys.readouterr().err


def test_a_missing_events_file_is_refused_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([str(tmp_path / "missing.jsonl")])
    assert exited.value.code == 2 and "missing.jsonl" in capsys.readouterr().err


def test_an_advance_still_in_flight_is_written_as_strict_json_and_read_back_as_possibly_done(tmp_path: Path) -> None:
    """`Infinity` is the json module's, not JSON: other readers of the file (jq, Node) refused it."""
    events = tmp_path / "events.jsonl"
    write_events(events, [ok(0)], [ClockAdvance(T0, math.inf, 30.0)])
    lines = strict_json_lines(events)
    assert lines[0] == {"advance": {"started": T0, "finished": None, "seconds": 30.0}}
    assert read_events([events])[1] == [ClockAdvance(T0, math.inf, 30.0)]


def test_advances_without_an_answer_are_noted_with_how_much_they_blur_the_windows_after_them() -> None:
    """An advance whose answer was lost may have moved the clock: every later request's interval grows by its step,
    which can hide a minute's excess. A PASS said nothing of it."""
    run = [*(ok(t * 0.1) for t in range(5)), ok(30)]
    lost = [ClockAdvance(T0 + 10, math.inf, 29.5), ClockAdvance(T0 + 20, math.inf, 29.5)]
    verdict = judge(run, lost)
    assert verdict.passed, verdict.summary()
    assert "note: 2 clock advances (59 s in all) got no answer and may or may not have happened" in verdict.summary()
    assert "judged only within that uncertainty" in verdict.summary()
    assert "note: 1 clock advance (29.5 s in all) got no answer" in judge(run, lost[:1]).summary()
    assert "clock advance" not in judge(run, [ClockAdvance(T0 + 10, T0 + 10.01, 29.5)]).summary()


def test_without_a_workers_records_a_429s_reasons_are_not_judged_but_an_excess_still_is() -> None:
    """The lost worker's requests may have filled the window: a 429 seen beside one admission is no violation then,
    nor is a long retry_after; six admissions seen within a minute still are, and the run does not pass."""
    seen = [ok(0), limited(1, 3600, header="3600")]
    verdict = judge(seen, [], missing="worker(s) w2")
    assert verdict.violations == [] and not verdict.passed
    assert "no records from worker(s) w2" in verdict.summary()
    assert verdict.summary().endswith("VERDICT: INCOMPLETE (no records from worker(s) w2)")
    assert kinds(seen) == [UNDER_ADMISSION, BAD_RETRY_AFTER]
    excess = judge([ok(t) for t in range(6)], [], missing="worker(s) w2")
    assert [v.kind for v in excess.violations] == [OVER_ADMISSION] and "VERDICT: FAIL" in excess.summary()


@pytest.mark.parametrize("tolerance", ["-1", "nan", "inf", "31", "1e308"])
def test_a_tolerance_that_would_judge_nothing_or_crash_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tolerance: str
) -> None:
    """`inf` crashed the verdict after the whole run; 1e308 ran out of memory; from 30 s on no check judged anything."""
    events = tmp_path / "events.jsonl"
    write_events(events, [ok(0)], [])
    with pytest.raises(SystemExit) as exited:
        main([str(events), "--tolerance", tolerance])
    assert exited.value.code == 2 and "--tolerance must be from 0 to 30 seconds" in capsys.readouterr().err


def test_a_200_that_is_not_a_generation_answer_is_unexpected_and_may_have_admitted_its_images() -> None:
    """A body that is not JSON counted as "admitted, 0 images": a server answering garbage passed, and one
    over-admitting behind such bodies could not show it."""
    garbled = Observation(FREE, 4, T0 + 1, T0 + 1.01, 200, not_an_answer=True)
    verdict = judge([ok(0), garbled, limited(2, 58)])
    assert [v.kind for v in verdict.violations] == [UNEXPECTED_ANSWER] and "not a generation answer" in verdict.summary()
    assert verdict.keys[FREE].other == 1 and verdict.keys[FREE].admitted_images == 1


def test_a_200_with_other_than_n_images_is_an_unexpected_answer_not_blamed_on_the_429s_after_it() -> None:
    """Two images for n=3 read as two images admitted: the 429s after it were reported as under-admissions, blaming
    the refusals for what the short answer did. Six images for n=1 passed whenever the windows had room."""
    short = replace(ok(0, n=3), images=2)
    verdict = judge([short, ok(1), ok(2), limited(3, 57)])
    assert [v.kind for v in verdict.violations] == [UNEXPECTED_ANSWER], verdict.summary()
    assert "1 answer 200 with 2 images for n=3" in verdict.summary()
    assert verdict.keys[FREE].other == 1 and verdict.keys[FREE].admitted_images == 2
    assert kinds([replace(ok(0), images=6)]) == [UNEXPECTED_ANSWER]


def test_a_retry_after_to_the_servers_midnight_is_one_under_admission_saying_the_server_counts_the_day_full() -> None:
    """A key reused the same day (its day filled before the run): the server's 429 waits until its UTC midnight. One
    cause, counted once: not also an invalid retry_after for being over 60 s."""
    to_midnight = tiers.DAY_SECONDS - 3600 - 2  # T0 is an hour into its day
    verdict = judge([ok(0), ok(1), limited(2, to_midnight)])
    assert [v.kind for v in verdict.violations] == [UNDER_ADMISSION]
    assert "is the wait to the server's UTC midnight: the server says the day is full" in verdict.summary()


def test_a_retry_after_to_midnight_while_the_day_has_room_is_a_wrong_wait_and_a_minute_hit_even_when_the_minute_is_full() -> None:
    """Five images fill the minute, not the day: telling the client to come back at midnight sends it away for
    hours, and later 200s the same day show the day had room. It passed, counted as a day hit."""
    to_midnight = tiers.DAY_SECONDS - 3600 - 1
    verdict = judge([*(ok(t * 0.1) for t in range(5)), limited(1, to_midnight), ok(70)])
    assert [v.kind for v in verdict.violations] == [WRONG_WAIT], verdict.summary()
    assert f"with retry_after {to_midnight}, the wait to the server's UTC midnight, but at most 5 of 50 images/day" in verdict.summary()
    assert "or a wait to midnight while the day had room, as the server's fault" in verdict.summary()
    assert (verdict.keys[FREE].minute_limit_hit, verdict.keys[FREE].day_limit_hit) == (1, 0)


def test_a_run_whose_target_was_down_for_most_of_it_does_not_pass() -> None:
    lost = [Observation(FREE, 1, T0 + 10 + t, None, None) for t in range(6)]
    half = judge([*(ok(t * 0.1) for t in range(5)), limited(1, 59, header="59"), *lost])
    assert half.passed and "6 of 12 requests got no usable answer (none, or a 5xx)" in half.summary()
    verdict = judge([*(ok(t * 0.1) for t in range(5)), limited(1, 59, header="59"), *lost, *lost[:1]])
    assert not verdict.violations and not verdict.passed
    assert "VERDICT: NOT JUDGED (7 of 13 requests got no usable answer" in verdict.summary()
    assert "7 of 13 requests got no usable answer (none, or a 5xx)" in verdict.summary()


def test_requests_the_runs_end_cut_short_are_not_the_target_being_down() -> None:
    """A short run against a slow target stops many requests in flight: possibly admitted, but no outage."""
    cut = [Observation(FREE, 1, T0 + 10 + t, None, None, cut_by_stop=True) for t in range(8)]
    verdict = judge([*(ok(t * 0.1) for t in range(4)), *cut])
    assert verdict.passed, verdict.summary()
    assert "0 of 12 requests got no usable answer (none, or a 5xx); 8 more were cut short by the run's end" in verdict.summary()


def cut(t: float, waited: float) -> Observation:
    """A request sent at `t` that the run's end cut after it had waited `waited` seconds."""
    return Observation(FREE, 1, T0 + t, None, None, cut_by_stop=True, stopped=T0 + t + waited)


def test_requests_a_target_hung_until_the_runs_end_are_an_outage_not_cut_short() -> None:
    """30% of answers delayed 300 s: every user was stuck a second in, and the run passed on 11 requests. A request
    cut after waiting past the hang bound (ten times the median answer, at least 2 s) is the target's outage."""
    answered = [*(ok(t * 0.1) for t in range(5)), limited(1, 59, header="59")]
    verdict = judge([*answered, *(cut(1.5 + t * 0.1, 4.5) for t in range(7))])
    assert not verdict.passed and not verdict.violations, verdict.summary()
    assert "VERDICT: NOT JUDGED (7 of 13 requests got no usable answer: the target was down" in verdict.summary()
    assert "or hung by the target: cut by the run's end after waiting over 2.0 s (7)" in verdict.summary()
    fast_cut = judge([*answered, *(cut(5 + t * 0.1, 0.05) for t in range(6))])
    assert fast_cut.passed and "6 more were cut short by the run's end" in fast_cut.summary(), fast_cut.summary()


def test_a_target_slower_than_the_run_is_named_as_slow_not_as_a_wrong_host() -> None:
    summary = judge([cut(t * 0.5, 4 - t * 0.5) for t in range(6)]).summary()
    assert "no answer arrived before the run ended (the longest wait 4.0 s): the target is slow or hung; run longer (-t)" in summary
    assert "check the host" not in summary and "VERDICT: NOT JUDGED" in summary


def test_a_run_that_sent_nothing_says_so_not_check_the_host() -> None:
    summary = judge([]).summary()
    assert "no request was sent (0 users, or the run ended before the first)" in summary and "check the host" not in summary


def compressed(seconds: float, every: float = 0.5, compress: float = 60) -> list[ClockAdvance]:
    """The clock advances of a run compressing time `compress`-fold for `seconds`, each answered within 10 ms."""
    step = (compress - 1) * every
    return [ClockAdvance(T0 + i * every, T0 + i * every + 0.01, step) for i in range(1, int(seconds / every) + 1)]


def test_a_slow_target_under_compress_whose_minute_windows_cannot_be_judged_is_not_judged_not_passed() -> None:
    """Answers taking 1.5 s at --compress 60 span about 90 s of server time each: no minute window holds them, so a
    free key admitted 11 images a server minute and passed. The run says the minute limits were not judged, and how."""
    slow = [Observation(FREE, 1, T0 + t * 0.3, T0 + t * 0.3 + 1.5, 200, images=1) for t in range(11)]
    verdict = judge(slow, compressed(6))
    assert not verdict.passed and not verdict.violations, verdict.summary()
    assert "minute windows not judged for 11 of 11 admitted answers" in verdict.summary()
    said = f"VERDICT: NOT JUDGED (the minute limits: 11 of 11 admitted answers of {FREE} span more than a minute of server time"
    assert said in verdict.summary()
    assert "lower --compress to at most 20" in verdict.summary()
    one_slow = Observation(FREE, 1, T0 + 70, T0 + 140, 200, images=1)
    mostly_fast = judge([*(ok(t * 0.1) for t in range(5)), limited(1, 59, header="59"), one_slow])
    assert mostly_fast.passed, mostly_fast.summary()
    assert "minute windows not judged for 1 of 6 admitted answers" in mostly_fast.summary()
    assert "--compress" not in mostly_fast.summary()


def test_a_non_finite_retry_after_is_written_as_strict_json_and_judged_the_same(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    write_events(events, [limited(2, math.nan)], [])
    assert strict_json_lines(events)
    (replayed,) = read_events([events])[0]
    assert kinds([replayed]) == kinds([limited(2, math.nan)]) == [UNDER_ADMISSION, BAD_RETRY_AFTER]


def test_a_run_with_nothing_admitted_or_limited_points_at_the_host_not_at_the_load() -> None:
    summary = judge([Observation(FREE, 1, T0 + t, None, None) for t in range(3)]).summary()
    assert "check the host (-H, without /v1)" in summary and "run longer" not in summary


def test_a_retry_after_shorter_than_the_wait_is_caught() -> None:
    """Five images at 0-4 s fill a Free minute until 60 s: a 429 at 10 s must say about 50 s. Saying 1 s (or 47), a
    client that honours it is refused again; anything the tolerance allows is no violation."""
    base = [ok(t) for t in range(5)]
    for short in (1, 30, 47):
        verdict = judge([*base, limited(10, short)])
        assert [v.kind for v in verdict.violations] == [WRONG_WAIT], short
        assert "are still in its minute window" in verdict.summary() and "VERDICT: FAIL" in verdict.summary()
    for close in (48, 50, 53):
        assert kinds([*base, limited(10, close)]) == [], close


def test_a_day_that_fills_later_still_has_its_earlier_429s_judged() -> None:
    """Admissions after a 429 cannot have refused it: a Free key that fills its 50 images a day later in the run
    (as the README's run does) must still have an early refusal's wait and cause judged."""
    rest_of_day = [ok(61 * k + 15, n=5) for k in range(1, 10)] + [limited(625, tiers.DAY_SECONDS - 3600 - 625)]
    assert kinds([*(ok(t) for t in range(5)), limited(10, 1), *rest_of_day]) == [WRONG_WAIT]
    assert kinds([ok(0), ok(1), limited(2, 58), ok(10, n=3), *rest_of_day]) == [UNDER_ADMISSION]
    verdict = judge([*(ok(t) for t in range(5)), limited(10, 50), *rest_of_day])
    assert verdict.passed, verdict.summary()
    assert (verdict.keys[FREE].minute_limit_hit, verdict.keys[FREE].day_limit_hit) == (1, 1)


def test_a_retry_after_longer_than_the_wait_is_caught() -> None:
    """Saying 60 s at 10 s, where the window frees at 60 s, sends the client away ten seconds longer than needed; a
    request without an answer (five images at 8 s) may have been admitted, keeping the window full until 68 s, so it
    excuses the longer wait."""
    base = [ok(t) for t in range(5)]
    for long in (54, 60):
        verdict = judge([*base, limited(10, long)])
        assert [v.kind for v in verdict.violations] == [WRONG_WAIT], long
        assert "would have been admitted sooner" in verdict.summary()
    lost = Observation(FREE, 5, T0 + 8, None, None)
    assert kinds([*base, lost, limited(10, 60)]) == []


def test_a_run_that_reached_no_limit_passes_only_when_no_limit_is_required() -> None:
    """A run too light to reach a limit proves only that none was exceeded: --require-limits makes it say so."""
    light = [ok(t * 20) for t in range(3)]
    assert judge(light).passed
    for required in ("minute", "all"):
        verdict = judge(light, required=required)
        assert not verdict.passed and f"VERDICT: NOT JUDGED (--require-limits {required}: no 429 came from free minute" in verdict.summary()


def test_require_limits_minute_is_met_by_a_minute_refusal_and_all_also_needs_the_day() -> None:
    run = [ok(t) for t in range(5)] + [limited(5, 55, header="55")]
    assert judge(run, required="minute").passed
    assert not judge(run, required="all").passed


ALL_RATE_HEADERS = tiers.RATE_LIMIT_HEADERS


def with_headers(o: Observation, carried: tuple[str, ...]) -> Observation:
    return replace(o, rate_limit_headers=carried)


def test_headers_the_document_does_not_promise_are_reported_as_not_judged_never_passed_in_silence() -> None:
    """A 429 without Retry-After and answers without the x-ratelimit-* headers passed without a word, although the
    README promises both: the API document promises neither (only the body's retry_after), so they are reported
    beside a pass, not counted (perf-contract's decisions #1 and #4)."""
    run = [with_headers(ok(t), ()) for t in range(5)] + [with_headers(limited(5, 55), ()), with_headers(limited(6, 54), ())]
    verdict = judge(run)
    assert verdict.passed, verdict.summary()
    assert "not judged: the target sends no x-ratelimit-* headers" in verdict.summary()
    assert "not judged: 2 of 2 429s carry no Retry-After header" in verdict.summary()


def test_answers_lacking_some_rate_limit_headers_are_named_with_their_count() -> None:
    without_remaining = tuple(name for name in ALL_RATE_HEADERS if name != tiers.HEADER_REMAINING_MINUTE)
    run = [with_headers(ok(t), without_remaining if t < 2 else ALL_RATE_HEADERS) for t in range(5)]
    summary = judge([*run, with_headers(limited(5, 55, header="55"), ALL_RATE_HEADERS)]).summary()
    lacking = f"lack x-ratelimit-* headers the simulator sends: {tiers.HEADER_REMAINING_MINUTE} (2)"
    assert f"not judged: 2 of 6 answers (200 or 429) {lacking}" in summary
    assert "Retry-After" not in summary and "VERDICT: PASS" in summary


def test_a_target_sending_every_header_gets_no_not_judged_line() -> None:
    run = [with_headers(ok(t), ALL_RATE_HEADERS) for t in range(5)] + [with_headers(limited(5, 55, header="55"), ALL_RATE_HEADERS)]
    summary = judge(run).summary()
    assert "not judged" not in summary and "VERDICT: PASS" in summary


def test_the_headers_an_answer_carried_survive_the_events_file(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    write_events(events, [with_headers(ok(0), ()), with_headers(limited(1, 59), ALL_RATE_HEADERS)], [])
    replayed, _ = read_events([events])
    assert [o.rate_limit_headers for o in replayed] == [(), ALL_RATE_HEADERS]
    assert "not judged: 1 of 2 answers (200 or 429) lack" in judge(replayed).summary()


def test_a_key_whose_admissions_span_more_than_a_minute_is_not_judged_though_another_keys_quick_429s_outnumber_them() -> None:
    """The rule was a majority over every key's 200s and 429s: a key admitting 11 images in 3 s on a free key (5 a
    minute), each answer 61 s wide, passed beside an honest key's 12 quick refusals."""
    rogue = "pk_test_free_rogue"
    slow = [Observation(rogue, 1, T0 + t * 0.3, T0 + t * 0.3 + 61, 200, images=1) for t in range(11)]
    quick = [*(ok(t * 0.1) for t in range(5)), *(limited(1 + t * 0.1, 59, header="59") for t in range(12))]
    assert judge(quick).passed
    verdict = judge(slow + quick)
    assert not verdict.passed, verdict.summary()
    said = f"VERDICT: NOT JUDGED (the minute limits: 11 of 11 admitted answers of {rogue} span more than a minute of server time"
    assert said in verdict.summary(), verdict.summary()


def test_generations_still_in_flight_at_the_runs_end_are_not_called_hung_by_quick_429s() -> None:
    """The hang bound was ten times the median of every answer: quick 429s, most of a run past its limits, set it at
    2 s, under an ordinary generation, and a healthy simulator's generations in flight were reported hung."""
    generations = [Observation(FREE, 1, T0 + t * 6, T0 + t * 6 + 5, 200, images=1) for t in range(5)]
    refusals = [limited(30 + t * 0.1, 59, header="59") for t in range(40)]
    in_flight = [cut(45 + t, 4) for t in range(3)]
    verdict = judge([*generations, *refusals, *in_flight])
    assert verdict.hang_bound == 50, verdict.hang_bound
    assert "hung" not in verdict.summary() and "3 more were cut short by the run's end" in verdict.summary(), verdict.summary()


def injected_429(t: float) -> Observation:
    """A 429 a fault rule of the simulator injected: its message says so, and it carries no rate-limit headers."""
    message = "perf-image-sim injected this error (fault status=429;retry_after=1)"
    return replace(limited(t, 1), error_message=message, injected=True, rate_limit_headers=())


def test_answers_a_fault_rule_injected_are_set_aside_and_said_not_blamed_on_the_rate_limiting() -> None:
    """A 429 rule firing on a share of the requests read as under-admission, with a note blaming reused keys and one
    saying the simulator's answers lacked its own headers; a 500 rule as a target down for most of the run."""
    run = [ok(0), injected_429(0.5), ok(1), ok(2), injected_429(2.5), ok(3), ok(4), limited(5, 55, header="55")]
    verdict = judge(run, fault_rules=["namespace fb: fault_2 (status=429, probability 0.3), fired 2 times during the run"])
    summary = verdict.summary()
    assert verdict.passed, summary
    assert "note: 2 answers were injected by fault rules in the target (429: 2)" in summary
    assert "fault_2 (status=429, probability 0.3), fired 2 times during the run" in summary
    assert "a key used before the run" not in summary and "lack x-ratelimit-*" not in summary, summary
    assert verdict.keys[FREE].rejected == 1 and verdict.keys[FREE].injected == 2
    message = "perf-image-sim injected this error (fault status=500)"
    failed = [Observation(FREE, 1, T0 + t, T0 + t + 0.01, 500, error_message=message, injected=True) for t in range(7)]
    verdict = judge([*(ok(10 + t) for t in range(5)), limited(15, 55, header="55"), *failed])
    assert verdict.passed and "down for most of the run" not in verdict.summary(), verdict.summary()
    assert "7 answers were injected by fault rules in the target (500: 7)" in verdict.summary()


def test_a_run_whose_every_answer_was_injected_is_not_judged_saying_so() -> None:
    summary = judge([injected_429(t) for t in range(3)]).summary()
    assert "VERDICT: NOT JUDGED (no request on a key of a known tier was admitted or refused by a rate limit: 3 answers were " in summary
    assert "injected by fault rules in the target" in summary


def test_the_used_before_the_run_note_is_left_out_for_keys_minted_for_the_run() -> None:
    """A key minted with a run id made for this run cannot have been used before it: the note sent a person after
    a cause that could not apply."""
    run = [ok(0), ok(1), limited(2, 58)]
    assert "a key used before the run" not in judge(run, fresh_keys={FREE}).summary()
    assert "a key used before the run" in judge(run, fresh_keys={"pk_test_free_other"}).summary()


def test_reported_answers_are_worded_for_a_person() -> None:
    """`retry_after None`, `UTC day 20793`, `1 answers`, `1 more were`, `1 violations` and raw epoch times had to be
    decoded; a 400's own message was not shown at all."""
    missing = judge([ok(0), ok(1), ok(2), ok(3), ok(4), limited(5, None)]).summary()
    assert "429 without error.retry_after (missing or null)" in missing and "retry_after None" not in missing, missing
    assert "VERDICT: FAIL (1 violation)" in missing
    assert "sent 2026-01-01T01:00:05.000Z +0.010s n=1 -> 429 (retry_after missing)" in missing, missing
    day = judge([ok(t * 61, n=5) for t in range(11)]).summary()
    assert "55 images admitted on 2026-01-01 (UTC); the free tier allows 50 per day" in day, day
    refused = Observation(FREE, 1, T0, T0 + 0.01, 400, error_type="invalid_request", error_message="n must be 1-10, got " + "9" * 300)
    shown = judge([refused]).summary()
    assert "1 answer 400 invalid_request to valid requests" in shown, shown
    assert "-> 400 invalid_request: n must be 1-10, got 999" in shown and "9" * 130 + "…  body" in shown, shown
    cut_one = judge([ok(0), limited(1, 59), Observation(FREE, 1, T0 + 3, None, None, cut_by_stop=True)]).summary()
    assert "; 1 more was cut short by the run's end" in cut_one, cut_one
    one_window = judge([*(ok(t) for t in range(5)), limited(5, 55, header="55")]).summary()
    assert "no 429 was justified by free day: that limit was only checked not to be exceeded" in one_window, one_window


def test_a_capped_violation_list_says_how_many_are_shown_and_names_every_key() -> None:
    """Ten of 136 under-admissions were listed without a word, all ten one key's: the other key was never named."""
    other = "pk_test_free_other"
    run = [limited(t, 58) for t in range(12)] + [replace(limited(20 + t, 58), key=other) for t in range(3)]
    summary = judge(run).summary()
    assert "under-admission: 15" in summary
    assert f"(10 of 15 shown; by key: {FREE} 12, {other} 3)" in summary, summary


def test_require_limits_all_does_not_ask_a_bounded_run_for_a_day_limit_out_of_its_reach() -> None:
    """The enterprise day (100,000 images) takes tens of thousands of requests on one key: `--require-limits all`
    asked to run longer for it. It is said not judged, and why, and a lower day limit of the key's own is required."""
    enterprise = "pk_test_enterprise_unit"
    big = [Observation(enterprise, 100, T0 + t, T0 + t + 0.01, 200, images=100) for t in range(3)]
    big.append(Observation(enterprise, 100, T0 + 3, T0 + 3.01, 429, error_type="rate_limit_exceeded", retry_after=57))
    verdict = judge(big, required="all")
    assert verdict.passed, verdict.summary()
    assert "not judged: enterprise day (100,000 images a key): out of a bounded run's reach (at least 25,000 admitted" in verdict.summary()
    own = [replace(o, limits=(300, 1_000)) for o in big]
    verdict = judge(own, required="all")
    assert not verdict.passed and "--require-limits all: no 429 came from enterprise day; run longer" in verdict.summary()
