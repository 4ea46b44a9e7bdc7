"""daemon.clock: the real clock in production, the pinned clock only under CAREDESK_TESTING=1."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from daemon import clock
from daemon.config import load_config
from tests.clockpin import DEFAULT_INSTANT, daemon_environment, pin_clock
from tests.integration.helpers import PROJECT

INSTANT = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
# Generous: the suite shares two cores, and a subprocess start can take a while.
SLACK = timedelta(seconds=30)


def test_the_tests_run_on_the_default_pin() -> None:
    now = clock.now()
    assert DEFAULT_INSTANT <= now < DEFAULT_INSTANT + timedelta(hours=1)


@pytest.mark.parametrize("flag", [None, "0", "true", "yes", " 1"])
def test_without_the_testing_flag_the_variable_is_ignored(
    flag: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_clock(monkeypatch, INSTANT)
    if flag is None:
        monkeypatch.delenv(clock.TESTING_VARIABLE)
    else:
        monkeypatch.setenv(clock.TESTING_VARIABLE, flag)
    before = datetime.now(UTC)
    now = clock.now()
    assert before <= now <= datetime.now(UTC)
    assert now.tzinfo is UTC


def test_without_the_testing_flag_a_malformed_variable_is_ignored_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(clock.TESTING_VARIABLE)
    monkeypatch.setenv(clock.CLOCK_VARIABLE, "not a clock")
    assert abs(clock.now() - datetime.now(UTC)) < SLACK


def test_the_flag_alone_keeps_the_real_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.CLOCK_VARIABLE)
    assert abs(clock.now() - datetime.now(UTC)) < SLACK


def test_a_pinned_clock_reads_the_instant_and_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pinned as if 90 s ago: the clock has ticked 90 s (and a little) since.
    monkeypatch.setenv(clock.TESTING_VARIABLE, "1")
    monkeypatch.setenv(clock.CLOCK_VARIABLE, clock.encode(INSTANT, time.time() - 90))
    first = clock.now()
    assert INSTANT + timedelta(seconds=90) <= first < INSTANT + timedelta(seconds=90) + SLACK
    time.sleep(0.05)
    second = clock.now()
    assert second - first >= timedelta(seconds=0.05)
    assert first.tzinfo is UTC and second.tzinfo is UTC


def test_the_pin_is_exact_arithmetic_on_the_wall_time() -> None:
    pin = clock.parse("2026-06-01T10:00:00+07:00@1000.5")
    assert pin.instant == INSTANT and pin.instant.tzinfo is UTC
    assert pin.at(1000.5) == INSTANT
    assert pin.at(1061.75) == INSTANT + timedelta(seconds=61.25)
    assert clock.parse(pin.encode()) == pin
    assert clock.parse("2026-06-01T03:00:00Z@1000.5") == pin


def test_any_offset_reads_back_in_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_clock(monkeypatch, INSTANT.astimezone(timezone(timedelta(hours=7))))
    now = clock.now()
    assert now.tzinfo is UTC
    assert INSTANT <= now < INSTANT + SLACK


@pytest.mark.parametrize(
    "value",
    [
        "",
        "2026-06-01T03:00:00+00:00",  # no epoch
        "1780282800.0",  # no instant
        "yesterday@1780282800.0",
        "2026-06-01T03:00:00@1780282800.0",  # no UTC offset
        "2026-06-01@1780282800.0",  # a date, not an instant
        "2026-06-01T03:00:00+00:00@soon",
        "2026-06-01T03:00:00+00:00@nan",
        "2026-06-01T03:00:00+00:00@",
    ],
)
def test_a_malformed_value_with_the_flag_set_is_an_error(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.TESTING_VARIABLE, "1")
    monkeypatch.setenv(clock.CLOCK_VARIABLE, value)
    with pytest.raises(clock.ClockError, match=clock.CLOCK_VARIABLE):
        clock.now()


def test_a_naive_instant_cannot_be_encoded() -> None:
    with pytest.raises(clock.ClockError, match="no UTC offset"):
        clock.encode(datetime(2026, 6, 1, 10, 0))


def test_the_value_is_parsed_once_however_often_the_clock_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_clock(monkeypatch, INSTANT)
    clock.parse.cache_clear()
    for _ in range(100):
        clock.now()
    assert clock.parse.cache_info().misses == 1
    # Pinning another instant takes effect at once: the cache is keyed by the value.
    later = INSTANT + timedelta(days=5)
    pin_clock(monkeypatch, later)
    assert later <= clock.now() < later + SLACK


def test_a_process_given_the_same_variables_reads_the_same_time(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_clock(monkeypatch, INSTANT)
    before = clock.now()
    printed = subprocess.run(
        [sys.executable, "-c", "from daemon import clock; print(clock.now().isoformat())"],
        env=daemon_environment(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=PROJECT,
    ).stdout
    after = clock.now()
    assert before <= datetime.fromisoformat(printed.strip()) <= after


def test_the_clock_variables_are_no_configuration_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The configuration refuses unknown CAREDESK_* variables; these two are the clock's.
    monkeypatch.chdir(tmp_path)
    pin_clock(monkeypatch, INSTANT)
    environ = {name: value for name, value in daemon_environment().items() if name in clock.VARIABLES}
    assert sorted(environ) == sorted(clock.VARIABLES)
    assert load_config(environ=environ).address
