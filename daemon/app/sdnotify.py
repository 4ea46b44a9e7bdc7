"""Telling systemd how the daemon is: the sd_notify protocol, in the standard library.

Under `Type=notify` systemd gives the service `$NOTIFY_SOCKET`, a unix datagram
socket named by a path or, written `@name`, by an abstract name; with
`WatchdogSec=` it adds `$WATCHDOG_USEC` (and `$WATCHDOG_PID`, the process
meant). `caredesk run` sends

* `READY=1` once the daemon is built (configuration checked, database reached
  and migrated), before the first poll, so a long backlog does not count as
  start-up;
* `WATCHDOG=1` at most every half of `$WATCHDOG_USEC`, and only from the work
  itself (see `LiveStop`): a daemon stuck in one place goes quiet, and systemd
  kills and restarts it;
* `STOPPING=1` when a stop begins (the first SIGTERM).

Without `$NOTIFY_SOCKET` every call does nothing. A message that cannot be sent
is logged once and never stops the daemon.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("caredesk.service")


def socket_address(value: str) -> str | None:
    """The `socket.sendto` address `$NOTIFY_SOCKET` names; None when it names none we can use."""
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]  # an abstract socket, which has no file
    if value.startswith("/"):
        return value
    return None


def watchdog_seconds(environ: Mapping[str, str]) -> float | None:
    """The watchdog timeout systemd set for this process, in seconds; None without one."""
    raw = environ.get("WATCHDOG_USEC", "")
    if not raw:
        return None
    pid = environ.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (we were started by the one it names)
    try:
        usec = int(raw)
    except ValueError:
        log.warning("WATCHDOG_USEC=%r is not a number of microseconds: no watchdog pings", raw)
        return None
    return usec / 1_000_000 if usec > 0 else None


class Notifier:
    """Sends the daemon's state to systemd; does nothing without a notification socket."""

    def __init__(
        self,
        address: str | None,
        watchdog: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        # Ping at half the timeout, as sd_watchdog_enabled(3) advises.
        self.watchdog_interval = watchdog / 2 if address is not None and watchdog else None
        self._monotonic = monotonic
        self._last_ping = float("-inf")
        self._stopping = False
        self._failed = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET", "")
        address = socket_address(raw) if raw else None
        if raw and address is None:
            log.warning("NOTIFY_SOCKET=%r is neither a path nor an @abstract name: systemd is not told", raw)
        return cls(address, watchdog_seconds(env) if address is not None else None)

    def send(self, *fields: str) -> bool:
        """One notification (`KEY=value` fields); False when there is no socket or it failed."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto("\n".join(fields).encode("utf-8"), self.address)
        except OSError as error:
            # Once at WARNING: the daemon works on; only systemd's view of it is lost.
            report = log.debug if self._failed else log.warning
            report("cannot notify systemd at %s: %s", self.address.replace("\0", "@"), error)
            self._failed = True
            return False
        return True

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")
        self._last_ping = self._monotonic()

    def alive(self) -> None:
        """A sign of life from the work: `WATCHDOG=1` when half the timeout has passed since the last."""
        if self.watchdog_interval is None:
            return
        now = self._monotonic()
        if now - self._last_ping >= self.watchdog_interval and self.send("WATCHDOG=1"):
            self._last_ping = now

    def stopping(self) -> None:
        """`STOPPING=1`, once, however often a stop is asked for."""
        if not self._stopping:
            self._stopping = True
            self.send("STOPPING=1", "STATUS=finishing the current mail, then stopping")

    def watched(self, stop: threading.Event) -> threading.Event:
        """`stop` itself without a watchdog; with one, a `LiveStop` over it."""
        return stop if self.watchdog_interval is None else LiveStop(stop, self)


class LiveStop(threading.Event):
    """The daemon's stop event, of which every look is a sign of life for the watchdog.

    The loop and its jobs look at the stop event between units of work (each
    batch, each mail, each outgoing row), and the idle loop waits on it. So the
    pings go out while the work goes on, a long backlog included, and stop when
    the daemon is stuck in one place: a hung connection, a deadlock. A thread of
    its own would ping through such a hang.

    Setting, clearing and waiting act on the event it wraps, so whoever holds
    that one (a signal handler, a test) stops the daemon as before.
    """

    def __init__(self, stop: threading.Event, notifier: Notifier) -> None:
        super().__init__()
        self._stop = stop
        self._notifier = notifier
        self._interval = notifier.watchdog_interval or 1.0

    def is_set(self) -> bool:
        self._notifier.alive()
        return self._stop.is_set()

    def set(self) -> None:
        self._stop.set()

    def clear(self) -> None:
        self._stop.clear()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait as `threading.Event.wait` does, pinging at least every half of the watchdog timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._notifier.alive()
            step = self._interval if deadline is None else min(self._interval, deadline - time.monotonic())
            if step <= 0:
                return self._stop.is_set()
            if self._stop.wait(step):
                return True
