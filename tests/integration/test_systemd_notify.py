"""`caredesk run` under `Type=notify`: READY=1, the watchdog pings, STOPPING=1, from the main process.

The notification socket is a real unix datagram socket bound in a temporary
folder, as systemd's /run/systemd/notify; the credentials the kernel attaches to
each datagram name the process that sent it (systemd's `NotifyAccess=main`
accepts only the main process).
"""

from __future__ import annotations

import array
import itertools
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon import clock as daemon_clock
from daemon.app.service import Daemon
from daemon.config import load_config
from tests import mailfactory
from tests.clockpin import daemon_environment
from tests.integration.helpers import PROJECT, write_config

pytestmark = pytest.mark.integration

WATCHDOG_USEC = 1_000_000  # one second: a ping every half second


class NotifySocket:
    """What systemd listens on: datagrams, each with its sender's pid."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(str(path))

    def receive(self, timeout: float) -> tuple[str, int, float] | None:
        """(message, sender pid, arrival time), or None after `timeout` seconds of silence."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        credentials = struct.calcsize("3i")
        data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(credentials))
        pid = -1
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = array.array("i", payload[:credentials])[0]
        return data.decode(), pid, time.monotonic()

    def until(self, wanted: str, timeout: float) -> list[tuple[str, int, float]]:
        """Every message up to and including the first that starts with `wanted`."""
        seen: list[tuple[str, int, float]] = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.receive(left)
            if message is None:
                break
            seen.append(message)
            if message[0].startswith(wanted):
                return seen
        raise AssertionError(f"no {wanted!r} within {timeout}s; got {[m[0] for m in seen]}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(tmp_path / "notify")
    try:
        yield listener
    finally:
        listener.close()


def _maildir_config(folder: Path) -> Path:
    (folder / "mail" / "new").mkdir(parents=True)
    return write_config(
        folder,
        database_url=f"sqlite:///{folder / 'caredesk.db'}",
        mailbox_url=f"maildir:{folder / 'mail'}",
        smtp_url=f"file:{folder / 'outbox'}",
    )


def _start(config: Path, notify: Path) -> subprocess.Popen[str]:
    env = daemon_environment() | {"NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    return subprocess.Popen(
        [sys.executable, "-m", "daemon", "--config", str(config), "run"],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        raise AssertionError("caredesk did not stop within 30 s of SIGTERM") from None
    return process.returncode, out


def test_run_says_ready_pings_the_watchdog_and_says_stopping_on_sigterm(
    tmp_path: Path, notify_socket: NotifySocket
) -> None:
    config = _maildir_config(tmp_path)
    (tmp_path / "mail" / "new" / "1.eml").write_bytes(mailfactory.complaint(sender="budi@example.net"))
    process = _start(config, notify_socket.path)
    try:
        before_ready = notify_socket.until("READY=1", 30)
        # Pings for three seconds: the idle loop waits on the stop event, half a second at a time.
        pings = _collect(notify_socket, 3.0)
        process.send_signal(signal.SIGTERM)
        stopping = notify_socket.until("STOPPING=1", 30)
        # One signal only: a second one while it exits would be "exit now" (1).
        process.wait(timeout=30)
    finally:
        code, output = _stop(process)
    assert code == 0, output

    ready = before_ready[-1]
    assert ready[0].startswith("READY=1\nSTATUS=polling maildir:"), ready
    assert all(pid == process.pid for _, pid, _ in [*before_ready, *pings, *stopping])
    assert Counter(m for m, _, _ in pings) == {"WATCHDOG=1": len(pings)}
    assert len(pings) >= 4, pings
    times = [ready[2]] + [at for _, _, at in pings]
    # Never silent for the whole timeout; not more than about twice a second either.
    assert max(b - a for a, b in itertools.pairwise(times)) < WATCHDOG_USEC / 1e6
    assert len(pings) <= 3.0 / 0.5 + 2
    assert stopping[-1][0].startswith("STOPPING=1")
    # The mail that waited was taken on after READY=1, and the daemon said so.
    assert "ticket CC-" in output and "caredesk stopped" in output


def _collect(listener: NotifySocket, seconds: float) -> list[tuple[str, int, float]]:
    seen = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        message = listener.receive(left)
        if message is not None:
            seen.append(message)
    return seen


class Stuck:
    """The poll, hanging (as on a connection without a timeout) until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self) -> Counter[str]:
        self.calls += 1
        if self.calls == 2:  # the first is the poll at start; the second, a second later, hangs
            self.entered.set()
            self.release.wait(10)
        return Counter()


def test_the_watchdog_goes_quiet_while_the_loop_is_stuck(
    tmp_path: Path, notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pinger thread of its own would go on through a hang; the daemon's pings come from its work."""
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_socket.path))
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    config = load_config(_maildir_config(tmp_path), environ={})
    stop = threading.Event()
    daemon = Daemon(config, clock=daemon_clock.now, stop=stop)  # pinned by the autouse fixture
    stuck = Stuck()
    monkeypatch.setattr(daemon, "run_once", stuck)
    loop = threading.Thread(target=daemon.run_forever, name="caredesk-loop")
    loop.start()
    try:
        notify_socket.until("READY=1", 10)
        assert stuck.entered.wait(10)
        while notify_socket.receive(0) is not None:
            pass  # sent before the hang began
        during: list[Any] = _collect(notify_socket, 2.5)
        stuck.release.set()
        after = notify_socket.until("WATCHDOG=1", 5)
    finally:
        stuck.release.set()
        stop.set()
        loop.join(30)
        daemon.close()
    assert not loop.is_alive()
    assert [m for m, _, _ in during if m == "WATCHDOG=1"] == []
    assert after[-1][0] == "WATCHDOG=1"
