"""rules.yaml changed under a running `caredesk run`: the next mail is routed by the new
rules; an invalid change is refused, the admin gets one mail naming file:line:column,
and mail keeps being routed by the last good rules."""

from __future__ import annotations

import email
import email.policy
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from daemon.app.rules_reload import content_version
from daemon.store import db
from daemon.store.models import Ticket, TicketEvent
from tests import mailfactory
from tests.clockpin import daemon_environment
from tests.integration.helpers import tickets, write_config

pytestmark = pytest.mark.integration

ADMIN = "admin.caredesk@example.co.id"

RULES_A = """\
departments:
  - {id: customer-care, name: Customer Care, email: customercare@example.co.id}
  - {id: keuangan, name: Keuangan, email: keuangan@example.co.id}
default: {department: customer-care}
rules:
  - name: billing
    description: Invoices go to finance
    when: {subject_or_body: {words: [tagihan]}}
    then: {department: keuangan, tags: [billing]}
"""
RULES_B = (
    RULES_A
    + """\
  - name: kulkas
    description: Refrigerator complaints go to finance for a refund
    when: {subject_or_body: {words: [kulkas]}}
    then: {department: keuangan, tags: [kulkas]}
"""
)
# Rules B with one more rule whose regex does not compile (line 16, column 29).
RULES_BAD = (
    RULES_B
    + """\
  - name: invoice-number
    description: Invoice numbers
    when: {subject: {regex: 'INV-(\\d+'}}
    then: {tags: [invoice]}
"""
)


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = daemon_environment()
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config), "run"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError("caredesk did not stop within 30 s of SIGTERM") from None


def _wait(predicate: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; the log:\n{log.read_text()}")


def _mails_to(smtp_sink: Any, recipient: str) -> list[email.message.EmailMessage]:
    found = []
    for received in smtp_sink.messages:
        if recipient in (rcpt.lower() for rcpt in received.rcpt_tos):
            found.append(email.message_from_bytes(received.data, policy=email.policy.default))
    return found


def _routed_events(database_url: str) -> dict[int, str]:
    engine = db.make_engine(database_url)
    try:
        with db.session(engine) as session:
            events = session.execute(select(TicketEvent).where(TicketEvent.action == "routed")).scalars()
            return {event.ticket_id: event.reason for event in events}
    finally:
        engine.dispose()


def _by_sender(database_url: str) -> dict[str, Ticket]:
    return {ticket.customer_email: ticket for ticket in tickets(database_url)}


def test_rules_change_under_a_running_daemon(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_A, encoding="utf-8")
    version_a, version_b = content_version(RULES_A), content_version(RULES_B)
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        rules=rules,
        poll_interval=1,
        extra=f'admin_address = "{ADMIN}"',
    )
    log = tmp_path / "caredesk.log"
    process = _start(config, log)
    try:
        # complaint(1) is about a refrigerator (kulkas) that arrived broken.
        dovecot.append(mailfactory.complaint(1, sender="satu@example.net"))
        _wait(lambda: "satu@example.net" in _by_sender(database_url), 30, "the first ticket", log)

        rules.write_text(RULES_B, encoding="utf-8")
        _wait(lambda: f"-> {version_b}" in log.read_text(), 30, "rules B to be loaded", log)
        dovecot.append(mailfactory.complaint(1, sender="dua@example.net"))
        _wait(lambda: "dua@example.net" in _by_sender(database_url), 30, "the second ticket", log)

        rules.write_text(RULES_BAD, encoding="utf-8")
        _wait(lambda: "rules change refused" in log.read_text(), 30, "the refusal in the log", log)
        _wait(lambda: len(_mails_to(smtp_sink, ADMIN)) == 1, 30, "the admin's mail", log)
        dovecot.append(mailfactory.complaint(1, sender="tiga@example.net"))
        _wait(lambda: "tiga@example.net" in _by_sender(database_url), 30, "the third ticket", log)
        # A few more polls (one a second) over the same bad file: still one mail to the admin.
        time.sleep(3.5)
    finally:
        code = _stop(process)
    output = log.read_text()
    assert code == 0, output

    made = _by_sender(database_url)
    assert (made["satu@example.net"].department, made["satu@example.net"].rules_version) == (
        "customer-care",
        version_a,
    )
    assert (made["dua@example.net"].department, made["dua@example.net"].rules_version) == (
        "keuangan",
        version_b,
    )
    assert (made["tiga@example.net"].department, made["tiga@example.net"].rules_version) == (
        "keuangan",
        version_b,
    )
    # Each ticket's history names the rules version that routed it.
    routed = _routed_events(database_url)
    for ticket in made.values():
        assert routed[ticket.id or 0].startswith(f"rules {ticket.rules_version}: ")
    assert 'rule "kulkas"' in routed[made["dua@example.net"].id or 0]

    problem = (
        f"{rules}:16:29: error: rule invoice-number: "
        "bad regex 'INV-(\\d+': missing ), unterminated subpattern at position 4"
    )
    assert f"rules change refused: {problem}" in output
    assert f"version {version_b} stays in force" in output
    [alert] = _mails_to(smtp_sink, ADMIN)
    assert content_version(RULES_BAD) in alert["Subject"]
    assert alert["Auto-Submitted"] == "auto-generated"
    body = alert.get_body().get_content()  # type: ignore[union-attr]
    assert problem in body
    assert version_b in body
