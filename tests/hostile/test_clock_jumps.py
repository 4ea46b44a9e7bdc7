"""A clock that jumps sends no periodic mail until an admin confirms it; a wrong report can be re-issued.

Issue 16 point 10: a 40-day forward jump of the system clock sent 27 SLA and
report mails and a monthly report with 3 of 8 tickets, which then stood as the
month's report. The real daemon runs here on an injected clock against a
Maildir, a real SMTP server (aiosmtpd) and SQLite and PostgreSQL; the admin's
commands (`caredesk clock confirm`, `caredesk report monthly --resend`) run
through the command line on the pinned clock.
"""

from __future__ import annotations

import email
import email.policy
import io
import logging
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.report.mailing import REPORT_KIND, report_recipients
from daemon.route.loader import load_rules
from daemon.store.models import JobClaim, OperationEvent
from daemon.store.vocabulary import Operation, OutboundKind
from tests import mailfactory
from tests.clockpin import SteppedClock, config_variables, pin_clock, wib
from tests.integration.helpers import PROJECT, outbound, run_cli, table, tickets, write_config

pytestmark = pytest.mark.integration

RULES = load_rules(PROJECT / "rules.yaml")
ADMIN = "admin.caredesk@example.net"
PERIODIC_KINDS = {
    OutboundKind.SLA_REMINDER,
    OutboundKind.SLA_ESCALATION,
    OutboundKind.MONTHLY_REPORT,
    OutboundKind.RESULTS_REMINDER,
    OutboundKind.RECAP_REMINDER,
    OutboundKind.RECAP_MISSING,
}
NO_GUARD = "[periodic]\nmax_clock_forward_hours = 0\nmax_clock_backward_minutes = 0\n"
"""A site that switched the check off: how every site behaved before it existed."""


def _desk(tmp_path: Path, database_url: str, smtp_sink: Any, *, extra: str = "") -> dict[str, Any]:
    maildir = tmp_path / "mail"
    (maildir / "new").mkdir(parents=True)
    path = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{maildir}",
        smtp_url=smtp_sink.url,
        extra=f'admin_address = "{ADMIN}"\n{extra}',
    )
    return {
        "path": path,
        "config": load_config(path),
        "maildir": maildir,
        "url": database_url,
        "sink": smtp_sink,
    }


@pytest.fixture
def desk(
    tmp_path: Path, database_url: str, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    for name in config_variables():
        monkeypatch.delenv(name)
    yield _desk(tmp_path, database_url, smtp_sink)


def _complaint(desk: dict[str, Any], n: int, arrived: datetime) -> None:
    raw = mailfactory.complaint(n, sender=f"pelanggan{n}@example.net", name=f"Pelanggan {n}")
    path = desk["maildir"] / "new" / f"{n}.eml"
    path.write_bytes(raw)
    os.utime(path, (arrived.timestamp(), arrived.timestamp()))


def _periodic_mail(url: str) -> list[tuple[str, str]]:
    return [(m.kind, m.recipient) for m in outbound(url) if m.kind in PERIODIC_KINDS]


def _alerts(url: str) -> list[Any]:
    return [m for m in outbound(url) if m.kind == OutboundKind.OPS_ALERT]


def _held_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.ERROR and r.getMessage().startswith("periodic jobs held")
    ]


def test_a_forty_day_jump_sends_no_periodic_mail_until_an_admin_confirms_the_clock(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: Any
) -> None:
    url = desk["url"]
    clock = SteppedClock(wib(10, 14, 10))  # Wednesday 14 October
    for n in (1, 2, 3):
        _complaint(desk, n, clock.now)
    with caplog.at_level(logging.INFO, logger="caredesk"), Daemon(desk["config"], clock=clock) as daemon:
        daemon.run_once()
        assert len(tickets(url)) == 3 and _periodic_mail(url) == []

        # The clock jumps 40 days ahead: the SLA ladder would escalate all three, and
        # October's report would go out to Customer Care and every general manager.
        clock.now = wib(11, 23, 10)
        _complaint(desk, 4, clock.now)
        counts = [daemon.run_once() for _ in range(3)]
        for minute in range(1, 4):
            clock.now = wib(11, 23, 10, minute)
            counts.append(daemon.run_once())
            daemon._periodic_and_deliver()
            daemon.run_recap_deadlines()

    assert _periodic_mail(url) == []
    assert all(count["periodic_held"] >= 1 for count in counts)
    # Mail intake and tickets go on: the complaint that came during the jump is a ticket,
    # acknowledged and sent to its department.
    assert len(tickets(url)) == 4
    fourth = tickets(url)[-1]
    kinds = [m.kind for m in outbound(url) if m.ticket_id == fourth.id]
    assert OutboundKind.ACKNOWLEDGEMENT in kinds and OutboundKind.NOTICE in kinds
    # One ERROR line, not one a minute; one mail to the admin, delivered.
    [line] = _held_lines(caplog)
    assert "40 days forward" in line and "[periodic] max_clock_forward_hours" in line
    assert "caredesk clock confirm" in line
    [alert] = _alerts(url)
    assert alert.recipient == ADMIN and alert.state == "sent"
    message = email.message_from_bytes(alert.raw, policy=email.policy.default)
    assert "periodic jobs held" in str(message["Subject"])
    body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "40 days forward" in body and "caredesk clock confirm" in body

    # A restarted daemon is still held, says so once, and does not mail the admin again.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="caredesk"), Daemon(desk["config"], clock=clock) as restarted:
        restarted.run_once()
        restarted.run_once()
        # NTP puts the clock right again: still held until a person has looked.
        clock.now = wib(10, 14, 10, 30)
        restarted.run_once()
    assert len(_held_lines(caplog)) == 1
    assert _periodic_mail(url) == [] and len(_alerts(url)) == 1

    pin_clock(monkeypatch, wib(10, 14, 10, 31))
    capsys.readouterr()
    assert run_cli("--config", str(desk["path"]), "clock", "status") == 0
    assert "HELD since" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # --reason is required
        run_cli("--config", str(desk["path"]), "clock", "confirm")
    capsys.readouterr()
    assert (
        run_cli("--config", str(desk["path"]), "clock", "confirm", "--reason", "NTP fixed, clock right") == 0
    )
    assert "hold lifted" in capsys.readouterr().out

    # The jobs run again on the right clock: the first responses become due on Thursday.
    with Daemon(desk["config"], clock=clock) as daemon:
        clock.now = wib(10, 14, 10, 32)
        assert "periodic_held" not in daemon.run_once()
        clock.now = wib(10, 15, 15, 30)  # two working hours before they are due
        daemon.run_once()
        clock.now = wib(10, 16, 10)  # breached
        daemon.run_once()
    sla = [kind for kind, _ in _periodic_mail(url)]
    assert OutboundKind.SLA_REMINDER in sla and OutboundKind.SLA_ESCALATION in sla
    assert OutboundKind.MONTHLY_REPORT not in sla
    events = table(url, OperationEvent)
    assert [(e.action, e.subject) for e in events] == [
        (Operation.CLOCK_HELD, "clock"),
        (Operation.CLOCK_CONFIRMED, "clock"),
    ]
    assert "40 days forward" in events[0].reason
    assert events[1].reason == "NTP fixed, clock right" and events[1].actor


def test_a_step_back_holds_the_jobs_too(desk: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    url = desk["url"]
    clock = SteppedClock(wib(10, 14, 10))
    _complaint(desk, 1, clock.now)
    with caplog.at_level(logging.INFO, logger="caredesk"), Daemon(desk["config"], clock=clock) as daemon:
        daemon.run_once()
        clock.now = wib(10, 14, 9, 55)  # five minutes back: another host's clock, allowed
        assert "periodic_held" not in daemon.run_once()
        clock.now = wib(10, 12, 10)  # two days back: a restored snapshot, a dead battery
        assert daemon.run_once()["periodic_held"] >= 1
        clock.now = wib(10, 16, 10)  # and forward again, past every due date: still held
        daemon.run_once()
    assert _periodic_mail(url) == []
    [line] = _held_lines(caplog)
    assert "2 days backward" in line and "[periodic] max_clock_backward_minutes" in line
    assert len(_alerts(url)) == 1


def test_two_daemons_on_one_database_place_one_hold_and_mail_the_admin_once(
    desk: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    url = desk["url"]
    clock = SteppedClock(wib(10, 14, 10))
    _complaint(desk, 1, clock.now)
    with caplog.at_level(logging.INFO, logger="caredesk"):
        first, second = Daemon(desk["config"], clock=clock), Daemon(desk["config"], clock=clock)
        try:
            first.run_once()
            clock.now = wib(11, 23, 10)
            for _ in range(3):
                assert first.run_periodic()["periodic_held"] == 1
                assert second.run_periodic()["periodic_held"] == 1
            first.deliver()
        finally:
            first.close()
            second.close()
    assert _periodic_mail(url) == []
    assert len(_alerts(url)) == 1
    assert [e.action for e in table(url, OperationEvent)] == [Operation.CLOCK_HELD]
    assert len(_held_lines(caplog)) == 2  # once by each process


def test_a_daemon_stopped_over_a_long_holiday_starts_without_a_hold_once_the_admin_confirmed(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    url = desk["url"]
    clock = SteppedClock(wib(10, 14, 10))
    _complaint(desk, 1, clock.now)
    with Daemon(desk["config"], clock=clock) as daemon:
        daemon.run_once()
    # Ten days later the server is started again; the admin confirms first.
    clock.now = wib(10, 24, 9)
    pin_clock(monkeypatch, clock.now)
    assert (
        run_cli("--config", str(desk["path"]), "clock", "confirm", "--reason", "back from the holiday") == 0
    )
    assert "were not held" in capsys.readouterr().out
    with Daemon(desk["config"], clock=clock) as daemon:
        counts = daemon.run_once()
    assert "periodic_held" not in counts
    assert {kind for kind, _ in _periodic_mail(url)} >= {OutboundKind.SLA_ESCALATION}
    assert _alerts(url) == []


def _delivered(sink: Any, recipient: str) -> list[EmailMessage]:
    found = []
    for received in sink.messages:
        if recipient in received.rcpt_tos:
            message = email.message_from_bytes(received.data, policy=email.policy.default)
            if "Laporan keluhan pelanggan" in str(message["Subject"]):
                found.append(message)  # type: ignore[arg-type]
    return found


def _register_rows(message: EmailMessage) -> int:
    [attachment] = list(message.iter_attachments())
    workbook = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))
    return int(workbook["Daftar Induk"].max_row) - 1


def test_a_report_sent_under_a_jumped_clock_is_re_issued_with_the_reason_on_record(
    tmp_path: Path,
    database_url: str,
    smtp_sink: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    for name in config_variables():
        monkeypatch.delenv(name)
    desk = _desk(tmp_path, database_url, smtp_sink, extra=NO_GUARD)
    url, care = desk["url"], "customercare@example.co.id"
    clock = SteppedClock(wib(10, 14, 10))
    for n in (1, 2, 3):
        _complaint(desk, n, clock.now)
    with Daemon(desk["config"], clock=clock) as daemon:
        daemon.run_once()
        clock.now = wib(11, 23, 10)  # the jump, on a site without the check
        daemon.run_once()
        clock.now = wib(10, 14, 11)  # put right
        daemon.run_once()
        for n in (4, 5, 6, 7, 8):
            clock.now = wib(10, 20, 9, n)
            _complaint(desk, n, clock.now)
            daemon.run_once()
        clock.now = wib(11, 5, 9)  # the report's day: October was reported already
        daemon.run_once()
    [first] = _delivered(desk["sink"], care)
    assert _register_rows(first) == 3 and len(tickets(url)) == 8
    recipients = report_recipients(RULES)

    pin_clock(monkeypatch, wib(11, 5, 10))
    config = str(desk["path"])
    assert run_cli("--config", config, "report", "monthly", "--month", "2026-10", "--resend") == 1
    assert "--reason" in capsys.readouterr().err
    assert (
        run_cli("--config", config, "report", "monthly", "--month", "2026-11", "--resend", "--reason", "x")
        == 1
    )
    assert "2026-11 is not over" in capsys.readouterr().err
    reason = "the clock jumped 40 days: the first report had 3 of 8 tickets"
    assert (
        run_cli("--config", config, "report", "monthly", "--month", "2026-10", "--resend", "--reason", reason)
        == 0
    )
    out = capsys.readouterr().out
    assert out.count("re-sent to") == len(recipients) and reason in out

    [_, again] = _delivered(desk["sink"], care)
    assert str(again["Subject"]).startswith("[Dikirim ulang / Re-issued] Laporan keluhan pelanggan")
    assert reason in again.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert _register_rows(again) == 8
    for recipient in recipients:
        assert len(_delivered(desk["sink"], recipient.address)) == 2

    events = [e for e in table(url, OperationEvent) if e.action == Operation.REPORT_RESENT]
    assert sorted(e.subject for e in events) == sorted(f"report/2026-10/{r.address}" for r in recipients)
    assert all(e.reason == reason and e.actor and e.outbound_id for e in events)
    assert run_cli("--config", config, "report", "monthly", "--month", "2026-10", "--history") == 0
    history = capsys.readouterr().out.splitlines()
    assert sum(" sent " in line for line in history) == len(recipients)
    assert sum(" re-sent " in line and reason in line for line in history) == len(recipients)

    # The monthly job does not send October a third time.
    with Daemon(desk["config"], clock=SteppedClock(wib(11, 6, 9))) as daemon:
        daemon.run_once()
    assert len([m for m in outbound(url) if m.kind == REPORT_KIND]) == 2 * len(recipients)
    assert len([c for c in table(url, JobClaim) if c.job == "monthly-report"]) == len(recipients)


def test_a_resend_is_refused_while_the_clock_is_held(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    clock = SteppedClock(wib(11, 6, 10))
    _complaint(desk, 1, clock.now)
    with Daemon(desk["config"], clock=clock) as daemon:
        daemon.run_once()
        clock.now += timedelta(days=40)
        daemon.run_once()
    pin_clock(monkeypatch, clock.now)
    args = (
        "--config",
        str(desk["path"]),
        "report",
        "monthly",
        "--month",
        "2026-10",
        "--resend",
        "--reason",
        "x",
    )
    assert run_cli(*args) == 1
    assert "periodic jobs are held" in capsys.readouterr().err
    assert [m for m in outbound(desk["url"]) if m.kind == REPORT_KIND] == []
