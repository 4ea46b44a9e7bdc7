"""The wait between polls of several mailboxes (`daemon.fetch.watches`), on waiters of the test's own.

The waiters here stand in for `daemon.fetch.idle`'s (tested on their own in
test_idle.py and, on real servers, tests/integration/test_imap_idle.py): what is
tested is where each one runs, what it looks at, and what the loop is told.
"""

from __future__ import annotations

import threading
import time

from daemon.fetch.watches import Watches


class Scripted:
    """A waiter whose waits answer from a list (then False), recording the thread and the stop event."""

    def __init__(self, stop: threading.Event, answers: list[bool]) -> None:
        self.stop = stop
        self.answers = answers
        self.threads: set[str] = set()
        self.waits = 0
        self.closed = 0

    def wait(self, timeout: float) -> bool:
        self.threads.add(threading.current_thread().name)
        self.waits += 1
        if self.answers:
            return self.answers.pop(0)
        self.stop.wait(min(timeout, 0.05))
        return False

    def close(self) -> None:
        self.closed += 1


def _watches(answers: list[list[bool]], failing: set[int] | None = None) -> tuple[Watches, list[Scripted]]:
    made: list[Scripted] = []

    def make(index: int, stop: threading.Event) -> Scripted:
        made.append(Scripted(stop, answers[index]))
        return made[-1]

    stop = threading.Event()
    bad = failing if failing is not None else set()
    return Watches(len(answers), make, stop, lambda index: index in bad, step=0.05), made


def test_one_mailbox_is_watched_in_the_loops_own_thread_on_the_daemons_stop_event() -> None:
    watches, (waiter,) = _watches([[True, False]])
    assert waiter.stop is watches.stop
    assert watches.wait(1.0) == frozenset({0})
    assert watches.wait(0.1) == frozenset()
    assert waiter.threads == {threading.current_thread().name}


def test_one_failing_mailbox_is_not_watched() -> None:
    watches, (waiter,) = _watches([[True]], failing={0})
    assert watches.wait(0.1) == frozenset()
    assert waiter.waits == 0


def test_news_on_the_second_mailbox_wakes_the_loop_with_that_mailbox() -> None:
    watches, waiters = _watches([[False], [False, True]])
    try:
        started = time.monotonic()
        woken = watches.wait(5.0)
        assert woken == frozenset({1})
        assert time.monotonic() - started < 2.0
        # Each waiter in a thread of its own, none on the daemon's stop event (the watchdog's).
        assert all(w.stop is not watches.stop for w in waiters)
        assert len({name for w in waiters for name in w.threads}) == 2
        assert threading.current_thread().name not in waiters[0].threads | waiters[1].threads
        # What was told is not told again.
        assert watches.wait(0.2) == frozenset()
    finally:
        watches.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("caredesk-watch-")]
    assert [w.closed for w in waiters] == [1, 1]


def test_a_failing_mailbox_of_several_is_not_watched_while_the_others_are() -> None:
    watches, (good, bad) = _watches([[False, True], [True]], failing={1})
    try:
        assert watches.wait(5.0) == frozenset({0})
        assert good.waits >= 2
        assert bad.waits == 0
        assert bad.closed >= 1
    finally:
        watches.close()


def test_the_stop_event_ends_the_loops_wait_at_once() -> None:
    watches, _ = _watches([[False], [False]])
    try:
        watches.stop.set()
        started = time.monotonic()
        assert watches.wait(30.0) == frozenset()
        assert time.monotonic() - started < 1.0
    finally:
        watches.close()
