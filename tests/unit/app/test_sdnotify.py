"""The sd_notify protocol: what reaches a real unix datagram socket, and when."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.app.sdnotify import LiveStop, Notifier, socket_address, watchdog_seconds


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound in a temporary folder, as systemd's /run/systemd/notify."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify"
    sock.bind(str(path))
    sock.settimeout(2)
    try:
        yield sock, str(path)
    finally:
        sock.close()


def _pending(sock: socket.socket) -> list[str]:
    messages = []
    sock.setblocking(False)
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except BlockingIOError:
        return messages
    finally:
        sock.settimeout(2)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_ready_and_stopping_reach_the_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": path})
    notifier.ready("polling maildir:/srv/mail")
    assert sock.recv(4096).decode() == "READY=1\nSTATUS=polling maildir:/srv/mail"
    notifier.stopping()
    notifier.stopping()  # a second signal says nothing new
    assert _pending(sock) == ["STOPPING=1\nSTATUS=finishing the current mail, then stopping"]


def test_an_abstract_socket_is_named_with_an_at_sign() -> None:
    name = f"caredesk-test-{secrets.token_hex(6)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        Notifier.from_environment({"NOTIFY_SOCKET": "@" + name}).ready("up")
        assert sock.recv(4096).startswith(b"READY=1\n")


def test_watchdog_pings_at_half_the_timeout_and_not_more_often(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    ticks = Ticks()
    notifier = Notifier(path, watchdog=10.0, monotonic=ticks)
    assert notifier.watchdog_interval == 5.0
    notifier.ready("up")
    _pending(sock)
    for step in (1.0, 2.0, 1.9):  # 4.9 s after READY=1: not yet
        ticks.now += step
        notifier.alive()
    assert _pending(sock) == []
    ticks.now += 0.1
    notifier.alive()
    notifier.alive()
    assert _pending(sock) == ["WATCHDOG=1"]
    ticks.now += 5.0
    notifier.alive()
    assert _pending(sock) == ["WATCHDOG=1"]


def test_without_notify_socket_nothing_is_sent_and_the_stop_event_is_left_alone() -> None:
    notifier = Notifier.from_environment({"WATCHDOG_USEC": "1000000"})
    assert notifier.address is None and notifier.watchdog_interval is None
    assert notifier.send("READY=1") is False
    stop = threading.Event()
    assert notifier.watched(stop) is stop


def test_watchdog_settings_that_are_not_ours_or_not_numbers_give_no_watchdog() -> None:
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 30.0
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}) is None
    assert watchdog_seconds({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_seconds({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_seconds({}) is None


def test_socket_addresses() -> None:
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@sd-notify") == "\0sd-notify"
    assert socket_address("relative/notify") is None
    assert socket_address("@") is None


def test_a_socket_nobody_listens_on_is_reported_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier(str(tmp_path / "gone"), watchdog=1.0)
    with caplog.at_level("DEBUG", logger="caredesk.service"):
        notifier.ready("up")
        notifier.alive()
        notifier.stopping()
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "cannot notify systemd" in warnings[0].getMessage()


def test_live_stop_pings_on_each_look_and_while_it_waits(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier(path, watchdog=0.2)  # a ping every 0.1 s
    inner = threading.Event()
    stop = notifier.watched(inner)
    assert isinstance(stop, LiveStop)

    started = time.monotonic()
    assert stop.wait(0.55) is False
    assert 0.5 <= time.monotonic() - started < 1.5
    # One ping on entry, then one per 0.1 s slice: a 0.55 s wait is never silent for long.
    assert len(_pending(sock)) >= 5

    time.sleep(0.15)
    assert stop.is_set() is False
    assert _pending(sock) == ["WATCHDOG=1"]

    # Setting the wrapped event (a signal handler, a test) is seen at once, and the other way round.
    threading.Timer(0.1, inner.set).start()
    assert stop.wait(5) is True
    assert stop.is_set()
    stop.clear()
    assert not inner.is_set()
    stop.set()
    assert inner.is_set()
