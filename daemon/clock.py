"""The one source of "now" for the daemon and the CLI: `now()`, an aware datetime in UTC.

In production `now()` is `datetime.now(UTC)`. Code that needs the time calls
`daemon.clock.now` (or is handed it as its injected clock) and never reads the
real clock itself, so that the tests can move every part of caredesk to the
same instant. Only times that come from outside stay real: file modification
times (the settling of a changed rules.yaml, a Maildir mail's arrival) and
the mailbox server's INTERNALDATE are the file system's and the server's.

The pinned clock, for tests only
--------------------------------

When the environment has both

* ``CAREDESK_TESTING=1`` (exactly ``1``), and
* ``CAREDESK_TEST_CLOCK=<ISO-8601 instant>@<unix epoch seconds>``, for example
  ``2026-03-10T03:00:00+00:00@1767225600.25``,

the clock is pinned: the value means "at the real wall time <epoch> the clock
read <instant>", and `now()` is ``instant + (time.time() - epoch)``. A pinned
clock therefore keeps ticking at the normal rate, so backoffs, leases and
timeouts behave as usual, and every process given the same value (the test
and the daemons it starts) reads the same time. The instant must carry a UTC
offset (``Z`` or ``+07:00``); the epoch is a float, as `time.time()` gives it.

Without ``CAREDESK_TESTING=1`` the clock variable is ignored, so a stray
variable can never move a production daemon's clock. With the flag set, a
malformed value raises `ClockError` naming the variable and the expected form,
rather than silently running on the real clock.

The variables are read at each call, but a value is parsed only once per
process (the parse is cached by the variable's text): this keeps `now()` cheap
and still lets a test pin another instant by setting the variable again.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TESTING_VARIABLE = "CAREDESK_TESTING"
CLOCK_VARIABLE = "CAREDESK_TEST_CLOCK"
VARIABLES = (TESTING_VARIABLE, CLOCK_VARIABLE)
"""The environment variables of the pinned clock; they are not configuration settings."""

FORM = "<ISO-8601 instant with UTC offset>@<unix epoch seconds>"


class ClockError(ValueError):
    """CAREDESK_TEST_CLOCK is set, with CAREDESK_TESTING=1, but cannot be read."""


@dataclass(frozen=True, slots=True)
class Pin:
    """At the real wall time `epoch` (unix seconds) the pinned clock read `instant`."""

    instant: datetime
    epoch: float

    def at(self, wall: float) -> datetime:
        """What the pinned clock reads at the real wall time `wall`."""
        return self.instant + timedelta(seconds=wall - self.epoch)

    def encode(self) -> str:
        """The CAREDESK_TEST_CLOCK value for this pin."""
        return f"{self.instant.isoformat()}@{self.epoch!r}"


def encode(instant: datetime, epoch: float | None = None) -> str:
    """The CAREDESK_TEST_CLOCK value that makes the clock read `instant` now (or at `epoch`)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ClockError(f"{CLOCK_VARIABLE}: the instant {instant.isoformat()} has no UTC offset")
    return Pin(instant.astimezone(UTC), time.time() if epoch is None else epoch).encode()


def pin_from(environ: Mapping[str, str]) -> Pin | None:
    """The pin that `environ` sets, or None when the clock is the real one."""
    if environ.get(TESTING_VARIABLE) != "1":
        return None
    raw = environ.get(CLOCK_VARIABLE)
    if raw is None:
        return None
    return parse(raw)


@functools.lru_cache(maxsize=16)
def parse(raw: str) -> Pin:
    """Read a CAREDESK_TEST_CLOCK value; a malformed one raises `ClockError`."""
    instant_text, at, epoch_text = raw.strip().rpartition("@")
    if not at:
        raise ClockError(f"{CLOCK_VARIABLE}={raw!r}: expected {FORM}")
    try:
        instant = datetime.fromisoformat(instant_text)
    except ValueError:
        raise ClockError(
            f"{CLOCK_VARIABLE}={raw!r}: {instant_text!r} is not an ISO-8601 instant; expected {FORM}"
        ) from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ClockError(
            f"{CLOCK_VARIABLE}={raw!r}: the instant has no UTC offset (add Z or +07:00); expected {FORM}"
        )
    try:
        epoch = float(epoch_text)
    except ValueError:
        raise ClockError(
            f"{CLOCK_VARIABLE}={raw!r}: {epoch_text!r} is not a number of seconds; expected {FORM}"
        ) from None
    if not math.isfinite(epoch):
        raise ClockError(f"{CLOCK_VARIABLE}={raw!r}: the epoch must be a finite number; expected {FORM}")
    return Pin(instant.astimezone(UTC), epoch)


def now() -> datetime:
    """The current time, aware, in UTC: the real clock, or the pinned one under test."""
    pin = pin_from(os.environ)
    if pin is None:
        return datetime.now(UTC)
    return pin.at(time.time())
