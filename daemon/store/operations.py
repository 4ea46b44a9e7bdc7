"""The operations record (`operation_event`): what was done outside any ticket, who did it and why.

Append-only, like a ticket's history. Written in the transaction of what it
records (the mail queued again, the hold placed or lifted), so the record and
the deed stand or fall together.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session, col

from daemon.store.models import OperationEvent


def record(session: Session, event: OperationEvent) -> OperationEvent:
    """Add one record to the caller's transaction (flushed, so its id is known)."""
    session.add(event)
    session.flush()
    return event


def recorded(
    session: Session, *, actions: Iterable[str], subject_prefix: str = "", limit: int | None = None
) -> list[OperationEvent]:
    """The records of these actions (about subjects starting with `subject_prefix`), oldest first."""
    statement = select(OperationEvent).where(col(OperationEvent.action).in_(sorted(set(actions))))
    if subject_prefix:
        statement = statement.where(col(OperationEvent.subject).startswith(subject_prefix, autoescape=True))
    if limit is not None:
        newest = statement.order_by(col(OperationEvent.id).desc()).limit(limit)
        return list(reversed(session.execute(newest).scalars().all()))
    return list(session.execute(statement.order_by(col(OperationEvent.id))).scalars())
