"""The wait between polls for every mailbox of `[[mailbox]]` at once: which ones may have new mail.

One mailbox: its waiter (`daemon.fetch.idle.watch`) runs in the loop's own
thread, as it always has, and a mailbox whose polls fail is not watched (the
poll's backoff decides when to try it again).

Several mailboxes: each waiter runs in a thread of its own, so an IMAP IDLE on
the second mailbox wakes the loop as fast as one on the first. A thread that
sees news records its mailbox and wakes the loop, which polls the mailboxes that
woke at once, even when their own `poll_interval` is longer than the loop's.
A mailbox whose polls are failing is not watched until a poll works again.

The watch threads do not look at the daemon's stop event: with systemd's
watchdog each look at it is a sign of life (`daemon.app.sdnotify.LiveStop`), and
only the loop itself may give one. They stop on an event of their own, which
`close` sets (and the loop's wait sets when it sees the stop); `close` then
waits for them before it ends their connections.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence

from daemon.fetch.idle import STEP_SECONDS, Waiter

log = logging.getLogger("caredesk.idle")

THREAD_WAIT_SECONDS = 30.0
"""How long one wait of a watch thread lasts before it looks at its mailbox's state again."""
JOIN_SECONDS = 10.0
"""How long `close` waits for each watch thread to end its current look (a step, or a read timeout)."""


class Watches:
    """The waiters of every mailbox, in the order of the configuration.

    `make(index, stop)` builds the waiter of mailbox `index` on the stop event
    it is given; `failing(index)` says whether that mailbox's polls are failing.
    """

    def __init__(
        self,
        count: int,
        make: Callable[[int, threading.Event], Waiter],
        stop: threading.Event,
        failing: Callable[[int], bool],
        *,
        step: float | None = None,
    ) -> None:
        self.stop = stop
        self.failing = failing
        self.step = min(STEP_SECONDS, step) if step else STEP_SECONDS
        """How often the loop's wait looks at the stop event (systemd's watchdog interval, at most 1 s)."""
        self._halt = threading.Event()
        """Set by `close`: the watch threads end (several mailboxes only)."""
        events = [stop] if count == 1 else [self._halt] * count
        self.waiters: Sequence[Waiter] = [make(index, events[index]) for index in range(count)]
        self._news = threading.Event()
        self._woken: set[int] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def wait(self, timeout: float) -> frozenset[int]:
        """Wait at most `timeout` seconds; the indexes of the mailboxes that may have new mail."""
        if len(self.waiters) == 1:
            if self.failing(0):
                self.stop.wait(max(0.0, timeout))
                return frozenset()
            return frozenset({0}) if self.waiters[0].wait(timeout) else frozenset()
        if not self._threads:
            self._start_threads()
        deadline = time.monotonic() + max(0.0, timeout)
        while not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if self._news.wait(min(self.step, max(0.0, remaining))) or remaining <= 0:
                break
        with self._lock:
            woken, self._woken = frozenset(self._woken), set()
            self._news.clear()
        return woken

    def close(self) -> None:
        """End the watch threads, then let go of every waiter's connection; waiting again starts afresh."""
        self._halt.set()
        for thread in self._threads:
            thread.join(JOIN_SECONDS)
        self._threads = []
        for waiter in self.waiters:
            with contextlib.suppress(Exception):
                waiter.close()
        self._halt.clear()

    def _start_threads(self) -> None:
        for index, waiter in enumerate(self.waiters):
            thread = threading.Thread(
                target=self._watch, args=(index, waiter), name=f"caredesk-watch-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _watch(self, index: int, waiter: Waiter) -> None:
        """One mailbox's watch thread: wait, record news, again, until `close`."""
        while not self._halt.is_set():
            if self.failing(index):
                # A failing mailbox's poll backs off on its own; watching it would only fail as well.
                with contextlib.suppress(Exception):
                    waiter.close()
                self._halt.wait(self.step)
                continue
            try:
                woke = waiter.wait(THREAD_WAIT_SECONDS)
            except Exception as error:  # a waiter handles its own errors; this keeps the thread alive
                log.warning("watch of mailbox %d failed (%s: %s)", index + 1, type(error).__name__, error)
                self._halt.wait(self.step)
                continue
            if woke:
                with self._lock:
                    self._woken.add(index)
                    self._news.set()
