"""Branch-recap deadlines: reminders on the 1st and the 4th, the missing branches reported after the 5th.

A branch's recap for month M is due by the 5th of month M+1 (DOMAIN.md §8).
In month M+1, by the local date (the configured time zone, Asia/Jakarta by
default):

* days 1-3: the "1st" reminder to every branch that has not sent M's recap;
* days 4-5: the "4th" reminder, again to every branch still missing;
* days 6-15: one report of the branches still missing to customer care
  (`config.address`).

Each window means "this is due now": a daemon that was down on the 1st sends
the first reminder on the 2nd, but one down until the 4th sends only the
second, and one down until the 16th sends no report (`caredesk recap status`
shows the same at any time).

A new installation sends nothing about a month that ended before it began:
its first day is the first time it stored anything (a mail, a ticket, a
recap file: `installed_before`), so a site set up on 2 August never asks the
branches for July.

A branch has sent its recap when a file of it for month M was imported
(`RecapFile` state `imported`); a refused file does not count, and its
reason is repeated in the reminder. Exactly once: each reminder is claimed
as (`recap-reminder`, `M/<branch>/1st|4th`) and the report as
(`recap-missing`, `M`) with `daemon.store.claims.claim`, in the same transaction as
its outbox rows, so restarts and several daemons never send one twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from daemon.outbox.enqueue import Mailer, Outgoing
from daemon.route.rules import Branch, Rules
from daemon.store import claims, db
from daemon.store.models import InboundMessage, JobClaim, RecapFile, Ticket
from daemon.store.vocabulary import OutboundKind

log = logging.getLogger("caredesk.recap")

REMINDER_JOB = "recap-reminder"
MISSING_JOB = "recap-missing"
REMINDER_KIND = OutboundKind.RECAP_REMINDER
MISSING_KIND = OutboundKind.RECAP_MISSING
REMINDER_TEMPLATE = "recap_reminder.txt"
MISSING_TEMPLATE = "recap_missing.txt"
DUE_DAY = 5
SECOND_REMINDER_DAY = 4
REPORT_LAST_DAY = 15

Step = Literal["1st", "4th", "missing"]

MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True, slots=True)
class Due:
    """What is due on one local date: a step, for the recap of `month` (`YYYY-MM`)."""

    step: Step
    month: str
    deadline: date
    """The 5th of the month after `month`."""


def due_on(today: date) -> Due | None:
    """The step due on the local date `today`, or None (pure)."""
    previous = today.replace(day=1) - timedelta(days=1)
    month = f"{previous.year:04d}-{previous.month:02d}"
    deadline = today.replace(day=DUE_DAY)
    if today.day < SECOND_REMINDER_DAY:
        return Due("1st", month, deadline)
    if today.day <= DUE_DAY:
        return Due("4th", month, deadline)
    if today.day <= REPORT_LAST_DAY:
        return Due("missing", month, deadline)
    return None


def month_label(month: str) -> tuple[str, str]:
    """`2026-03` -> (`Maret 2026`, `March 2026`)."""
    year, number = int(month[:4]), int(month[5:])
    return f"{MONTHS_ID[number - 1]} {year}", f"{MONTHS_EN[number - 1]} {year}"


def day_label(day: date) -> tuple[str, str]:
    """A date in words, Indonesian and English: (`5 April 2026`, `5 April 2026`)."""
    return (
        f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}",
        f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}",
    )


def run_recap_deadlines(engine: Engine, rules: Rules, mailer: Mailer, now: datetime) -> Counter[str]:
    """Send what is due now and was not sent before; counts of reminders and reports queued."""
    config = mailer.config
    zone = ZoneInfo(config.timezone)
    due = due_on(now.astimezone(zone).date())
    counts: Counter[str] = Counter()
    if due is None or not rules.branches:
        return counts
    job = MISSING_JOB if due.step == "missing" else REMINDER_JOB
    # One read first: on most runs everything due was done already, and the
    # claims below (each its own write transaction) are then never attempted.
    context = _Context(config.name, config.address, due, zone)
    with db.session(engine) as session:
        if not installed_before(session, context.window_start()):
            return counts
        done = _claimed(session, job, due.month)
        sent = _branches_sent(session, due.month)
        session.commit()
    missing = [branch for branch in rules.branches.values() if branch.id not in sent]
    if not missing:
        return counts
    if due.step == "missing":
        if due.month not in done and _report(engine, mailer, context, rules, now):
            counts["recap_missing_reports"] += 1
        return counts
    for branch in missing:
        if _period(due, branch) not in done and _remind(engine, mailer, context, branch, now):
            counts["recap_reminders"] += 1
    return counts


def installed_before(session: Session, moment: datetime) -> bool:
    """Whether caredesk stored anything (a mail, a ticket, a recap file) before `moment`.

    The first thing an installation stores is its first day: the times are our
    own (when a mail was stored, a ticket made, a file read), never a date a
    mail or a recap row claims.
    """
    for when in (InboundMessage.received_at, Ticket.created_at, RecapFile.received_at):
        first = session.execute(select(func.min(col(when)))).scalar()
        if first is not None and _aware(first) < moment:
            return True
    return False


def _aware(moment: datetime) -> datetime:
    """SQLite's `min()` gives the stored value back without its zone; the store keeps UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _period(due: Due, branch: Branch) -> str:
    return f"{due.month}/{branch.id}/{due.step}"


def _claimed(session: Session, job: str, month: str) -> set[str]:
    statement = select(col(JobClaim.period)).where(
        col(JobClaim.job) == job, col(JobClaim.period).startswith(month)
    )
    return set(session.execute(statement).scalars())


def _branches_sent(session: Session, month: str) -> set[str]:
    statement = select(col(RecapFile.branch)).where(
        col(RecapFile.month) == month, col(RecapFile.state) == "imported"
    )
    return set(session.execute(statement).scalars())


@dataclass(frozen=True)
class _Context:
    org_name: str
    org_address: str
    due: Due
    zone: ZoneInfo

    def base(self) -> dict[str, object]:
        month_id, month_en = month_label(self.due.month)
        deadline_id, deadline_en = day_label(self.due.deadline)
        return {
            "org": {"name": self.org_name, "address": self.org_address},
            "month": self.due.month,
            "month_id": month_id,
            "month_en": month_en,
            "deadline_id": deadline_id,
            "deadline_en": deadline_en,
            "step": self.due.step,
        }

    def window_start(self) -> datetime:
        """The first moment of the month the recap is due in, in UTC."""
        return datetime.combine(self.due.deadline.replace(day=1), time(), tzinfo=self.zone).astimezone(UTC)


def _remind(engine: Engine, mailer: Mailer, context: _Context, branch: Branch, now: datetime) -> bool:
    """Claim and queue one branch's reminder in one transaction; False when it was not ours to send."""
    if not branch.emails:
        return False
    with db.session(engine) as session:
        # Checked again inside the claim's transaction: the recap may have come in since the read.
        if branch.id in _branches_sent(session, context.due.month):
            return False
        if not claims.claim(
            session, REMINDER_JOB, _period(context.due, branch), now=now, owner=mailer.config.instance
        ):
            session.rollback()
            return False
        values = {
            **context.base(),
            "branch": {"id": branch.id, "name": branch.name},
            "refused": _refused_files(session, branch.id, context),
        }
        for address in branch.emails:
            mailer.queue(
                session,
                Outgoing(kind=REMINDER_KIND, recipient=address, template=REMINDER_TEMPLATE, context=values),
            )
        session.commit()
    log.info("recap reminder (%s) for %s sent to %s", context.due.step, context.due.month, branch.id)
    return True


def _report(engine: Engine, mailer: Mailer, context: _Context, rules: Rules, now: datetime) -> bool:
    """Claim and queue the report of the branches still missing; False when none are or it was sent."""
    with db.session(engine) as session:
        sent = _branches_sent(session, context.due.month)
        missing = [branch for branch in rules.branches.values() if branch.id not in sent]
        if not missing or not claims.claim(
            session, MISSING_JOB, context.due.month, now=now, owner=mailer.config.instance
        ):
            session.rollback()
            return False
        values = {
            **context.base(),
            "missing": [
                {
                    "id": branch.id,
                    "name": branch.name,
                    "emails": list(branch.emails),
                    "refused": _refused_files(session, branch.id, context),
                }
                for branch in missing
            ],
            "sent": _sent_files(session, context, rules.branches.values()),
        }
        mailer.queue(
            session,
            Outgoing(
                kind=MISSING_KIND,
                # Customer Care, who chases the branches; never the mailbox we read.
                recipient=rules.customer_care_address(),
                template=MISSING_TEMPLATE,
                context=values,
            ),
        )
        session.commit()
    log.info(
        "recap report for %s: %d branch(es) missing: %s",
        context.due.month,
        len(missing),
        ", ".join(branch.id for branch in missing),
    )
    return True


def _refused_files(session: Session, branch: str, context: _Context) -> list[dict[str, str]]:
    """The branch's refused files that were meant for this month (or arrived in its window unread)."""
    statement = (
        select(RecapFile)
        .where(
            col(RecapFile.branch) == branch,
            col(RecapFile.state) == "refused",
            (col(RecapFile.month) == context.due.month)
            | ((col(RecapFile.month) == "") & (col(RecapFile.received_at) >= context.window_start())),
        )
        .order_by(col(RecapFile.id))
    )
    return [
        {
            "filename": recap.filename,
            "received": recap.received_at.astimezone(context.zone).strftime("%d-%m-%Y %H:%M"),
            "reason": recap.reason,
        }
        for recap in session.execute(statement).scalars()
    ]


def _sent_files(session: Session, context: _Context, branches: Iterable[Branch]) -> list[dict[str, str]]:
    """The branches that did send, with when their first imported file arrived."""
    names = {branch.id: branch.name for branch in branches}
    statement = (
        select(RecapFile)
        .where(col(RecapFile.month) == context.due.month, col(RecapFile.state) == "imported")
        .order_by(col(RecapFile.received_at))
    )
    first: dict[str, RecapFile] = {}
    for recap in session.execute(statement).scalars():
        first.setdefault(recap.branch, recap)
    return [
        {
            "id": branch,
            "name": names.get(branch, branch),
            "received": recap.received_at.astimezone(context.zone).strftime("%d-%m-%Y %H:%M"),
        }
        for branch, recap in first.items()
    ]
