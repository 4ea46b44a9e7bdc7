"""The wait between polls: IMAP IDLE (and a Maildir's new/) wakes `caredesk run` when mail lands.

Each daemon here polls every 300 s, so a complaint acknowledged within a few
seconds was fetched because the watch woke the loop, not because a poll came
round. The servers are real: Dovecot (IDLE on by default, or hidden with
`imap_capability`) and aiosmtpd; the daemon is a real process with the pinned
clock (`daemon_environment`), which moves `daemon.clock.now` only: the waits
run on the monotonic clock.
"""

from __future__ import annotations

import functools
import itertools
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.config import load_config
from daemon.fetch.idle import ImapIdle
from daemon.fetch.imap import ImapMailbox
from tests import mailfactory
from tests.clockpin import daemon_environment
from tests.integration.helpers import PROJECT, tickets, write_config
from tests.integration.test_several_mailboxes import site
from tests.integration.test_systemd_notify import NotifySocket
from tests.servers import Dovecot, SmtpSink
from tests.servers.dovecot import DOVECOT_CAPABILITIES

pytestmark = pytest.mark.integration

LONG_POLL = 300
"""Seconds between polls: far beyond every bound below, so only a wake-up explains a fast answer."""
PROMPT = 15.0
"""How long a woken daemon may take to fetch, process and answer a mail (it takes about a second)."""
IDLING = "waiting in IDLE on"


class Running:
    """`caredesk run` as a subprocess, its output in a file the test can read at any time."""

    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daemon", "--config", str(config), "run"],
                env=env or daemon_environment(),
                cwd=PROJECT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_line(self, text: str, timeout: float = 30.0, count: int = 1) -> None:
        _wait(lambda: self.output().count(text) >= count, timeout, f"{text!r} in the log:\n{self.output()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"caredesk did not stop within 30 s of SIGTERM:\n{self.output()}") from None


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def run(config: Path, env: dict[str, str] | None = None) -> Running:
        daemon = Running(config, tmp_path / f"daemon{len(started)}.log", env)
        started.append(daemon)
        return daemon

    yield run
    for daemon in started:
        daemon.stop()


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _acknowledged(sink: SmtpSink, customer: str) -> bool:
    return any(customer in received.rcpt_tos for received in sink.messages)


def _complain(dovecot: Dovecot, sink: SmtpSink, n: int) -> None:
    customer = f"customer{n}@example.net"
    dovecot.append(mailfactory.complaint(n, sender=customer))
    _wait(lambda: _acknowledged(sink, customer), PROMPT, f"the acknowledgement to {customer}")


def test_idle_wakes_the_daemon_and_the_acknowledgement_goes_out_at_once(
    tmp_path: Path, database_url: str, dovecot: Dovecot, smtp_sink: SmtpSink, start: Any
) -> None:
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        poll_interval=LONG_POLL,
    )
    daemon = start(config)
    daemon.wait_for_line(IDLING)
    # The first may still meet a poll of the start; the second only the IDLE wake-up.
    _complain(dovecot, smtp_sink, 0)
    _complain(dovecot, smtp_sink, 1)
    assert len(tickets(database_url)) == 2
    assert dovecot.count("INBOX") == 0
    assert daemon.stop() == 0
    assert "caredesk stopped" in daemon.output()


def test_a_server_without_idle_is_polled_on_the_interval(
    tmp_path: Path, database_url: str, smtp_sink: SmtpSink, start: Any
) -> None:
    without_idle = [name for name in DOVECOT_CAPABILITIES if name != "IDLE"]
    with Dovecot(capabilities=without_idle, rawlog=True) as dovecot:
        config = write_config(
            tmp_path, database_url=database_url, mailbox_url=dovecot.url, smtp_url=smtp_sink.url
        )
        daemon = start(config)
        daemon.wait_for_line("does not offer IDLE: polling every 1s")
        _complain(dovecot, smtp_sink, 0)
        _complain(dovecot, smtp_sink, 1)
        assert daemon.stop() == 0
        commands = dovecot.client_commands()
    assert not [command for command in commands if command.upper().startswith("IDLE")]
    assert IDLING not in daemon.output()


def test_idle_false_keeps_plain_polling(
    tmp_path: Path, database_url: str, smtp_sink: SmtpSink, start: Any
) -> None:
    with Dovecot(rawlog=True) as dovecot:
        config = write_config(
            tmp_path,
            database_url=database_url,
            mailbox_url=dovecot.url,
            smtp_url=smtp_sink.url,
        )
        config.write_text(config.read_text().replace("[mailbox]\n", "[mailbox]\nidle = false\n"))
        daemon = start(config)
        daemon.wait_for_line("caredesk running")
        _complain(dovecot, smtp_sink, 0)
        assert daemon.stop() == 0
        commands = dovecot.client_commands()
    assert not [command for command in commands if command.upper().startswith("IDLE")]


def test_sigterm_during_idle_stops_the_daemon_promptly(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink, start: Any
) -> None:
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'caredesk.db'}",
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        poll_interval=LONG_POLL,
    )
    daemon = start(config)
    daemon.wait_for_line(IDLING)
    time.sleep(1.5)  # well into the IDLE, past the polls of the start
    daemon.process.send_signal(signal.SIGTERM)
    # Bounded far below the poll interval: the IDLE wait looks at the stop event every second.
    code = daemon.process.wait(timeout=10)
    assert code == 0, daemon.output()
    assert "caredesk stopped" in daemon.output()


def test_a_lost_idle_connection_is_opened_again(
    tmp_path: Path, database_url: str, dovecot: Dovecot, smtp_sink: SmtpSink, start: Any
) -> None:
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        poll_interval=LONG_POLL,
    )
    daemon = start(config)
    daemon.wait_for_line(IDLING)
    time.sleep(1.5)  # in IDLE, past the polls of the start
    dovecot.restart()  # every connection dropped, the same port and mail
    daemon.wait_for_line("IDLE on")
    daemon.wait_for_line(IDLING, count=2)
    _complain(dovecot, smtp_sink, 0)
    _complain(dovecot, smtp_sink, 1)
    assert daemon.process.poll() is None
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.output()


def test_a_file_in_a_maildirs_new_folder_wakes_the_daemon(tmp_path: Path, start: Any) -> None:
    maildir = tmp_path / "mail"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'caredesk.db'}",
        mailbox_url=f"maildir:{maildir}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
        poll_interval=LONG_POLL,
    )
    daemon = start(config)
    daemon.wait_for_line("caredesk running")
    for n in (1, 2):
        # A delivery as an MTA makes it: written in tmp/, renamed into new/.
        written = maildir / "tmp" / f"{n}.eml"
        written.write_bytes(mailfactory.complaint(n, sender=f"customer{n}@example.net"))
        written.rename(maildir / "new" / f"{n}.eml")
        answered = functools.partial(_answered, tmp_path / "outbox", f"customer{n}@example.net".encode())
        _wait(answered, PROMPT, f"the acknowledgement {n}")
    assert daemon.stop() == 0


def _answered(outbox: Path, customer: bytes) -> bool:
    """Whether a mail to `customer` is among the `.eml` files of the file outbox."""
    return outbox.is_dir() and any(customer in path.read_bytes() for path in outbox.glob("*.eml"))


def test_the_watchdog_is_fed_while_the_daemon_waits_in_idle(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink, start: Any
) -> None:
    listener = NotifySocket(tmp_path / "notify")
    try:
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path / 'caredesk.db'}",
            mailbox_url=dovecot.url,
            smtp_url=smtp_sink.url,
            poll_interval=LONG_POLL,
        )
        # One second: a ping every half second, so the IDLE wait looks at the stop event that often.
        env = daemon_environment() | {"NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": "1000000"}
        daemon = start(config, env)
        listener.until("READY=1", 30)
        daemon.wait_for_line(IDLING)
        time.sleep(1.0)  # the polls of the start are over
        while listener.receive(0) is not None:
            pass
        pings = []
        deadline = time.monotonic() + 3.0
        while (left := deadline - time.monotonic()) > 0:
            message = listener.receive(left)
            if message is not None:
                pings.append(message)
        assert daemon.stop() == 0
    finally:
        listener.close()
    assert {message for message, _, _ in pings} == {"WATCHDOG=1"}
    times = [at for _, _, at in pings]
    assert len(times) >= 4, pings
    # Never silent for the whole timeout while idling.
    assert max(b - a for a, b in itertools.pairwise(times)) < 1.0


# -- the waiter itself, against a real Dovecot -----------------------------------------


def _idle_waiter(tmp_path: Path, dovecot: Dovecot, *, reissue: float) -> ImapIdle:
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'caredesk.db'}",
        mailbox_url=dovecot.url,
        smtp_url=f"file:{tmp_path / 'outbox'}",
    )
    settings = load_config(config, environ={}).mailbox
    return ImapIdle(ImapMailbox(settings), threading.Event(), reissue=reissue)


def test_idle_is_begun_again_and_our_own_moves_do_not_wake_it(tmp_path: Path) -> None:
    with Dovecot(rawlog=True) as dovecot:
        dovecot.create_folder("Processed")
        waiter = _idle_waiter(tmp_path, dovecot, reissue=0.4)
        try:
            assert waiter.wait(5) is True  # a new watch: poll once for what came before it
            assert waiter.idling
            assert waiter.wait(1.5) is False  # nothing came; IDLE ended and begun again meanwhile
            dovecot.append(mailfactory.complaint(0))
            assert waiter.wait(PROMPT) is True
            # Our own poll moves the mail out: EXPUNGE and "0 RECENT" are not new mail.
            with dovecot.connection() as client:
                client.select_folder("INBOX")
                client.move(client.search("ALL"), "Processed")
            assert waiter.wait(1.5) is False
            dovecot.append(mailfactory.complaint(1))
            assert waiter.wait(PROMPT) is True
        finally:
            waiter.close()
        assert not waiter.idling
        commands = [command.upper() for command in dovecot.client_commands()]
    assert commands.count("IDLE") >= 3, commands
    assert "DONE" in commands and "LOGOUT" in commands


def test_mail_that_lands_while_nobody_idles_is_seen_when_idle_begins_again(tmp_path: Path) -> None:
    with Dovecot() as dovecot:
        waiter = _idle_waiter(tmp_path, dovecot, reissue=0.2)
        try:
            assert waiter.wait(5) is True
            # Not waiting now (the loop is polling): the server keeps the news for the next IDLE.
            dovecot.append(mailfactory.complaint(0))
            time.sleep(0.8)
            assert waiter.wait(PROMPT) is True
        finally:
            waiter.close()


def test_every_mailbox_of_several_wakes_the_daemon(
    tmp_path: Path, database_url: str, dovecot: Dovecot, smtp_sink: SmtpSink, start: Any
) -> None:
    """`[[mailbox]]`: IDLE on the second mailbox wakes the loop as fast as on the first."""
    with Dovecot(user="recap", password="recappass") as recap:
        config = site(tmp_path, database_url, dovecot, recap, smtp_sink.url, polls=(LONG_POLL, LONG_POLL))
        daemon = start(config)
        daemon.wait_for_line(IDLING, count=2)
        _complain(recap, smtp_sink, 10)
        _complain(recap, smtp_sink, 11)
        _complain(dovecot, smtp_sink, 12)
        assert len(tickets(database_url)) == 3
        assert recap.count("INBOX") == 0
        assert dovecot.count("INBOX") == 0
        assert daemon.stop() == 0
        assert "caredesk stopped" in daemon.output()
