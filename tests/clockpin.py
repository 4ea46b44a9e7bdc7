"""The pinned clock of the tests (see `daemon.clock` and docs/development.md).

Every test runs with the clock pinned to `DEFAULT_INSTANT` (an autouse fixture
in tests/conftest.py), so no test depends on today's date: without the pin, the
branch-recap reminders of the shipped rules.yaml go out on days 1-5 of each
month and break every test that counts outgoing mail. A test that needs
another moment calls `pin_clock(monkeypatch, instant)`.

The pin lives in two environment variables, so a daemon subprocess agrees on
the time as long as it inherits them: build its environment with
`daemon_environment()`, and clear configuration overrides with
`config_variables()`, never with a bare ``startswith("CAREDESK_")``.

Mailbox arrival times stay real (Dovecot's INTERNALDATE, Maildir file times),
so pin instants in the real past: a clock pinned more than `backlog_hours`
ahead of the real one would take every new mail for an old backlog, and a
ticket's `received_at` is its arrival time, so under a clock pinned after the
real date every mail looks older than it is. A test that must pin a later
instant gives its mail that instant as arrival time (`os.utime` on a Maildir
file, an INTERNALDATE on APPEND), as the collective-leave test does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from daemon import clock

JAKARTA = ZoneInfo("Asia/Jakarta")
"""The zone of the shipped rules.yaml's working days (WIB)."""


DEFAULT_INSTANT = datetime(2026, 7, 21, 3, 0, tzinfo=UTC)
"""Tuesday 21 July 2026, 10:00 WIB: an ordinary working day on which no periodic mail is due.

Not in the 1st-15th: the recap reminders go out on days 1-5 and the report of
the missing recaps on days 6-15 (daemon/recap/deadline.py), so a day such as
the 10th would still add a mail. No public holiday or collective leave falls
within four weeks of it (16 June and 17 August are the nearest), so working-day
deadlines counted from it stay ordinary.
"""


def pin_clock(monkeypatch: pytest.MonkeyPatch, instant: datetime) -> None:
    """From now on, in this process and in the daemons it starts, the clock reads `instant` and ticks."""
    monkeypatch.setenv(clock.TESTING_VARIABLE, "1")
    monkeypatch.setenv(clock.CLOCK_VARIABLE, clock.encode(instant))


def config_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """The ``CAREDESK_*`` names in `environ` (default `os.environ`) that configure the daemon.

    The pinned clock's variables are left out: a test that clears the
    configuration overrides must keep the clock pinned.
    """
    env = os.environ if environ is None else environ
    return [name for name in env if name.startswith("CAREDESK_") and name not in clock.VARIABLES]


def daemon_environment() -> dict[str, str]:
    """`os.environ` for a daemon subprocess: no configuration overrides, the pinned clock kept."""
    dropped = set(config_variables())
    return {name: value for name, value in os.environ.items() if name not in dropped}


class SteppedClock:
    """A clock for a `Daemon(clock=...)` in the test's own process, moved by hand: `clock.now = ...`.

    It reads `now` as UTC, whatever zone the test wrote it in.
    """

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)


def wib(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of 2026 in Jakarta time (WIB), as the tests write their days."""
    return datetime(2026, month, day, hour, minute, tzinfo=JAKARTA)
