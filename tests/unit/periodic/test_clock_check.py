"""The pure decision whether the periodic jobs may believe the clock (`daemon.periodic.clock_check`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.config import ConfigError, PeriodicConfig, load_config
from daemon.periodic.clock_check import Bounds, Jump, duration, judge, seen

LAST = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)
DEFAULT = Bounds.from_config(PeriodicConfig())


def test_a_database_that_never_ran_the_jobs_is_not_checked() -> None:
    assert judge(None, LAST + timedelta(days=400), DEFAULT) is None


@pytest.mark.parametrize(
    "step",
    [
        timedelta(0),
        timedelta(minutes=1),
        timedelta(hours=64),  # stopped from Friday 17:00 to Monday 09:00
        timedelta(hours=72),  # exactly the bound
        -timedelta(seconds=30),  # another daemon's clock a little behind
        -timedelta(minutes=10),
    ],
)
def test_ordinary_steps_are_allowed(step: timedelta) -> None:
    assert judge(LAST, LAST + step, DEFAULT) is None


def test_the_forty_day_jump_holds_the_jobs() -> None:
    jump = judge(LAST, LAST + timedelta(days=40), DEFAULT)
    assert jump == Jump(LAST, LAST + timedelta(days=40), timedelta(hours=72))
    assert jump.forward and jump.setting == "[periodic] max_clock_forward_hours"
    assert jump.describe() == (
        "the clock moved 40 days forward since the periodic jobs last ran "
        "(at 2026-06-10 03:00:00 UTC; now 2026-07-20 03:00:00 UTC), "
        "more than the 72 hours of [periodic] max_clock_forward_hours"
    )


def test_just_past_the_forward_bound_holds() -> None:
    assert judge(LAST, LAST + timedelta(hours=72, seconds=1), DEFAULT) is not None


def test_a_step_back_of_more_than_a_few_minutes_holds() -> None:
    jump = judge(LAST, LAST - timedelta(minutes=11), DEFAULT)
    assert jump is not None and not jump.forward
    assert jump.setting == "[periodic] max_clock_backward_minutes"
    assert "11 minutes backward" in jump.describe()
    assert "more than the 10 minutes of [periodic] max_clock_backward_minutes" in jump.describe()


def test_zero_switches_a_side_off() -> None:
    no_forward = Bounds.from_config(PeriodicConfig(max_clock_forward_hours=0))
    assert judge(LAST, LAST + timedelta(days=400), no_forward) is None
    assert judge(LAST, LAST - timedelta(hours=1), no_forward) is not None
    no_backward = Bounds.from_config(PeriodicConfig(max_clock_backward_minutes=0))
    assert judge(LAST, LAST - timedelta(days=400), no_backward) is None
    assert judge(LAST, LAST + timedelta(days=4), no_backward) is not None


def test_the_last_seen_time_never_moves_back() -> None:
    assert seen(None, LAST) == LAST
    assert seen(LAST, LAST + timedelta(minutes=1)) == LAST + timedelta(minutes=1)
    # A daemon a few seconds behind another does not pull the shared time back, so a
    # clock that keeps losing ground is held once it is further behind than the bound.
    assert seen(LAST, LAST - timedelta(seconds=5)) == LAST


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(days=40), "40 days"),
        (timedelta(days=1, hours=2, minutes=3), "1 day 2 hours"),
        (timedelta(hours=3, minutes=5), "3 hours 5 minutes"),
        (timedelta(minutes=12), "12 minutes"),
        (timedelta(seconds=40), "40 seconds"),
        (-timedelta(minutes=11), "11 minutes"),
        (timedelta(0), "0 seconds"),
    ],
)
def test_durations_read_as_words(span: timedelta, text: str) -> None:
    assert duration(span) == text


def test_the_bounds_are_configured_and_checked(tmp_path: Path) -> None:
    assert load_config(environ={}).periodic == PeriodicConfig(72, 10)
    path = tmp_path / "caredesk.toml"
    path.write_text("[periodic]\nmax_clock_forward_hours = 240\nmax_clock_backward_minutes = 0\n")
    assert load_config(path, environ={}).periodic == PeriodicConfig(240, 0)
    assert (
        load_config(
            environ={"CAREDESK_PERIODIC_MAX_CLOCK_FORWARD_HOURS": "0"}
        ).periodic.max_clock_forward_hours
        == 0
    )
    path.write_text("[periodic]\nmax_clock_forward_hours = -1\n")
    with pytest.raises(
        ConfigError, match=r"periodic\.max_clock_forward_hours must be 0 \(no limit\) or more"
    ):
        load_config(path, environ={})
    path.write_text("[periodic]\nmax_clock_jump_hours = 1\n")
    with pytest.raises(ConfigError, match=r"unknown key \[periodic\] 'max_clock_jump_hours'"):
        load_config(path, environ={})
