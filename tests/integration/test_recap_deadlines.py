"""Recap reminders and the missing-branch report go exactly once, by Jakarta dates, restarts or not.

An injected clock moves every 6 hours from 28 March to 10 April 2026. At each
step two daemons on one database run the periodic job at the same time, twice
each (as a restart would); halfway one of them is replaced by a new one. Biro
Bali sends its March recap on 2 April; Biro Jawa Timur sends one that is
refused (macro-enabled). The outbox, and then the real SMTP server, must show
each reminder once per branch and the report once, on the right local days.
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from typing import Any

import pytest

from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.store.models import JobClaim
from tests import mailfactory
from tests.integration.helpers import CARE_ADDRESS, TRUST_OUR_MX, outbound, table, write_config
from tests.recapfiles import complaint_rows, filled_template, recap_rules, rewrite_entries

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 28, 0, 0, tzinfo=UTC)
END = datetime(2026, 4, 10, 18, 0, tzinfo=UTC)
STEP = timedelta(hours=6)
CUSTOMER_CARE = "cc@example.co.id"
RULES_TEXT = """\
departments:
  - {id: customer-care, name: Customer Care, email: cc@example.co.id}
  - {id: koran, name: Sirkulasi Koran, email: sirkulasi@example.co.id}
  - {id: digital, name: Media Digital, email: digital@example.co.id}
products:
  - {id: epaper, name: E-Paper Harian Nusantara, department: digital, aliases: [e-paper]}
  - {id: koran-harian, name: Koran Harian Nusantara, department: koran, aliases: [koran cetak]}
branches:
  - {id: biro-jatim, name: Biro Jawa Timur, emails: [biro.jatim@example.co.id, surabaya@example.co.id]}
  - {id: biro-bali, name: Biro Bali, emails: [biro.bali@example.co.id]}
  - {id: biro-sulsel, name: Biro Sulawesi Selatan, emails: [biro.sulsel@example.co.id]}
default: {department: customer-care, severity: minor}
rules: []
"""
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# 1 April 01:00 in Jakarta is still 31 March in UTC: a reminder sent by UTC dates would come 6 hours later.
FIRST_AT = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)
FOURTH_AT = datetime(2026, 4, 3, 18, 0, tzinfo=UTC)
REPORT_AT = datetime(2026, 4, 5, 18, 0, tzinfo=UTC)
RECAPS_AT = datetime(2026, 4, 2, 6, 0, tzinfo=UTC)
RESTART_AT = datetime(2026, 4, 3, 0, 0, tzinfo=UTC)


class Clock:
    """The time every daemon of the test reads; the test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def recap_mail(n: int, sender: str, filename: str, data: bytes, mime: str) -> bytes:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = formataddr(("Biro", sender))
    message["To"] = CARE_ADDRESS
    message["Subject"] = "Rekap Maret 2026"
    message["Date"] = "Thu, 02 Apr 2026 10:00:00 +0700"
    message["Message-ID"] = f"<deadline-recap-{n}@example.co.id>"
    message.set_content("Terlampir rekap bulan Maret.\n")
    maintype, subtype = mime.split("/", 1)
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return mailfactory.stamped(message.as_bytes())  # a verified branch: recaps change tickets


def drop_into(maildir: Path, name: str, raw: bytes) -> None:
    (maildir / "new" / f"{name}.eml").write_bytes(raw)


def run_twice_each(daemons: list[Daemon]) -> Counter[str]:
    """Every daemon runs the job twice, all daemons at the same time."""
    totals: Counter[str] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(daemon: Daemon) -> None:
        try:
            for _ in range(2):
                counts = daemon.run_recap_deadlines()
                with lock:
                    totals.update(counts)
        except BaseException as error:  # reported by the test thread below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(daemon,)) for daemon in daemons]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a daemon hung in the recap job"
    assert not errors, errors
    return totals


def walk(daemons: list[Daemon], clock: Clock, at_step: Callable[[datetime], None]) -> Counter[str]:
    totals: Counter[str] = Counter()
    while clock.now <= END:
        at_step(clock.now)
        totals.update(run_twice_each(daemons))
        clock.now += STEP
    return totals


def test_each_reminder_goes_once_per_branch_and_the_report_once(
    tmp_path: Path, database_url: str, smtp_sink: Any
) -> None:
    (tmp_path / "rules.yaml").write_text(RULES_TEXT)
    maildir = tmp_path / "mail"
    for folder in ("new", "cur", "tmp"):
        (maildir / folder).mkdir(parents=True)
    path = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{maildir}",
        smtp_url=smtp_sink.url,
        rules=tmp_path / "rules.yaml",
        extra=TRUST_OUR_MX,
    )
    config = load_config(path)
    clock = Clock(START)
    rules = recap_rules()
    bali = filled_template(complaint_rows(3), rules=rules, branch="biro-bali")
    macro = rewrite_entries(
        filled_template(complaint_rows(3), rules=rules), {"xl/vbaProject.bin": b"\xd0\xcf"}
    )
    daemons = [Daemon(config, clock=clock), Daemon(config, clock=clock)]

    happened: list[str] = []

    def at_step(now: datetime) -> None:
        if now == START:
            # The installation is in service in March: a customer's complaint is its first mail.
            happened.append("installed")
            drop_into(maildir, "first", mailfactory.complaint(sender="budi@example.net"))
            daemons[0].poll_mailbox()
        if now == RECAPS_AT:
            happened.append("recaps")
            drop_into(
                maildir, "bali", recap_mail(1, "biro.bali@example.co.id", "rekap-bali.xlsx", bali, XLSX)
            )
            drop_into(maildir, "jatim", recap_mail(2, "biro.jatim@example.co.id", "rekap.xlsm", macro, XLSX))
            daemons[0].poll_mailbox()
        if now == RESTART_AT:
            happened.append("restart")
            daemons[0].close()
            daemons[0] = Daemon(config, clock=clock)

    try:
        totals = walk(daemons, clock, at_step)
        daemons[0].deliver()
    finally:
        for daemon in daemons:
            daemon.close()

    assert happened == ["installed", "recaps", "restart"]
    # Reminders are counted per branch (Jawa Timur's goes to both its addresses).
    assert totals == Counter({"recap_reminders": 3 + 2, "recap_missing_reports": 1})
    rows = [row for row in outbound(database_url) if row.kind.startswith("recap-")]
    reminders = Counter((row.recipient, row.created_at) for row in rows if row.kind == "recap-reminder")
    assert reminders == Counter(
        {
            ("biro.jatim@example.co.id", FIRST_AT): 1,
            ("surabaya@example.co.id", FIRST_AT): 1,
            ("biro.bali@example.co.id", FIRST_AT): 1,
            ("biro.sulsel@example.co.id", FIRST_AT): 1,
            ("biro.jatim@example.co.id", FOURTH_AT): 1,
            ("surabaya@example.co.id", FOURTH_AT): 1,
            ("biro.sulsel@example.co.id", FOURTH_AT): 1,
        }
    )
    [report] = [row for row in rows if row.kind == "recap-missing"]
    # To Customer Care (the default department here), never to the mailbox caredesk reads.
    assert (report.recipient, report.created_at) == (CUSTOMER_CARE, REPORT_AT)
    claims = {
        (claim.job, claim.period) for claim in table(database_url, JobClaim) if claim.job.startswith("recap")
    }
    assert claims == {
        ("recap-reminder", "2026-03/biro-jatim/1st"),
        ("recap-reminder", "2026-03/biro-bali/1st"),
        ("recap-reminder", "2026-03/biro-sulsel/1st"),
        ("recap-reminder", "2026-03/biro-jatim/4th"),
        ("recap-reminder", "2026-03/biro-sulsel/4th"),
        ("recap-missing", "2026-03"),
    }

    delivered = [email.message_from_bytes(m.data, policy=email.policy.default) for m in smtp_sink.messages]
    by_subject = Counter((str(m["To"]), str(m["Subject"]).split(":")[0]) for m in delivered)
    assert by_subject[("biro.sulsel@example.co.id", "Pengingat / Reminder")] == 1
    assert by_subject[("biro.sulsel@example.co.id", "Pengingat kedua / Second reminder")] == 1
    second = next(
        m for m in delivered if m["To"] == "biro.jatim@example.co.id" and "kedua" in str(m["Subject"])
    )
    second_text = second.get_content()
    assert "rekap.xlsm" in second_text and "macro-enabled" in second_text
    [missing] = [m for m in delivered if m["To"] == CUSTOMER_CARE and "recap missing" in str(m["Subject"])]
    assert not [m for m in delivered if m["To"] == CARE_ADDRESS]
    missing_text = missing.get_content()
    assert (
        "Biro Jawa Timur (biro-jatim)" in missing_text
        and "Biro Sulawesi Selatan (biro-sulsel)" in missing_text
    )
    assert "Missing (2)" in missing_text and "Sent (1)" in missing_text
    assert "Biro Bali (biro-bali), 02-04-2026" in missing_text
