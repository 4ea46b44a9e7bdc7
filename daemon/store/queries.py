"""Database operations shared by the stages: idempotent inserts, checkpoints,
ticket references and the append-only ticket history.

Nothing here parses, routes or renders; callers own the transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from daemon.store import numbers
from daemon.store.models import InboundMessage, MailboxCheckpoint, Ticket, TicketEvent
from daemon.store.vocabulary import InboundState


@dataclass(frozen=True)
class Fetched:
    """A raw message as a mailbox handed it over, with its stable id in that mailbox."""

    key: str
    raw: bytes
    uidvalidity: int | None = None
    uid: int | None = None
    oversize: int | None = None
    """The real size of a mail over `max_message_bytes` when fetched: processing holds it."""
    arrived_at: datetime | None = None
    """When the mailbox received it (IMAP INTERNALDATE, Maildir file time); None if unknown."""
    reason: str = ""
    """With `oversize`: what the record says about its size (it starts with `OVERSIZE`)."""
    headers_only: bool = False
    """Only the headers were fetched (over the fetch cap): the mail stays in the intake folder,
    and its row's disposition is `LEFT_IN_MAILBOX`."""


OVERSIZE = "oversize:"
"""How the reason of a mail stored over `max_message_bytes` starts; processing holds such a mail
while it is still over the limit in force (headers-only rows of old were told by it in migration 0004)."""


LEFT_IN_MAILBOX = "left"
"""The disposition of a mail never moved out of the intake folder: too big to fetch whole."""


def insert_ignore(session: Session, model: Any, values: dict[str, Any], keys: Sequence[str]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when a row was inserted.

    Repeated or concurrent inserts of the same thing are then no-ops, not errors,
    which is what makes re-fetching a mail after a crash harmless.
    """
    return insert_ignore_returning(session, model, values, keys) is not None


def insert_ignore_returning(
    session: Session, model: Any, values: dict[str, Any], keys: Sequence[str]
) -> Any | None:
    """Like `insert_ignore`, giving the new row's primary key (first column), or None."""
    statement = _insert_ignoring(session.get_bind().dialect.name, table_of(model), tuple(keys))
    # On the session's connection, without flushing first: every row this one refers
    # to (a ticket, a mail) has its id, so it is in the database. The values are bound
    # parameters of a statement built once, not literals coerced into a new one each time.
    row = session.connection().execute(statement, values).first()
    return None if row is None else row[0]


@functools.cache
def _insert_ignoring(dialect: str, table: Table, keys: tuple[str, ...]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO NOTHING RETURNING the primary key, on the table (plain Core)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).on_conflict_do_nothing(index_elements=list(keys))
    # rowcount is not reliable here (psycopg reports -1), a returned row is.
    return statement.returning(*table.primary_key.columns)


def record_fetched(
    session: Session,
    source: str,
    messages: Iterable[Fetched],
    *,
    received_at: datetime,
    checkpoint: tuple[int, int] | None = None,
) -> int:
    """Commit-1 of a batch: the raw bytes of every message, and the checkpoint with them.

    Because the checkpoint moves in the same transaction as the rows, the two can
    never disagree. Returns how many messages were new.
    """
    inserted = 0
    for message in messages:
        values: dict[str, Any] = {
            "source": source,
            "source_key": message.key,
            "uidvalidity": message.uidvalidity,
            "uid": message.uid,
            "raw": message.raw,
            "raw_sha256": hashlib.sha256(message.raw).hexdigest(),
            "size": message.oversize if message.headers_only and message.oversize else len(message.raw),
            "state": InboundState.STORED,
            "reason": "",
            "headers_only": False,
            "attempts": 0,
            "disposition": "pending",
            "received_at": received_at,
            "arrived_at": message.arrived_at or received_at,
        }
        if message.oversize:
            values["reason"] = message.reason or f"{OVERSIZE} {message.oversize} bytes"
        if message.headers_only:
            values["headers_only"] = True
            values["disposition"] = LEFT_IN_MAILBOX
        inserted += insert_ignore(session, InboundMessage, values, ["source", "source_key"])
    if checkpoint is not None:
        save_checkpoint(session, source, *checkpoint, now=received_at)
    return inserted


def load_checkpoint(session: Session, source: str) -> MailboxCheckpoint | None:
    return session.get(MailboxCheckpoint, source)


def save_checkpoint(session: Session, source: str, uidvalidity: int, last_uid: int, *, now: datetime) -> None:
    existing = session.get(MailboxCheckpoint, source)
    if existing is None:
        session.add(
            MailboxCheckpoint(source=source, uidvalidity=uidvalidity, last_uid=last_uid, updated_at=now)
        )
        return
    if existing.uidvalidity != uidvalidity:
        existing.uidvalidity, existing.last_uid = uidvalidity, last_uid
    else:
        existing.last_uid = max(existing.last_uid, last_uid)
    existing.updated_at = now
    session.add(existing)


def next_reference(session: Session, prefix: str, year: int) -> str:
    """The next `PREFIX-YEAR-NNNNNN`, unique across processes (`daemon.store.numbers`)."""
    key = f"{prefix}-{year}"
    (number,) = numbers.reserve(session, key, 1)
    return f"{key}-{number:06d}"


@dataclass(frozen=True)
class History:
    """One history entry to append: who did what, when and why, and what it changed or came from."""

    actor: str
    action: str
    at: datetime
    reason: str = ""
    field_name: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    inbound_id: int | None = None
    outbound_id: int | None = None
    data: dict[str, Any] | None = None
    """What the event decided, as JSON-able data (the routing decision on `routed`)."""


_EVENT_FIELDS = tuple(field.name for field in dataclasses.fields(History))


def table_of(model: Any) -> Table:
    """The Core table of a SQLModel class (its `__table__`, which its type does not declare)."""
    table: Table = model.__table__
    return table


_INSERT_EVENT = insert(table_of(TicketEvent))


_PENDING_EVENTS = "caredesk.pending_events"
"""The `session.info` key of the entries `events_together` holds back."""


def add_event(session: Session, ticket: Ticket, entry: History) -> None:
    """Append one history entry; history is never edited.

    Written at once with a plain INSERT, in the caller's transaction: no ORM
    object to track and flush, and the entry is in the database, in order, as soon
    as it is added; inside `events_together`, at the end of that block. The
    ticket has its id, so it is in the database already.
    """
    assert ticket.id is not None
    values = {name: getattr(entry, name) for name in _EVENT_FIELDS}
    values["ticket_id"] = ticket.id
    pending: list[dict[str, Any]] | None = session.info.get(_PENDING_EVENTS)
    if pending is not None:
        pending.append(values)
        return
    session.connection().execute(_INSERT_EVENT, values)


@contextlib.contextmanager
def events_together(session: Session) -> Iterator[None]:
    """The history entries added inside the block, written in order in one statement at its end.

    For a block that adds several entries and reads none back (a new complaint's
    five: created, routed, two mails queued, notes): one executemany instead of an
    INSERT each, which on PostgreSQL is one round trip instead of five. When the
    block raises, its entries are dropped with it (the caller's SAVEPOINT rolls
    back what the block wrote). Inside another such block, the outer one writes them.
    """
    if _PENDING_EVENTS in session.info:
        yield
        return
    pending: list[dict[str, Any]] = []
    session.info[_PENDING_EVENTS] = pending
    try:
        yield
    finally:
        del session.info[_PENDING_EVENTS]
    if pending:
        session.connection().execute(_INSERT_EVENT, pending)


def find_ticket(session: Session, reference: str) -> Ticket | None:
    return session.execute(select(Ticket).where(col(Ticket.reference) == reference.upper())).scalars().first()


def prior_complaint_times(session: Session, customer_email: str, since: datetime) -> tuple[datetime, ...]:
    values = {"customer_email": customer_email, "since": since}
    return tuple(session.execute(_PRIOR_COMPLAINT_TIMES, values).scalars())


# Built once, given only parameters (one query per complaint).
_PRIOR_COMPLAINT_TIMES = (
    select(col(Ticket.received_at))
    .where(
        col(Ticket.customer_email) == bindparam("customer_email"),
        col(Ticket.received_at) >= bindparam("since"),
    )
    .order_by(col(Ticket.received_at))
)


def count_by_state(session: Session) -> dict[str, int]:
    statement = select(col(InboundMessage.state), func.count()).group_by(col(InboundMessage.state))
    return {state: count for state, count in session.execute(statement).all()}
