"""Reports as CSV: one file, one section per table, for scripts and spreadsheets.

Each section starts with a line holding only its name in brackets
(`[by_department]`), then a heading line of column keys, then the rows, then
an empty line. Keys, ISO 8601 times (local, with offset) and shares as
fractions (0.75) keep the file easy to read back; the xlsx and html carry the
bilingual labels. Text that could start a formula (`=`, `+`, `-`, `@`, ...)
is prefixed with `'`, so no customer's words run as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime

from daemon.report import labels
from daemon.report.cells import csv_text
from daemon.report.monthly import Compliance, Count, MonthlyReport, RegisterRow
from daemon.report.review import ReviewReport

REGISTER_KEYS = tuple(key for key, _ in labels.REGISTER_COLUMNS)
COMPLIANCE_KEYS = (
    "key",
    "label",
    "tickets",
    "first_response_met",
    "first_response_measured",
    "first_response_share",
    "resolution_met",
    "resolution_measured",
    "resolution_share",
)
OPEN_KEYS = ("reference", "received", "department", "severity", "status", "resolution_due", "overdue")
ACTION_KEYS = (
    "reference",
    "department",
    "root_cause",
    "corrective_action",
    "action_target",
    "preventive_action",
    "completed",
    "effectiveness",
    "effectiveness_kind",
)


class _Sections:
    """Sections written a batch of lines at a time: a long register is never one string."""

    BATCH = 1000

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def section(self, name: str, heading: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
        self.writer.writerow([f"[{name}]"])
        self.writer.writerow(heading)
        for number, row in enumerate(rows, start=1):
            self.writer.writerow([cell(value) for value in row])
            if number % self.BATCH == 0:
                yield self._take()
        self.writer.writerow([])
        yield self._take()

    def _take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def cell(value: object) -> str:
    """A value as CSV text: ISO times, 1/0 for flags, fractions with four decimals.

    Text that a spreadsheet could read as a formula is prefixed with `'` (`cells.csv_text`).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return str(value)
    return csv_text(str(value))


def monthly_csv(report: MonthlyReport) -> str:
    return "".join(monthly_csv_parts(report))


def monthly_csv_parts(report: MonthlyReport) -> Iterator[str]:
    """The monthly report's CSV, a piece at a time."""
    out = _Sections()
    about = [
        ("month", str(report.month)),
        ("generated_at", report.generated_at),
        ("timezone", report.timezone),
        ("departments", " ".join(report.departments)),
        ("total", report.total),
        ("open", len(report.open_tickets)),
        ("overdue", report.overdue),
    ]
    yield from out.section("report", ("key", "value"), about)
    for name in ("by_week", "by_department", "by_product", "by_severity", "by_channel", "by_branch"):
        yield from out.section(name, ("key", "label", "count"), _counts(getattr(report, name)))
    compliance = (report.compliance, *report.compliance_by_department)
    yield from out.section("compliance", COMPLIANCE_KEYS, (_compliance(item) for item in compliance))
    yield from out.section("open_tickets", OPEN_KEYS, (_open(row) for row in report.open_tickets))
    actions = (_action(row) for row in report.corrective_actions)
    yield from out.section("corrective_actions", ACTION_KEYS, actions)
    yield from out.section("effectiveness", ("key", "label", "count"), _counts(report.effectiveness))
    if report.recaps is not None:
        recaps = ((r.branch, r.name, r.state, r.files, r.last_received) for r in report.recaps)
        yield from out.section("recaps", ("branch", "name", "state", "files", "last_received"), recaps)
    yield from out.section("register", REGISTER_KEYS, (_register(row) for row in report.register))


def review_csv(review: ReviewReport) -> str:
    return "".join(review_csv_parts(review))


def review_csv_parts(review: ReviewReport) -> Iterator[str]:
    """The review's CSV, a piece at a time."""
    out = _Sections()
    about = [
        ("quarter", str(review.quarter)),
        ("generated_at", review.generated_at),
        ("resolved", review.total),
        ("mean_working_days", review.mean_working_days),
        ("median_working_days", review.median_working_days),
        ("longest_working_days", review.longest_working_days),
        ("received_in_quarter", review.received),
        ("open_at_end", review.still_open),
    ]
    yield from out.section("review", ("key", "value"), about)
    for name in ("by_department", "by_product", "by_severity", "by_category", "by_channel", "effectiveness"):
        yield from out.section(name, ("key", "label", "count"), _counts(getattr(review, name)))
    yield from out.section("compliance", COMPLIANCE_KEYS, [_compliance(review.compliance)])
    keys = (*ACTION_KEYS[:1], "received", *ACTION_KEYS[1:], "working_days", "closed_by")
    resolved = (
        (row.reference, row.received, *_action(row)[1:], review.working_days(row), row.closed_by)
        for row in review.resolved
    )
    yield from out.section("resolved", keys, resolved)


def _counts(counts: Iterable[Count]) -> Iterable[tuple[object, ...]]:
    return ((count.key, count.label, count.count) for count in counts)


def _compliance(item: Compliance) -> tuple[object, ...]:
    return (
        item.key,
        item.label,
        item.tickets,
        item.first_response_met,
        item.first_response_measured,
        item.first_response_share,
        item.resolution_met,
        item.resolution_measured,
        item.resolution_share,
    )


def _open(row: RegisterRow) -> tuple[object, ...]:
    return (
        row.reference,
        row.received,
        row.department,
        row.severity,
        row.status,
        row.resolution_due,
        row.overdue,
    )


def _action(row: RegisterRow) -> tuple[object, ...]:
    return (
        row.reference,
        row.department,
        row.root_cause,
        row.corrective_action,
        row.action_target,
        row.preventive_action,
        row.completed,
        row.effectiveness,
        row.effectiveness_kind,
    )


def _register(row: RegisterRow) -> tuple[object, ...]:
    return tuple(getattr(row, key) for key in REGISTER_KEYS)
