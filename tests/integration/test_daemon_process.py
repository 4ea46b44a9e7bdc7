"""`caredesk run` as a real process: it polls on its interval, stops cleanly on
SIGTERM in the middle of a batch, and a restart finishes the job without duplicates."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests import mailfactory
from tests.clockpin import daemon_environment
from tests.integration.helpers import inbound, tickets, write_config

pytestmark = pytest.mark.integration


def _start(config: Path, *args: str) -> subprocess.Popen[bytes]:
    env = daemon_environment()
    return subprocess.Popen(
        [sys.executable, "-m", "daemon", "--config", str(config), "run", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _wait_for_output(process: subprocess.Popen[bytes], text: str, timeout: float) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if not ready:
            continue
        line = process.stdout.readline().decode("utf-8", "replace")
        if not line:
            break
        seen.append(line)
        if text in line:
            return
    raise AssertionError(f"caredesk never logged {text!r}; it said:\n{''.join(seen)}")


def _stop(process: subprocess.Popen[bytes], *, signalled: bool = False) -> tuple[int, str]:
    # A second SIGTERM means "exit now" to the daemon, so a test that has already
    # signalled it only waits here.
    if not signalled and process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        raise AssertionError("caredesk did not stop within 30 s of SIGTERM") from None
    return process.returncode, out.decode("utf-8", "replace")


def test_run_polls_the_mailbox_on_its_interval(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    config = write_config(
        tmp_path, database_url=database_url, mailbox_url=dovecot.url, smtp_url=smtp_sink.url
    )
    process = _start(config)
    try:
        dovecot.append(mailfactory.complaint(0, sender="first@example.net"))
        _wait(lambda: len(tickets(database_url)) == 1, 20, "the first ticket")
        dovecot.append(mailfactory.complaint(1, sender="second@example.net"))
        _wait(lambda: len(tickets(database_url)) == 2, 20, "the second ticket, on a later poll")
        smtp_sink.wait_for(4)
    finally:
        code, output = _stop(process)
    assert code == 0, output
    assert "caredesk stopped" in output


def test_sigterm_mid_batch_then_restart_gives_every_ticket_once(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    total = 200
    config = write_config(
        tmp_path, database_url=database_url, mailbox_url=dovecot.url, smtp_url=smtp_sink.url, batch_size=10
    )
    dovecot.append_many([mailfactory.complaint(n, sender=f"customer{n}@example.net") for n in range(total)])
    process = _start(config)
    signalled = False
    try:
        # Signal the moment the first batch of 10 is stored: the daemon is then in
        # the middle of its work, with 190 mails still to fetch.
        _wait_for_output(process, "stored 10 new", 30)
        process.send_signal(signal.SIGTERM)
        signalled = True
    finally:
        code, output = _stop(process, signalled=signalled)
    assert code == 0, output
    interrupted_at = len(tickets(database_url))
    assert interrupted_at < total, "SIGTERM came too late to interrupt the batch"

    restart = _start(config, "--once")
    code, output = _stop_when_done(restart)
    assert code == 0, output

    made = tickets(database_url)
    assert len(made) == total
    assert len({t.customer_email for t in made}) == total
    assert len({t.reference for t in made}) == total
    assert {row.state for row in inbound(database_url)} == {"processed"}
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == total
    acks = Counter(
        rcpt for received in smtp_sink.messages for rcpt in received.rcpt_tos if rcpt.endswith("@example.net")
    )
    assert len(acks) == total
    assert set(acks.values()) == {1}


def _stop_when_done(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    try:
        out, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        raise AssertionError("caredesk run --once did not finish in 120 s") from None
    return process.returncode, out.decode("utf-8", "replace")
