"""The benchmark's verdict on the control plane's bound: decided only when the noise of the paired runs allows."""

from __future__ import annotations

import random

import pytest

from load import bench
from load.bench import bound_verdict, main, median_interval


def test_the_median_interval_of_fifteen_runs_is_the_fourth_smallest_to_the_fourth_largest() -> None:
    """For 15 values the 95% interval is (x4, x12): P(binomial(15, 1/2) <= 3) = 576/32768, a coverage of 96.5%; one
    value further in would cover 88%."""
    values = [float(v) for v in random.Random(7).sample(range(100), 15)]
    ordered = sorted(values)
    assert median_interval(values) == (ordered[3], ordered[11])


def test_five_runs_give_no_95_percent_interval_and_six_give_the_extremes() -> None:
    assert median_interval([0.01, 0.02, 0.03, 0.04, 0.05]) is None
    assert median_interval([0.06, 0.01, 0.02, 0.03, 0.04, 0.05]) == (0.01, 0.06)


def test_the_bound_is_met_only_when_the_whole_interval_is_within_it() -> None:
    inside = [0.01, 0.02, 0.03, 0.04, 0.045, 0.02, 0.03, 0.01, 0.04, 0.03, 0.02, 0.03, 0.01, 0.02, 0.03]
    assert bound_verdict(inside, 0.05).startswith("met (95% interval of the median 2.0% to 3.0%)")


def test_a_median_under_the_bound_with_an_interval_across_it_is_not_decided() -> None:
    """The case a lone median called "met" or "MISSED" by chance: here the median is 4%, but the runs spread over
    the bound."""
    spread = [-0.06, 0.12, 0.04, 0.01, 0.09, 0.03, 0.07, 0.0, 0.05, 0.04, 0.11, -0.02, 0.04, 0.06, 0.02]
    verdict = bound_verdict(spread, 0.05)
    assert verdict.startswith("NOT DECIDED (95% interval of the median 1.0% to 7.0% holds the bound"), verdict


def test_the_bound_is_missed_only_when_the_whole_interval_is_over_it() -> None:
    over = [0.08, 0.09, 0.1, 0.07, 0.12, 0.06, 0.09, 0.08, 0.11, 0.1, 0.07, 0.09, 0.08, 0.13, 0.06]
    assert bound_verdict(over, 0.05).startswith("MISSED (95% interval of the median 7.0% to 10.0%)")


def test_too_few_paired_runs_are_not_decided_and_say_how_many_would_be() -> None:
    assert bound_verdict([0.01], 0.05).startswith("NOT DECIDED (too few paired runs, 1, for a 95% interval")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--repeats", "0"], "--repeats must be at least 1, got 0"),
        (["--control-repeats", "0"], "--control-repeats must be at least 1, got 0"),
        (["--duration", "0"], "--duration must be at least 1, got 0"),
        (["--connections", "0"], "--connections must be at least 1, got 0"),
        (["--calls", "0"], "--calls must be at least 1, got 0"),
        (["--burst", "-1"], "--burst must be at least 1, got -1"),
        (["--waiting", "0"], "--waiting must be at least 1, got 0"),
        (["--render-samples", "0"], "--render-samples must be at least 1, got 0"),
        (["--only", "control", "--output", "ctl.md"], "--only measures one section and prints it, never written: drop --output"),
    ],
)
def test_options_that_would_crash_or_be_dropped_are_refused_before_any_server_starts(
    args: list[str], said: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--repeats 0` crashed with `max() arg is an empty sequence` after the servers started, `--connections 0` with
    wrk's CalledProcessError; `--only ... --output FILE` exited 0 and wrote no file."""
    monkeypatch.setattr(bench.shutil, "which", lambda _: None)  # an option taken goes no further: no server starts
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2 and said in capsys.readouterr().err
