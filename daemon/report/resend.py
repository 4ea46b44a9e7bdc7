"""Mailing a month's report again, on record: `caredesk report monthly --resend --reason TEXT`.

The monthly job sends each recipient's report once (a `monthly-report` claim per
month and recipient, `daemon.report.mailing`). When that report was wrong (made
under a clock that had jumped, before the month was over, with data fixed
since), an administrator re-issues it: the report is made again as of now and
queued through the same mailer to the same recipients, marked as re-issued with
the reason in the mail itself. Each resend is an `operation_event`
(`report-resent`, subject `report/<month>/<recipient>`) with who, why and the
outbox row, written in the transaction that queues the mail. The claim is taken
too if it was missing, so the monthly job does not send the month a second time.

A month that is not over is refused: its report would again lack the rest of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlmodel import col

from daemon.report.mailing import (
    REPORT_JOB,
    Recipient,
    ReportMail,
    queue_report,
    report_period,
    report_recipients,
)
from daemon.report.periods import Month
from daemon.store import claims, db, operations
from daemon.store.models import JobClaim, OperationEvent
from daemon.store.vocabulary import Operation


class ResendRefused(ValueError):
    """The resend cannot be done as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Resent:
    """One recipient's report queued again."""

    recipient: str
    outbound_id: int | None
    state: str
    """The outbox row's state: `pending`, or `failed` / `suppressed` with `error`."""
    error: str | None
    first_sent: datetime | None
    """When the monthly job first queued this recipient's report; None if it never did."""


@dataclass(frozen=True, slots=True)
class Issue:
    """A line of a month's report history: sent by the monthly job, or re-sent by a person."""

    at: datetime
    recipient: str
    action: str
    """`sent` (the monthly job's claim) or `report-resent`."""
    actor: str
    reason: str
    outbound_id: int | None


def resend_monthly(
    engine: Engine, job: ReportMail, month: Month, *, actor: str, only: Sequence[str] = ()
) -> list[Resent]:
    """Queue the report of `month` again to its recipients (or those in `only`), each recorded with why."""
    if not job.reissue.strip():
        raise ResendRefused("a resend needs a reason, for the record")
    end = month.bounds(job.zone)[1]
    if job.now < end:
        raise ResendRefused(
            f"{month} is not over (it ends {end:%Y-%m-%d %H:%M %Z}): its report would miss the rest of "
            "the month; resend it after that"
        )
    resent = []
    for recipient in _chosen(report_recipients(job.rules), only):
        period = report_period(month, recipient.address)
        with db.session(engine) as session:
            claim = session.get(JobClaim, (REPORT_JOB, period))
            first_sent = claim.claimed_at if claim is not None else None
            queued = queue_report(session, job, month, recipient)
            # Taken if missing: the monthly job must not send this month to them again.
            claims.claim(session, REPORT_JOB, period, now=job.now, owner=actor)
            outbound_id = queued.id if queued is not None else None
            operations.record(
                session,
                OperationEvent(
                    at=job.now,
                    action=Operation.REPORT_RESENT,
                    subject=period,
                    actor=actor,
                    reason=job.reissue,
                    outbound_id=outbound_id,
                    data={
                        "month": str(month),
                        "recipient": recipient.address,
                        "departments": list(recipient.departments),
                        "first_sent": first_sent.isoformat() if first_sent else None,
                    },
                ),
            )
            session.commit()
        resent.append(
            Resent(
                recipient=recipient.address,
                outbound_id=outbound_id,
                state=queued.state if queued is not None else "not queued",
                error=queued.error if queued is not None else None,
                first_sent=first_sent,
            )
        )
    return resent


def _chosen(recipients: list[Recipient], only: Sequence[str]) -> list[Recipient]:
    """The recipients named in `only` (all when it is empty); an address that is none is refused."""
    if not only:
        return recipients
    wanted = {address.strip().lower() for address in only}
    known = {recipient.address for recipient in recipients}
    if unknown := sorted(wanted - known):
        raise ResendRefused(
            f"not a recipient of the monthly report: {', '.join(unknown)}; "
            f"the recipients are: {', '.join(sorted(known))}"
        )
    return [recipient for recipient in recipients if recipient.address in wanted]


def history(engine: Engine, month: Month) -> list[Issue]:
    """Every sending of the report of `month`: the monthly job's, then each resend, in time order."""
    prefix = report_period(month, "")
    with db.session(engine) as session:
        statement = select(JobClaim).where(
            col(JobClaim.job) == REPORT_JOB, col(JobClaim.period).startswith(prefix, autoescape=True)
        )
        sent = list(session.execute(statement).scalars())
        resent = operations.recorded(session, actions=(Operation.REPORT_RESENT,), subject_prefix=prefix)
    lines = [
        Issue(
            claim.claimed_at, claim.period.removeprefix(prefix), "sent", claim.owner or "the daemon", "", None
        )
        for claim in sent
        # A claim taken by a resend (none had been sent) is the resend's line.
        if not any(event.subject == claim.period and event.at == claim.claimed_at for event in resent)
    ]
    lines += [
        Issue(
            event.at,
            event.subject.removeprefix(prefix),
            event.action,
            event.actor,
            event.reason,
            event.outbound_id,
        )
        for event in resent
    ]
    return sorted(lines, key=lambda line: (line.at, line.recipient))
