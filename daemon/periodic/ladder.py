"""The SLA ladder scheduler: reminders and escalations for open tickets, each sent exactly once.

Every minute the daemon asks, for every open ticket, which steps of its ladder
(`daemon.sla.policy.ladder_steps`) it has earned by now: a reminder to the
department before a target is due, an escalation to the department manager
when it is breached, and one to the general manager a while after that; and,
once the customer had a first response, a reminder before the next update to
the customer is due (`daemon.sla.policy.update_steps`, one per update window).

A run works in two passes:

1. It reads the open tickets in batches and plans each earned, unclaimed
   step (`daemon.periodic.plan`): its bucket is one kind of step to one
   recipient. A reminder whose breach is earned too is planned as skipped.
2. For each bucket, in one transaction: it reads the bucket's tickets again
   (one may have been answered or resolved meanwhile), claims each step still
   earned as a (`sla-ladder`, period key) row (`daemon.store.claims`), queues
   ONE mail listing every step it won (`daemon.periodic.ladder_mail`) and
   writes each ticket's history entry, then commits. A manager with 500
   overdue tickets gets one mail, not 500.

Only the tickets whose next look has come are read (`ticket.next_sla_step_at`,
through its index: `daemon.store.sla_due`), not every open ticket: when the run
is over, each of them gets, in the transaction that reads it again, the moment
it earns its next step (`daemon.sla.policy.next_step_at`), or NULL when none is
left. A change to the ticket, a human message to its customer or other rules
make it due again at once. An idle run reads an empty index range.

Claims and mail commit together, so a crash mid-run loses nothing and sends
nothing twice: a committed bucket's steps are claimed with their mail, a
bucket that did not commit is planned again by the next run. A step is mailed
once however often the ladder runs, across restarts and with several daemons
on one database; every daemon claims in the same order (bucket, ticket, key),
so two of them never wait on each other in a circle. A step with nobody to
tell (no manager configured) and a skipped reminder are claimed too, and the
history says so, once.

A reopened ticket climbs the resolution ladder again: its steps carry its
`resolution_cycle` in their keys.

Tickets from branch recaps are left alone: the branch handled them, and
head-office departments are not chased for them. Tickets without stamped due
dates (made before due dates existed) are left alone too.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import load_only
from sqlmodel import Session, col

from daemon.periodic.ladder_mail import Claimed, mail_bucket
from daemon.periodic.plan import Bucket, plan_steps, recipient_for
from daemon.periodic.steps import NO_UPDATES, LadderRun, Updates, earned_steps
from daemon.sla.policy import LADDER_JOB
from daemon.sla.stamping import CLOSED_STATUSES, RECAP_ORIGIN_PREFIX, UPDATE_KINDS
from daemon.store import claims, db, sla_due
from daemon.store.models import JobClaim, OutboundMessage, Ticket

__all__ = [
    "NO_UPDATES",
    "LadderRun",
    "Updates",
    "customer_updates",
    "earned_steps",
    "recipient_for",
    "run_ladder",
]

BATCH = 200
"""Tickets looked at per query; their claimed steps are read in one go."""

_COLUMNS = ("id", "reference", *sla_due.LADDER_INPUTS)
"""What the ladder reads of a due ticket: its identity and every input of its steps."""

Wanted = Mapping[int, frozenset[str]]
"""Ticket id -> the period keys of its steps planned into one bucket."""


def run_ladder(engine: Engine, run: LadderRun) -> Counter[str]:
    """Send every reminder and escalation open tickets have earned by `run.now` and not had yet.

    One mail per recipient and kind of step; the counts are of steps
    (`sla_reminders`, `sla_escalations`, `sla_reminders_skipped`,
    `sla_no_recipient`) and of mails listing several (`sla_digests`).
    """
    counts: Counter[str] = Counter()
    _note_rules(engine, run)
    with db.read_session(engine) as session:
        due = sla_due.due_ticket_ids(session, run.now)
    if not due:
        return counts
    buckets = _plan(engine, run, due)
    for bucket in sorted(buckets, key=Bucket.sort_key):
        counts.update(_claim_and_mail(engine, bucket, buckets[bucket], run))
    # Only once every bucket committed: a failed one leaves its tickets due for the next run.
    _settle(engine, run, due)
    return counts


MATHS = 1
"""Counted up when the SLA maths change: the next looks stored before are worked out again."""


def rules_fingerprint(run: LadderRun) -> str:
    """What the stored next looks depend on besides the tickets: the rules, the zone, the maths."""
    return f"{run.rules.version}/{run.timezone}/{MATHS}"


def _note_rules(engine: Engine, run: LadderRun) -> None:
    """Under other rules than the last run, every open ticket is looked at again."""
    fingerprint = rules_fingerprint(run)
    with db.read_session(engine) as session:
        if sla_due.recorded_rules(session) == fingerprint:
            return
    with db.session(engine) as session:
        sla_due.rules_changed(session, fingerprint, CLOSED_STATUSES)
        session.commit()


def _settle(engine: Engine, run: LadderRun, due: list[int]) -> None:
    """Write when each looked-at ticket is next due, each from its state as it is now."""
    for start in range(0, len(due), BATCH):
        chunk = due[start : start + BATCH]
        with db.session(engine) as session:
            # Locked (PostgreSQL; SQLite's writer holds the database): a change
            # committed after this read waits, and then marks the ticket again.
            statement = (
                select(Ticket)
                .options(load_only(*(getattr(Ticket, name) for name in _COLUMNS)))
                .where(col(Ticket.id).in_(chunk))
                .order_by(col(Ticket.id))
                .with_for_update()
            )
            tickets = list(session.execute(statement).scalars())
            updates = customer_updates(session, chunk)
            earned = {
                ticket.id: run.earned(ticket, updates.get(ticket.id, NO_UPDATES))
                for ticket in tickets
                if ticket.id is not None
            }
            claimed = _claimed(session, (step.period_key for steps in earned.values() for step in steps))
            next_at = {
                ticket.id: (
                    sla_due.RECHECK
                    if any(step.period_key not in claimed for step in earned[ticket.id])
                    else run.next_at(ticket, updates.get(ticket.id, NO_UPDATES))
                )
                for ticket in tickets
                if ticket.id is not None
            }
            sla_due.settle(session, next_at)
            session.commit()


def customer_updates(session: Session, ticket_ids: list[int]) -> dict[int, Updates]:
    """Ticket id -> (count, latest) of the human messages queued to its customer."""
    if not ticket_ids:
        return {}
    statement = (
        select(
            col(OutboundMessage.ticket_id),
            func.count(col(OutboundMessage.id)),
            func.max(col(OutboundMessage.created_at)),
        )
        .where(col(OutboundMessage.ticket_id).in_(ticket_ids), col(OutboundMessage.kind).in_(UPDATE_KINDS))
        .group_by(col(OutboundMessage.ticket_id))
    )
    return {ticket_id: (count, latest) for ticket_id, count, latest in session.execute(statement).all()}


def _plan(engine: Engine, run: LadderRun, due: list[int]) -> dict[Bucket, Wanted]:
    """Pass 1: every earned step of the `due` tickets not claimed yet, by the bucket it goes out in."""
    plan: defaultdict[Bucket, defaultdict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for start in range(0, len(due), BATCH):
        with db.read_session(engine) as session:
            batch = _open_tickets(session, due[start : start + BATCH])
            updates = customer_updates(session, [ticket.id for ticket in batch if ticket.id is not None])
            planned = {
                ticket.id: plan_steps(
                    run.earned(ticket, updates.get(ticket.id or 0, NO_UPDATES)), run.department_of(ticket)
                )
                for ticket in batch
                if ticket.id is not None
            }
            claimed = _claimed(session, (p.step.period_key for steps in planned.values() for p in steps))
        for ticket_id, steps in planned.items():
            for step in steps:
                if step.step.period_key not in claimed:
                    plan[step.bucket][ticket_id].add(step.step.period_key)
    return {bucket: {tid: frozenset(keys) for tid, keys in wanted.items()} for bucket, wanted in plan.items()}


def _claim_and_mail(engine: Engine, bucket: Bucket, wanted: Wanted, run: LadderRun) -> Counter[str]:
    """Pass 2, one bucket in one transaction: claim its steps still earned, one mail, the history."""
    with db.session(engine) as session:
        won: list[Claimed] = []
        for ticket, updates in _tickets(session, sorted(wanted)):
            assert ticket.id is not None
            department = run.department_of(ticket)
            planned = plan_steps(run.earned(ticket, updates), department)
            for step in sorted(planned, key=lambda p: p.step.period_key):
                key = step.step.period_key
                if step.bucket != bucket or key not in wanted[ticket.id]:
                    continue
                if claims.claim(session, LADDER_JOB, key, now=run.now, owner=run.owner):
                    won.append(Claimed(ticket, step, department))
        counts = mail_bucket(session, bucket, won, run)
        session.commit()
    return counts


def _tickets(session: Session, ids: list[int]) -> Iterable[tuple[Ticket, Updates]]:
    """The tickets of `ids` as they are now, in id order, with their customer updates."""
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        found = session.execute(select(Ticket).where(col(Ticket.id).in_(chunk)).order_by(col(Ticket.id)))
        tickets = list(found.scalars())
        updates = customer_updates(session, chunk)
        for ticket in tickets:
            yield ticket, updates.get(ticket.id or 0, NO_UPDATES)


def _open_tickets(session: Session, ids: list[int]) -> list[Ticket]:
    statement = (
        select(Ticket)
        .options(load_only(*(getattr(Ticket, name) for name in _COLUMNS)))
        .where(
            col(Ticket.id).in_(ids),
            col(Ticket.status).not_in(CLOSED_STATUSES),
            col(Ticket.resolution_due).is_not(None),
            col(Ticket.origin).not_like(f"{RECAP_ORIGIN_PREFIX}%"),
        )
        .order_by(col(Ticket.id))
    )
    return list(session.execute(statement).scalars())


def _claimed(session: Session, keys: Iterable[str]) -> set[str]:
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    statement = select(col(JobClaim.period)).where(
        col(JobClaim.job) == LADDER_JOB, col(JobClaim.period).in_(wanted)
    )
    return set(session.execute(statement).scalars())
