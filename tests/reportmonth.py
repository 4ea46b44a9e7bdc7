"""A fixture month for the report tests: October 2026, 21 complaints whose numbers are known.

Each complaint is one line of `OCTOBER`: when it came (Jakarta time), which
department, product, severity, channel and origin, and how its two targets
ended by `NOW` (5 November 2026, 09:00 WIB, the report's day):

* first response: `met` (answered an hour before it was due), `late`
  (two hours after), `none` (never answered), or `-` for a branch-recap
  ticket, whose first response caredesk cannot see;
* resolution: `met`, `late` (a day after it was due) or `open`.

Due dates are stamped by the real code (`daemon.sla.stamping`) on the calendar of
the shipped rules.yaml, so the outcomes follow the working-day calendar. The
tests count the expected numbers by hand from this table, not with code.
Three complaints from outside the month test the edges: one from September
still open, one from September completed in October with a corrective action,
and one received at 00:30 on 1 November (17:30 UTC on 31 October).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from daemon.route.rules import Rules
from daemon.sla.stamping import stamp_due_dates
from daemon.store.models import RecapFile, Ticket
from tests.clockpin import JAKARTA, wib

NOW = datetime(2026, 11, 5, 9, 0, tzinfo=JAKARTA)


@dataclass(frozen=True)
class Line:
    number: int
    received: datetime
    department: str
    product: str | None
    severity: str
    channel: str
    origin: str
    first_response: str
    resolution: str
    corrective_action: str = ""
    effectiveness: str = ""


JATIM, SUMUT, BALI = "branch:biro-jatim", "branch:biro-sumut", "branch:biro-bali"

OCTOBER = (
    # Thursday 1 October is the company's anniversary, a day off in rules.yaml.
    Line(1, wib(10, 1, 0, 15), "digital", "epaper", "minor", "email", "email", "met", "met",
         "Perbaiki server unduh e-paper", "Efektif"),
    Line(2, wib(10, 2, 9), "digital", "aplikasi", "major", "email", "email", "met", "late",
         "Rilis perbaikan aplikasi", "Tidak efektif, dianalisis ulang"),
    Line(3, wib(10, 3, 14), "koran", "koran-harian", "minor", "email", "email", "late", "met"),
    Line(4, wib(10, 5, 8, 30), "koran", "koran-harian", "minor", "phone", JATIM, "-", "met",
         "Ganti loper wilayah Sidoarjo"),
    Line(5, wib(10, 5, 11), "keuangan", None, "minor", "email", "email", "met", "met"),
    Line(6, wib(10, 6, 15), "keuangan", None, "major", "email", "email", "none", "open"),
    Line(7, wib(10, 7, 9), "iklan", "iklan-cetak", "minor", "email", "email", "met", "open"),
    Line(8, wib(10, 8, 10), "redaksi", None, "minor", "letter", SUMUT, "-", "met",
         "Ralat dimuat di halaman 2", "Efektif"),
    Line(9, wib(10, 9, 13), "teknik", "website", "major", "email", "email", "late", "late"),
    Line(10, wib(10, 12, 9), "digital", "website", "minor", "email", "email", "met", "met",
         "Cache CDN dibersihkan", "Pelanggan puas"),
    Line(11, wib(10, 13, 10), "customer-care", None, "minor", "email", "email", "met", "met"),
    Line(12, wib(10, 14, 16), "koran", "koran-harian", "minor", "whatsapp", JATIM, "-", "open"),
    Line(13, wib(10, 15, 8), "iklan", "iklan-digital", "minor", "email", "email", "met", "met"),
    Line(14, wib(10, 19, 9), "digital", "epaper", "minor", "email", "email", "met", "late"),
    Line(15, wib(10, 20, 11), "teknik", "aplikasi", "minor", "email", "email", "none", "met"),
    Line(16, wib(10, 21, 14), "keuangan", None, "minor", "phone", BALI, "-", "met"),
    Line(17, wib(10, 22, 10), "redaksi", None, "major", "email", "email", "met", "met",
         "Koreksi dan hak jawab dimuat", "efektif"),
    Line(18, wib(10, 26, 9), "digital", "aplikasi", "minor", "social-media", "email", "met", "open"),
    Line(19, wib(10, 29, 10), "koran", "koran-harian", "minor", "email", "email", "met", "open"),
    Line(20, wib(10, 30, 15), "teknik", "website", "minor", "email", "email", "met", "open"),
    # 23:30 in Jakarta is 16:30 UTC: still October.
    Line(21, wib(10, 31, 23, 30), "customer-care", None, "minor", "email", "email", "none", "open"),
)  # fmt: skip

OUTSIDE = (
    Line(22, wib(9, 28, 10), "digital", "website", "minor", "email", "email", "met", "open"),
    Line(23, wib(9, 15, 10), "teknik", "website", "minor", "email", "email", "met", "met",
         "Ganti router kantor cabang", "efektif"),
    # 00:30 on 1 November in Jakarta is 17:30 UTC on 31 October: November.
    Line(24, wib(11, 1, 0, 30), "digital", "epaper", "minor", "email", "email", "none", "open"),
)  # fmt: skip

RECAP_FILES = (("biro-jatim", "imported"), ("biro-sumut", "refused"), ("biro-bali", "imported"))
"""October recaps received; biro-sulsel sent none."""


def reference(number: int) -> str:
    return f"CC-2026-{number:06d}"


def make_ticket(line: Line, rules: Rules) -> Ticket:
    ticket = Ticket(
        reference=reference(line.number),
        status="assigned",
        department=line.department,
        product=line.product,
        severity=line.severity,
        channel=line.channel,
        origin=line.origin,
        customer_email=f"pelanggan{line.number}@example.net",
        customer_name=f"Pelanggan {line.number}",
        customer_organisation="PT Contoh" if line.number % 3 == 0 else "",
        pic_phone=f"08123456{line.number:04d}",
        pic_email=f"pelanggan{line.number}@example.net",
        subject=f"Keluhan nomor {line.number}",
        description=f"Uraian keluhan nomor {line.number}.\nBaris kedua.",
        received_at=line.received.astimezone(UTC),
        created_at=line.received.astimezone(UTC),
        updated_at=line.received.astimezone(UTC),
    )
    stamp_due_dates(ticket, rules, line.received, timezone="Asia/Jakarta")
    assert ticket.resolution_due is not None
    if line.first_response in ("met", "late"):
        assert ticket.first_response_due is not None
        shift = timedelta(hours=-1 if line.first_response == "met" else 2)
        ticket.first_responded_at = ticket.first_response_due + shift
    if line.resolution in ("met", "late"):
        shift = timedelta(hours=-1) if line.resolution == "met" else timedelta(days=1)
        ticket.completed_at = ticket.resolution_due + shift
        ticket.status = "resolved"
        ticket.closed_by = line.origin if line.origin.startswith("branch:") else "sirkulasi@example.co.id"
    elif line.number % 2:
        ticket.status = "in_progress"
    if line.corrective_action:
        ticket.root_cause = f"Akar penyebab keluhan {line.number}"
        ticket.corrective_action = line.corrective_action
        ticket.action_target = line.received.date() + timedelta(days=7)
        ticket.effectiveness = line.effectiveness or None
    if line.number == 23:
        # Received in September, completed in October.
        ticket.completed_at = wib(10, 10, 10).astimezone(UTC)
    return ticket


def populate(session: Session, rules: Rules) -> list[Ticket]:
    """The fixture month's tickets and recap files, added and flushed (the caller commits)."""
    tickets = [make_ticket(line, rules) for line in (*OCTOBER, *OUTSIDE)]
    session.add_all(tickets)
    for branch, state in RECAP_FILES:
        session.add(
            RecapFile(
                branch=branch,
                month="2026-10",
                received_at=wib(11, 3, 10).astimezone(UTC),
                filename=f"rekap-{branch}-2026-10.xlsx",
                sha256="0" * 64,
                size=3,
                raw=b"xyz",
                state=state,
            )
        )
    session.flush()
    return tickets


def csv_sections(text: str) -> dict[str, list[dict[str, str]]]:
    """A sectioned report CSV (`daemon.report.csv_out`) as {section: [row as a dict]}."""
    sections: dict[str, list[dict[str, str]]] = {}
    rows = list(csv.reader(io.StringIO(text)))
    index = 0
    while index < len(rows):
        row = rows[index]
        if len(row) == 1 and row[0].startswith("[") and row[0].endswith("]"):
            heading = rows[index + 1]
            body: list[dict[str, str]] = []
            index += 2
            while index < len(rows) and rows[index]:
                body.append(dict(zip(heading, rows[index], strict=True)))
                index += 1
            sections[row[0][1:-1]] = body
        index += 1
    return sections
