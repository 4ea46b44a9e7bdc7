"""The report jobs say nothing that need not be said (issue 12, points 12a and 12b).

On the shipped rules.yaml, a month with two resolved complaints: Teknik's with
every result recorded, Digital's without its effectiveness. The reminder before
the report goes to Digital only; on the report's day the general managers of
Teknik and Digital get the workbook, and a general manager whose departments had
no complaint gets one line instead. Mail goes to a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.report.mailing import REMINDER_KIND, REPORT_KIND, report_recipients
from daemon.route.loader import load_rules
from daemon.store import db
from tests.clockpin import SteppedClock
from tests.integration.helpers import PROJECT, maildir_desk, outbound
from tests.reportmonth import Line, make_ticket, wib

pytestmark = pytest.mark.integration

RULES = load_rules(PROJECT / "rules.yaml")
COMPLETE = Line(
    1,
    wib(10, 6, 9),
    "teknik",
    None,
    "minor",
    "email",
    "email",
    "met",
    "met",
    "Server diganti",
    "effective: ok",
)
INCOMPLETE = Line(
    2, wib(10, 7, 9), "digital", "epaper", "minor", "email", "email", "met", "met", "Login diperbaiki"
)


@pytest.fixture
def config(
    tmp_path: Path, database_url: str, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    path, _ = maildir_desk(tmp_path, monkeypatch, database_url=database_url, smtp_url=smtp_sink.url)
    engine = db.make_engine(database_url)
    db.create_schema(engine)
    with db.session(engine) as session:
        session.add_all([make_ticket(COMPLETE, RULES), make_ticket(INCOMPLETE, RULES)])
        session.commit()
    engine.dispose()
    yield load_config(path)


def _delivered(sink: Any) -> dict[str, EmailMessage]:
    found: dict[str, EmailMessage] = {}
    for received in sink.messages:
        message = email.message_from_bytes(received.data, policy=email.policy.default)
        for rcpt in received.rcpt_tos:
            found[rcpt] = message  # type: ignore[assignment]
    return found


def test_no_results_reminder_when_everything_is_complete(
    config: Any, database_url: str, smtp_sink: Any
) -> None:
    with Daemon(config, clock=SteppedClock(wib(11, 2, 9))) as daemon:
        daemon.run_once()
        daemon.run_once()
    reminders = [m for m in outbound(database_url) if m.kind == REMINDER_KIND]
    # Teknik recorded root cause, action and effectiveness: nothing to ask of it.
    assert [m.recipient for m in reminders] == [RULES.department("digital").email]
    text = _delivered(smtp_sink)[RULES.department("digital").email].get_content()
    assert "CC-2026-000002" in text and "CC-2026-000001" not in text


def test_gm_without_complaints_gets_one_line_instead_of_report(
    config: Any, database_url: str, smtp_sink: Any
) -> None:
    with Daemon(config, clock=SteppedClock(wib(11, 5, 9))) as daemon:
        daemon.run_once()
    recipients = report_recipients(RULES)
    rows = [m for m in outbound(database_url) if m.kind == REPORT_KIND]
    assert sorted(m.recipient for m in rows) == sorted(r.address for r in recipients)
    mails = _delivered(smtp_sink)
    busy = {RULES.department(d).general_manager for d in ("teknik", "digital")}
    quiet = [r for r in recipients if r.departments and r.address not in busy]
    assert quiet, "the shipped rules have general managers of departments without complaints"
    for recipient in quiet:
        message = mails[recipient.address]
        assert list(message.iter_attachments()) == []
        assert "tidak ada keluhan / no complaints" in str(message["Subject"])
        lines = [line for line in message.get_content().splitlines() if line.strip()]
        assert len(lines) == 2 and "No customer complaints in Oktober 2026" in lines[0]
    for address in busy:
        assert address is not None
        [attachment] = list(mails[address].iter_attachments())
        assert attachment.get_filename() == "laporan-keluhan-2026-10.xlsx"
    [care] = list(mails[recipients[0].address].iter_attachments())  # Customer Care: always the report
    assert care.get_filename() == "laporan-keluhan-2026-10.xlsx"
