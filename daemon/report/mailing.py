"""The monthly report by mail, and the reminder that comes before it (DOMAIN.md §8).

Two periodic jobs, run by the daemon every minute and cheap when there is
nothing to do:

* `send_monthly_reports`: from the configured day of a month (rules.yaml
  `reports: day`, default the 5th) on, the previous month's report goes as an
  xlsx attachment to Customer Care (the whole report) and to each general
  manager (the part about the departments whose `general_manager` they are);
* `remind_results`: from `reports: reminder_day` (default the 1st) until the
  report's day, each department that resolved complaints in the previous
  month and has not recorded all their results (root cause, corrective
  action, effectiveness) is asked to before the report is made; one whose
  results are complete gets nothing;
* a general manager whose departments had no complaint in the month, and none
  still open, gets one line saying so instead of an empty report.

Each mail is claimed as a (job, period) row in the transaction that queues
it (`daemon.store.claims`): once per month and recipient, or month and department,
across restarts and daemons. A day missed while the daemon was down is made
up as soon as it runs again within the month.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import load_only
from sqlmodel import Session, col

from daemon.outbox.enqueue import Mailer, Outgoing, Queued
from daemon.report import labels
from daemon.report.monthly import MonthlyReport, build_monthly
from daemon.report.periods import AsOf, Month
from daemon.route.rules import Rules
from daemon.sla.stamping import CLOSED_STATUSES, RECAP_ORIGIN_PREFIX
from daemon.store import claims, db
from daemon.store.models import InboundMessage, JobClaim, Ticket
from daemon.store.vocabulary import OutboundKind

REPORT_JOB = "monthly-report"
REMINDER_JOB = "results-reminder"
REPORT_KIND = OutboundKind.MONTHLY_REPORT
REMINDER_KIND = OutboundKind.RESULTS_REMINDER
NOTHING_TEMPLATE = "report_no_complaints.txt"
"""A general manager's report of a month without complaints in their departments: one line."""


@dataclass(frozen=True)
class ReportMail:
    """What one run of the report jobs works with, besides the database."""

    rules: Rules
    mailer: Mailer
    now: datetime
    timezone: str
    organisation: str
    """The organisation's name, as the reports and their mails show it."""
    reissue: str = ""
    """Why a report already sent goes out again (`report monthly --resend`); '' for the first time."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def as_of(self) -> AsOf:
        """The moment and zone the reports this run mails are made as of."""
        return AsOf(self.now, self.timezone)

    @property
    def today(self) -> date:
        """The local date of `now`: which day of the month the jobs run on."""
        return self.now.astimezone(self.zone).date()


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str
    departments: tuple[str, ...]
    """The departments of this recipient's part; empty for the whole report."""


def report_recipients(rules: Rules) -> list[Recipient]:
    """Customer Care first (the whole report), then each general manager with their departments."""
    config = rules.reports_config
    care = rules.customer_care_address()
    recipients = [Recipient(care, ())]
    if not config.general_managers:
        return recipients
    parts: dict[str, list[str]] = {}
    for department in rules.departments.values():
        if department.general_manager and department.general_manager != care:
            parts.setdefault(department.general_manager, []).append(department.id)
    recipients += [Recipient(address, tuple(ids)) for address, ids in parts.items()]
    return recipients


def report_period(month: Month, address: str) -> str:
    return f"report/{month}/{address}"


def send_monthly_reports(engine: Engine, job: ReportMail) -> Counter[str]:
    """Mail last month's report to each recipient not yet sent it, from the report's day on."""
    today = job.today
    if today.day < job.rules.reports_config.day:
        return Counter()
    month = Month.of(today).previous()
    recipients = report_recipients(job.rules)
    periods = {recipient.address: report_period(month, recipient.address) for recipient in recipients}
    counts: Counter[str] = Counter()
    with db.session(engine) as session:
        done = _claimed(session, REPORT_JOB, periods.values())
        if len(done) < len(periods) and not _in_service(session, month, job.zone):
            return Counter()
    for recipient in recipients:
        if periods[recipient.address] in done:
            continue
        with db.session(engine) as session:
            if not claims.claim(session, REPORT_JOB, periods[recipient.address], now=job.now):
                continue
            queue_report(session, job, month, recipient)
            session.commit()
        counts["monthly_reports"] += 1
    return counts


def queue_report(session: Session, job: ReportMail, month: Month, recipient: Recipient) -> Queued | None:
    """Queue `recipient`'s part of the report of `month`, as an xlsx attachment; what was queued."""
    report = build_monthly(session, job.rules, month, job.as_of, recipient.departments)
    context = {**_report_context(report, job.organisation), "reissue": job.reissue}
    if recipient.departments and report.total == 0 and not report.open_tickets:
        # A general manager whose departments had nothing: one line, not an empty workbook.
        return job.mailer.queue(
            session,
            Outgoing(
                kind=REPORT_KIND, recipient=recipient.address, template=NOTHING_TEMPLATE, context=context
            ),
        )
    # XlsxWriter only when a workbook is made; the periodic jobs run every minute (issue 17: memory).
    from daemon.report.xlsx_out import XLSX_MIME, monthly_xlsx

    workbook = monthly_xlsx(report, organisation=job.organisation)
    return job.mailer.queue(
        session,
        Outgoing(
            kind=REPORT_KIND,
            recipient=recipient.address,
            template="report_monthly.txt",
            context=context,
            attachments=[(f"laporan-keluhan-{month}.xlsx", XLSX_MIME, workbook)],
        ),
    )


def remind_results(engine: Engine, job: ReportMail) -> Counter[str]:
    """Ask each department to record the results of last month's resolved complaints before the report."""
    zone, today = job.zone, job.today
    config = job.rules.reports_config
    if not config.reminder_day <= today.day < config.day:
        return Counter()
    month = Month.of(today).previous()
    counts: Counter[str] = Counter()
    with db.read_session(engine) as session:
        # Only departments not reminded yet, and only those with a result missing, are read
        # (an indexed range of one month): once all are reminded, a run reads no ticket.
        done = _claimed(session, REMINDER_JOB, (f"{month}/{key}" for key in job.rules.departments))
        waiting = [key for key in job.rules.departments if f"{month}/{key}" not in done]
        asked = _missing_somewhere(session, month, zone, waiting) if waiting else []
        resolved = {
            department: tickets
            for department, tickets in _resolved_by_department(session, month, zone, asked).items()
            # Nothing to ask of a department whose results are all recorded.
            if any(_missing_results(ticket) for ticket in tickets)
        }
    for department_id, tickets in resolved.items():
        department = job.rules.departments.get(department_id)
        if department is None or f"{month}/{department_id}" in done:
            continue
        with db.session(engine) as session:
            if not claims.claim(session, REMINDER_JOB, f"{month}/{department_id}", now=job.now):
                continue
            context = {
                "organisation": job.organisation,
                "month": str(month),
                "month_title": labels.month_title(month.year, month.month),
                "deadline": labels.when(date(today.year, today.month, config.day)),
                "department": {"id": department.id, "name": department.name},
                "tickets": [_reminder_line(ticket, zone) for ticket in tickets],
            }
            job.mailer.queue(
                session,
                Outgoing(
                    kind=REMINDER_KIND,
                    recipient=department.email,
                    template="report_results_reminder.txt",
                    context=context,
                ),
            )
            session.commit()
        counts["results_reminders"] += 1
    return counts


def _in_service(session: Session, month: Month, zone: ZoneInfo) -> bool:
    """Whether caredesk knew of any complaint or mail before the month ended.

    A new installation does not mail reports about the months before it
    existed; a month with data (a branch recap imported later counts) is reported.
    """
    end = month.bounds(zone)[1]
    for model in (Ticket, InboundMessage):
        statement = select(col(model.id)).where(col(model.received_at) < end).limit(1)
        if session.execute(statement).first() is not None:
            return True
    return False


def _claimed(session: Session, job: str, periods: Iterable[str]) -> set[str]:
    wanted = sorted(set(periods))
    if not wanted:
        return set()
    statement = select(col(JobClaim.period)).where(col(JobClaim.job) == job, col(JobClaim.period).in_(wanted))
    return set(session.execute(statement).scalars())


_REMINDER_COLUMNS = (
    "id",
    "reference",
    "subject",
    "department",
    "status",
    "completed_at",
    "closed_by",
    "root_cause",
    "corrective_action",
    "effectiveness",
)
"""What the reminder reads of a ticket: what its line shows and what says a result is missing."""


def _resolved_by_department(
    session: Session, month: Month, zone: ZoneInfo, departments: list[str]
) -> dict[str, list[Ticket]]:
    """Last month's resolved tickets of `departments` that head office resolved.

    A branch reports its own in its recap.
    """
    if not departments:
        return {}
    start, end = month.bounds(zone)
    statement = (
        select(Ticket)
        .options(load_only(*(getattr(Ticket, name) for name in _REMINDER_COLUMNS)))
        .where(
            col(Ticket.status).in_(CLOSED_STATUSES),
            col(Ticket.completed_at) >= start,
            col(Ticket.completed_at) < end,
            col(Ticket.department).in_(departments),
        )
        .order_by(col(Ticket.completed_at), col(Ticket.id))
    )
    found: dict[str, list[Ticket]] = {}
    for ticket in session.execute(statement).scalars():
        if not (ticket.closed_by or "").startswith(RECAP_ORIGIN_PREFIX):
            found.setdefault(ticket.department, []).append(ticket)
    return found


def _missing_somewhere(session: Session, month: Month, zone: ZoneInfo, departments: list[str]) -> list[str]:
    """Those of `departments` with a resolved ticket of `month` lacking a result, asked of the database.

    "Lacking" is empty or blank (spaces, tabs, line breaks), as `_missing_results` says.
    """
    start, end = month.bounds(zone)
    blank = or_(
        *(_blank(column) for column in (Ticket.root_cause, Ticket.corrective_action, Ticket.effectiveness))
    )
    statement = (
        select(col(Ticket.department))
        .where(
            col(Ticket.status).in_(CLOSED_STATUSES),
            col(Ticket.completed_at) >= start,
            col(Ticket.completed_at) < end,
            col(Ticket.department).in_(departments),
            or_(col(Ticket.closed_by).is_(None), col(Ticket.closed_by).not_like(f"{RECAP_ORIGIN_PREFIX}%")),
            blank,
        )
        .distinct()
    )
    return sorted(session.execute(statement).scalars())


def _blank(column: Any) -> Any:
    text: Any = col(column)
    for space in ("\t", "\r", "\n"):
        text = func.replace(text, space, "")
    return or_(col(column).is_(None), func.trim(text) == "")


def _reminder_line(ticket: Ticket, zone: ZoneInfo) -> dict[str, object]:
    completed = ticket.completed_at.astimezone(zone) if ticket.completed_at else None
    return {
        "reference": ticket.reference,
        "subject": ticket.subject,
        "completed": labels.when(completed, with_time=False),
        "missing": _missing_results(ticket),
    }


def _missing_results(ticket: Ticket) -> list[str]:
    """The results still to record on a resolved ticket, as the reminder names them."""
    return [
        label
        for label, value in (
            ("akar penyebab / root cause", ticket.root_cause),
            ("tindakan perbaikan / corrective action", ticket.corrective_action),
            ("evaluasi efektivitas / effectiveness", ticket.effectiveness),
        )
        if not (value or "").strip()
    ]


def _report_context(report: MonthlyReport, organisation: str) -> dict[str, object]:
    compliance = report.compliance
    return {
        "organisation": organisation,
        "month": str(report.month),
        "month_title": labels.month_title(report.month.year, report.month.month),
        "part": [count.label for count in report.by_department] if report.departments else [],
        "total": report.total,
        "major": sum(count.count for count in report.by_severity if count.key == "major"),
        "first_response": _share_line(compliance.first_response_met, compliance.first_response_measured),
        "resolution": _share_line(compliance.resolution_met, compliance.resolution_measured),
        "open": len(report.open_tickets),
        "overdue": report.overdue,
        "departments": [(count.label, count.count) for count in report.by_department if count.count],
        "missing_recaps": [recap.name for recap in report.missing_recaps],
        "full": report.recaps is not None,
    }


def _share_line(met: int, measured: int) -> str:
    return f"{labels.share(met / measured if measured else None)} ({met}/{measured})"
