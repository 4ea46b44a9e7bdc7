"""An auto-responder storm: a badly behaved robot mailbox answers every mail we send it.

The robot (a thread of the test) watches the SMTP sink; for every mail that
reaches robot@example.net it puts an out-of-office reply into our INBOX - with
no `Auto-Submitted`, no `Precedence`, a "Re: [CC-...]" subject, in one variant
without even an In-Reply-To, in another without the ticket reference either.
RFC 3834 alone cannot stop that loop; threading and the per-recipient limits
on automatic mail (3 an hour, then one "limit reached" notice) must
(reliability.md §2.5, scenario 23 of §7).
"""

from __future__ import annotations

import threading
import time
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from daemon import clock
from tests.faults.harness import (
    WAITING_STATES,
    Corpus,
    DaemonProcess,
    check_invariants,
    fault_config,
    kinds_of,
    sent_to,
    settled,
)
from tests.integration.helpers import CARE_ADDRESS, inbound, tickets
from tests.servers import Dovecot, SmtpSink

pytestmark = pytest.mark.integration

ROBOT = "robot@example.net"
# More replies than this and the loop is clearly not bounded: the robot stops.
ROBOT_LIMIT = 20
STORM_TIMEOUT = 120.0


class Robot(threading.Thread):
    """Answers every mail the sink received for ROBOT, by APPENDing a reply to our INBOX."""

    def __init__(self, sink: SmtpSink, dovecot: Dovecot, corpus: Corpus, *, style: str) -> None:
        super().__init__(name="auto-responder", daemon=True)
        self.sink, self.dovecot, self.corpus, self.style = sink, dovecot, corpus, style
        self.replies = 0
        self.stop = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        answered = 0
        try:
            while not self.stop.wait(0.1) and self.replies < ROBOT_LIMIT:
                mails = [r for r in self.sink.messages if ROBOT in r.rcpt_tos]
                for received in mails[answered:]:
                    self.dovecot.append(self._reply(received.message))
                    self.replies += 1
                answered = len(mails)
        except BaseException as error:  # reported by the test, not lost in a thread
            self.failure = error

    def _reply(self, original: EmailMessage) -> bytes:
        reply = EmailMessage(policy=policy.SMTP)
        reply["From"] = f"Gudang Otomatis <{ROBOT}>"
        reply["To"] = CARE_ADDRESS
        # The worst robots drop the ticket reference too: nothing ties the reply
        # to the ticket, only the per-recipient limits can stop the loop.
        untagged = self.style == "untagged"
        reply["Subject"] = "Kotak surat tidak dipantau" if untagged else f"Re: {original['Subject']}"
        reply["Date"] = format_datetime(clock.now())
        reply["Message-ID"] = f"<ooo-{self.replies}@robot.example.net>"
        if self.style == "threaded":
            reply["In-Reply-To"] = original["Message-ID"]
            reply["References"] = original["Message-ID"]
        reply.set_content(
            "Terima kasih atas email Anda. Kotak surat ini tidak dipantau;\n"
            "pesan Anda akan dibaca setelah tanggal 2 bulan depan.\n"
        )
        raw = reply.as_bytes(policy=policy.SMTP)
        return self.corpus.add_other(f"robot-{self.replies}", ROBOT, raw)


def _robot_mails(sink: SmtpSink) -> int:
    """How many mails the sink received for the robot (the robot answers each one)."""
    return sum(1 for received in sink.messages if ROBOT in received.rcpt_tos)


def _replies_recorded(database: str, replies: int) -> bool:
    """Whether each of the robot's first `replies` replies is in the database and done with."""
    wanted = {f"ooo-{n}@robot.example.net" for n in range(replies)}
    done = {
        (row.message_id or "").strip().strip("<>")
        for row in inbound(database)
        if row.state not in WAITING_STATES
    }
    return wanted <= done


def _storm_over(robot: Robot, sink: SmtpSink, database: str, dovecot: Dovecot) -> bool:
    """True when nothing of the storm is in flight any more, so nothing can start it again.

    The robot answered every mail it got, the daemon stored and processed every
    answer (INBOX empty, each reply recorded in a final state) and sent all it
    queued for them; the count of mails to the robot is read again last, so a
    mail that went out during these reads is not missed.
    """
    to_robot = _robot_mails(sink)
    replies = robot.replies
    return (
        replies == to_robot
        and settled(database, dovecot)
        and _replies_recorded(database, replies)
        and _robot_mails(sink) == to_robot
    )


def _wait_for_the_storm_to_end(robot: Robot, sink: SmtpSink, database: str, dovecot: Dovecot) -> float:
    """Block until the daemon has dealt with every reply of the robot; returns the seconds it took.

    A quiet interval is not enough: the daemon can be between two polls while a
    reply of the robot still waits in INBOX. What the test needs is the state
    in which every reply was stored and processed and every answer sent.
    """
    started = time.monotonic()
    while not _storm_over(robot, sink, database, dovecot):
        if robot.failure is not None:
            raise AssertionError(f"the robot failed: {robot.failure!r}")
        if robot.replies >= ROBOT_LIMIT or time.monotonic() - started > STORM_TIMEOUT:
            raise AssertionError(f"the loop did not stop: the robot replied {robot.replies} times")
        time.sleep(0.25)
    return time.monotonic() - started


@pytest.mark.parametrize("style", ["threaded", "bare", "untagged"])
def test_auto_responder_without_auto_submitted_cannot_start_a_mail_loop(
    style: str, tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    """threaded: "Re: [CC-...]" with In-Reply-To; bare: the same subject, no
    threading headers; untagged: neither, a subject of its own."""
    database = f"sqlite:///{tmp_path}/caredesk.db"
    corpus = Corpus()
    config = fault_config(tmp_path, database_url=database, mailbox_url=dovecot.url, smtp_url=smtp_sink.url)
    robot = Robot(smtp_sink, dovecot, corpus, style=style)
    dovecot.append(corpus.complaint("first", ROBOT))

    with DaemonProcess(config) as daemon:
        robot.start()
        try:
            storm_lasted = _wait_for_the_storm_to_end(robot, smtp_sink, database, dovecot)
        finally:
            robot.stop.set()
            robot.join(timeout=10)
        assert daemon.process.poll() is None
        assert daemon.terminate() == 0

    assert robot.failure is None, robot.failure
    to_robot = kinds_of(database, sent_to(smtp_sink, ROBOT))
    made = len(tickets(database))
    print(f"\nstorm ({style}): {to_robot} to the robot, {made} tickets, lasted {storm_lasted:.1f}s")
    assert to_robot.count("ack") <= 3, to_robot
    assert len(to_robot) <= 4, to_robot
    assert robot.replies == len(to_robot)
    check_invariants(corpus, database, dovecot, smtp_sink, final=True)
