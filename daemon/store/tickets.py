"""Named queries of the ticket stage: the mail waiting for it, its tickets, what a mail belongs to.

The processing stage (`daemon.tickets`) claims stored mail and reads and
writes tickets only through these functions, so every SQL statement about a ticket has a name that says
what it is for. History is appended with `queries.add_event`; nothing here
records history, and callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    bindparam,
    event,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction, make_transient_to_detached
from sqlmodel import Session, col

from daemon.store.leases import lock_key, owner_has_ended
from daemon.store.models import InboundMessage, OutboundMessage, Ticket
from daemon.store.queries import table_of
from daemon.store.rawread import TicketFilter
from daemon.store.vocabulary import WAITING_STATES, InboundState, OutboundKind

SETTLED_STATES = (InboundState.PROCESSED, InboundState.IGNORED, InboundState.DUPLICATE)
"""An inbound mail in one of these states is done with: a later copy of it is a duplicate."""

LifecycleValue = str | date | None
"""What a lifecycle column holds: text, the action target's date, or nothing."""


# --- the mail waiting to be processed ---------------------------------------

PROCESSING_LEASE = timedelta(minutes=2)
"""How long a claim on waiting mail lasts; a claim covers one chunk (`CLAIM_CHUNK`) of mails.

A claim of a process of this host that has ended is taken over at once; one of
another host only when it ran out."""


@dataclass(frozen=True)
class Claimed:
    """A waiting mail this process now holds, and its tries counting this one."""

    id: int
    attempts: int


@dataclass(frozen=True)
class Claimant:
    """Who claims waiting mail, at what time, and which mails it leaves alone for now."""

    owner: str
    now: datetime
    exclude: Collection[int] = ()


def claim_waiting(session: Session, claimant: Claimant, limit: int, *, tried: bool) -> list[Claimed]:
    """Lease up to `limit` due mails to `owner`, oldest first, counting one more try on each.

    Due means stored, or failed before and due again, and not held by a live lease
    of another daemon: a mail another daemon is working on is neither taken nor
    counted. A lease that ran out, or whose owner has ended, was an attempt that
    never finished: taking the mail over counts the next try, and that is how a
    mail that keeps killing its daemon reaches the quarantine. `owner`'s own left-over
    leases (a batch a database error aborted) are taken back the same way. `tried`
    picks the mails with earlier tries (the suspects), else the fresh ones. On
    PostgreSQL rows locked by another claim are skipped, so daemons never wait on
    each other here. The caller commits.
    """
    now, owner = claimant.now, claimant.owner
    free = or_(
        col(InboundMessage.lease_owner).is_(None),
        col(InboundMessage.lease_until).is_(None),
        col(InboundMessage.lease_until) < now,
        col(InboundMessage.lease_owner) == owner,
        col(InboundMessage.lease_owner).in_(_ended_owners(session, now)),
    )
    due = or_(
        col(InboundMessage.state) == InboundState.STORED,
        (col(InboundMessage.state) == InboundState.RETRY) & (col(InboundMessage.next_attempt_at) <= now),
    )
    earlier = col(InboundMessage.attempts) > 0 if tried else col(InboundMessage.attempts) == 0
    conditions = (due, free, earlier, col(InboundMessage.id).not_in(list(claimant.exclude)))
    candidates = (
        select(col(InboundMessage.id))
        .where(*conditions)
        .order_by(col(InboundMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    # Two statements, not `UPDATE ... WHERE id IN (SELECT ... LIMIT n FOR UPDATE)`: PostgreSQL
    # may run such a subquery again per row and update more than `limit` rows.
    chosen = list(session.execute(candidates).scalars())
    if not chosen:
        return []
    claimed = session.execute(
        update(InboundMessage)
        .where(col(InboundMessage.id).in_(chosen), *conditions)
        .values(
            lease_owner=owner,
            lease_until=now + PROCESSING_LEASE,
            attempts=col(InboundMessage.attempts) + 1,
        )
        .returning(col(InboundMessage.id), col(InboundMessage.attempts))
    ).all()
    return [Claimed(row_id, attempts) for row_id, attempts in sorted(claimed)]


def _ended_owners(session: Session, now: datetime) -> list[str]:
    """Owners of live leases on waiting mail that are processes of this host which have ended."""
    owners = session.execute(
        select(col(InboundMessage.lease_owner))
        .where(
            col(InboundMessage.state).in_(WAITING_STATES),
            col(InboundMessage.lease_until) >= now,
        )
        .distinct()
    ).scalars()
    return [owner for owner in owners if owner and owner_has_ended(owner)]


def release_claims(session: Session, owner: str, inbound_ids: Sequence[int]) -> None:
    """Give back mails `owner` claimed and never started on: the try is not counted."""
    if not inbound_ids:
        return
    session.execute(
        update(InboundMessage)
        .where(col(InboundMessage.id).in_(list(inbound_ids)), col(InboundMessage.lease_owner) == owner)
        .values(lease_owner=None, lease_until=None, attempts=col(InboundMessage.attempts) - 1)
    )


def claim_mails(session: Session, inbound_ids: list[int], owner: str) -> dict[int, InboundMessage]:
    """The mails of `inbound_ids` that `owner` still holds the lease of, locked, in one statement.

    The claim that counts: read under the row lock, in the transaction that records what
    became of each mail (a SAVEPOINT each), so two daemons never both process one. A mail
    not in the answer was taken over when its lease ran out, or is held (SKIP LOCKED)."""
    if not inbound_ids:
        return {}
    with session.no_autoflush:  # the mails before were flushed by their SAVEPOINTs
        found = session.execute(_CLAIM_MAILS, {"inbound_ids": inbound_ids, "owner": owner})
        return {row.id: row for row in found.scalars() if row.id is not None}


_CLAIM_MAILS = (  # built once, given only parameters
    select(InboundMessage)
    .where(
        col(InboundMessage.id).in_(bindparam("inbound_ids", expanding=True)),
        col(InboundMessage.lease_owner) == bindparam("owner"),
    )
    .with_for_update(skip_locked=True)
    .execution_options(populate_existing=True)
)


def end_lease(row: InboundMessage) -> None:
    """The attempt on `row` is over, whatever became of it (committed with the outcome)."""
    row.lease_owner = row.lease_until = None


def hold_content(session: Session, row: InboundMessage) -> bool:
    """Whether no other transaction is processing a copy of this mail (same bytes or logical key).

    On PostgreSQL a transaction advisory lock per content key is taken, without
    waiting, and held until this transaction ends: a daemon that cannot take it
    leaves the mail for a moment, and once the other copy's transaction committed
    the dedup stage finds it. SQLite has one writer at a time: always True.
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    keys = [lock_key("content", row.raw_sha256)]
    if row.logical_key:
        keys.append(lock_key("logical", row.logical_key))
    # Advisory locks are per database: the schema's hash is folded in, so two desks
    # in one database (or two tests) never wait on each other's copy of a mail.
    # Both keys in one statement, on the session's connection (a lock needs no flush).
    # `bool_and` of the tries in order: the second is still tried when the first fails,
    # and a lock taken is held until the transaction ends either way.
    got = session.connection().execute(_TRY_CONTENT_LOCKS, {"keys": keys}).scalar_one()
    return bool(got)


_TRY_CONTENT_LOCKS = text(
    "SELECT bool_and(pg_try_advisory_xact_lock(key # hashtextextended(current_schema(), 0))) "
    "FROM unnest(CAST(:keys AS bigint[])) AS key"
)


def earlier_mail_in_other_hands(session: Session, row: InboundMessage, claimant: Claimant) -> bool:
    """Whether another daemon holds a live lease on a mail that came before `row`, still waiting.

    What that daemon makes of it (a ticket, say) is not committed yet, so not visible
    here: a reply to it would find no ticket. Only a mail that names Message-IDs we
    do not know asks this, and then waits for the earlier mail to be settled.
    """
    statement = (
        select(col(InboundMessage.id))
        .where(
            col(InboundMessage.id) < row.id,
            col(InboundMessage.state).in_(WAITING_STATES),
            col(InboundMessage.lease_until) >= claimant.now,
            col(InboundMessage.lease_owner) != claimant.owner,
        )
        .limit(1)
    )
    with session.no_autoflush:
        return session.execute(statement).first() is not None


# --- writing tickets -----------------------------------------------------------


def add_ticket(session: Session, ticket: Ticket) -> Ticket:
    """Store a new ticket; its id is assigned at once, for its history and the mail that made it.

    One prebuilt INSERT ... RETURNING on the session's connection, without a flush:
    the unit of work cost a millisecond a ticket and wrote the mail's pending changes
    a first time. The ticket then joins the session as a stored object, so what the
    rest of the mail changes on it is flushed as an UPDATE, as before. Should the
    transaction it was inserted in roll back (a mail's SAVEPOINT, when a later stage
    fails), it leaves the session again, as a flushed new object would: its id may be
    the next ticket's.
    """
    values = {name: getattr(ticket, name) for name in _TICKET_COLUMNS}
    ticket.id = session.connection().execute(_INSERT_TICKET, values).scalar_one()
    make_transient_to_detached(ticket)
    session.add(ticket)
    inserted_in = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_INSERTED, []).append((inserted_in, ticket))
    return ticket


_INSERTED = "caredesk.tickets_inserted"
"""`session.info` key: the tickets `add_ticket` wrote, each with the transaction it wrote it in."""


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_rolled_back_tickets(session: OrmSession, ended: SessionTransaction) -> None:
    """Tickets inserted in `ended` or in a transaction inside it are gone from the database: expunge them."""
    inserted = session.info.get(_INSERTED)
    if not inserted:
        return
    kept = []
    for transaction, ticket in inserted:
        if _inside(transaction, ended):
            if ticket in session:
                session.expunge(ticket)
        else:
            kept.append((transaction, ticket))
    session.info[_INSERTED] = kept


@event.listens_for(OrmSession, "after_commit")
def _forget_committed_tickets(session: OrmSession) -> None:
    """Once the outermost transaction committed, the inserted tickets are stored for good."""
    if _INSERTED in session.info and session.get_nested_transaction() is None:
        del session.info[_INSERTED]


def _inside(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


_TICKET_TABLE = table_of(Ticket)
_TICKET_COLUMNS = tuple(column.key for column in _TICKET_TABLE.columns if column.key != "id")
_INSERT_TICKET = insert(_TICKET_TABLE).returning(_TICKET_TABLE.c.id)


def set_lifecycle_column(session: Session, ticket: Ticket, column: str, value: LifecycleValue) -> None:
    """Change one column the reply commands manage (status, root cause, department, ...)."""
    setattr(ticket, column, value)
    session.add(ticket)


def set_status(session: Session, ticket: Ticket, status: str) -> None:
    ticket.status = status
    session.add(ticket)


def mark_completed(session: Session, ticket: Ticket, at: datetime) -> None:
    """The ticket was resolved at `at` (the completion date of the complaint form)."""
    ticket.completed_at = at
    session.add(ticket)


def mark_closed_by(session: Session, ticket: Ticket, address: str) -> None:
    ticket.closed_by = address
    session.add(ticket)


def mark_updated(session: Session, ticket: Ticket, at: datetime) -> None:
    ticket.updated_at = at
    session.add(ticket)


def record_survey(session: Session, ticket: Ticket, score: int, comment: str) -> None:
    """The customer's answer to the satisfaction survey."""
    ticket.survey_score, ticket.survey_comment = score, comment
    session.add(ticket)


def fill_pic(session: Session, ticket: Ticket, column: str, value: str) -> None:
    """Set an empty PIC column (`pic_phone` or `pic_email`); a value already there is never replaced."""
    if column not in ("pic_phone", "pic_email"):
        raise ValueError(f"{column!r} is not a PIC column")
    if getattr(ticket, column):
        raise ValueError(f"{ticket.reference} already has its {column}")
    setattr(ticket, column, value)
    session.add(ticket)


def link_related(session: Session, ticket: Ticket, related: Ticket) -> None:
    """`ticket` was opened because of `related` (a survey answer under the standard)."""
    ticket.related_ticket_id = related.id
    session.add(ticket)


# --- the register: tickets by status and department, newest first -------------
# The filter is `daemon.store.rawread.TicketFilter`: `tickets list` reads the register
# through the plain driver with the same filter (`TicketFilter.where_sql`).


def filter_conditions(wanted: TicketFilter) -> list[ColumnElement[bool]]:
    """`wanted` as ORM conditions; `TicketFilter.where_sql` is the same filter for the plain driver."""
    found: list[ColumnElement[bool]] = []
    if wanted.statuses is not None:
        found.append(col(Ticket.status).in_(wanted.statuses))
    if wanted.excluded:
        # Inline, not bound: SQLite uses a partial index (`ix_ticket_open`) only for a
        # WHERE that states its condition in constants.
        excluded: BindParameter[tuple[str, ...]] = bindparam(
            "excluded", wanted.excluded, expanding=True, literal_execute=True
        )
        found.append(col(Ticket.status).not_in(excluded))
    if wanted.department is not None:
        found.append(col(Ticket.department) == wanted.department)
    return found


def count_tickets(session: Session, wanted: TicketFilter) -> int:
    """How many tickets `wanted` matches, counted by the database."""
    statement = select(func.count()).select_from(Ticket).where(*filter_conditions(wanted))
    return int(session.execute(statement).scalar_one())


def newest_tickets(session: Session, wanted: TicketFilter, *, offset: int, limit: int) -> list[Ticket]:
    """One page of the tickets `wanted` matches, newest first (the latest registered on top)."""
    statement = _newest_first(wanted).offset(offset).limit(limit)
    return list(session.execute(statement).scalars())


def stream_newest_tickets(session: Session, wanted: TicketFilter, *, batch: int = 500) -> Iterator[Ticket]:
    """Every ticket `wanted` matches, newest first, fetched `batch` rows at a time (never all at once)."""
    statement = _newest_first(wanted).execution_options(yield_per=batch)
    yield from session.execute(statement).scalars()


def _newest_first(wanted: TicketFilter) -> Select[Any]:
    return select(Ticket).where(*filter_conditions(wanted)).order_by(col(Ticket.id).desc())


# --- reading tickets, and what a mail belongs to ------------------------------


def ticket_by_id(session: Session, ticket_id: int | None) -> Ticket | None:
    return None if ticket_id is None else session.get(Ticket, ticket_id)


def references_linked_to(session: Session, ticket: Ticket) -> list[str]:
    """The references of the tickets linked to this one (opened from its survey answer), oldest first."""
    statement = (
        select(col(Ticket.reference))
        .where(col(Ticket.related_ticket_id) == ticket.id)
        .order_by(col(Ticket.id))
    )
    return list(session.execute(statement).scalars())


def ticket_of_message_ids(session: Session, message_ids: Sequence[str]) -> int | None:
    """The ticket one of these Message-IDs belongs to: one of our mails first, then one we received.

    Outbox rows are written straight away (`Mailer.queue`) and each mail's SAVEPOINT
    flushed the mails before it, so nothing pending needs flushing first.
    """
    with session.no_autoflush:
        return _ticket_of_message_ids(session, message_ids)


def _ticket_of_message_ids(session: Session, message_ids: Sequence[str]) -> int | None:
    ticket_id = session.execute(_TICKET_OF_MESSAGE_IDS, {"ids": list(message_ids)}).scalar()
    return None if ticket_id is None else int(ticket_id)


def _ticket_of_message_ids_statement() -> Select[Any]:
    """Both tables in one query, built once; a mail of ours (rank 0) wins over one we received."""
    ids: BindParameter[list[str]] = bindparam("ids", expanding=True)
    ours = select(col(OutboundMessage.ticket_id), literal_column("0", Integer).label("rank")).where(
        col(OutboundMessage.message_id).in_(ids), col(OutboundMessage.ticket_id).is_not(None)
    )
    received = select(col(InboundMessage.ticket_id), literal_column("1", Integer).label("rank")).where(
        col(InboundMessage.message_id).in_(ids), col(InboundMessage.ticket_id).is_not(None)
    )
    return select(union_all(ours, received).subquery().c.ticket_id).order_by(text("rank")).limit(1)


_TICKET_OF_MESSAGE_IDS = _ticket_of_message_ids_statement()


def survey_sent(session: Session, ticket: Ticket) -> bool:
    """Whether the satisfaction survey was queued for this ticket."""
    sent = session.execute(
        select(col(OutboundMessage.id)).where(
            col(OutboundMessage.ticket_id) == ticket.id, col(OutboundMessage.kind) == "survey"
        )
    ).first()
    return sent is not None


def noticed_ticket_ids(session: Session, ticket_ids: Sequence[int]) -> set[int]:
    """Those of `ticket_ids` whose department notice was queued already (whatever became of it)."""
    if not ticket_ids:
        return set()
    statement = select(col(OutboundMessage.ticket_id)).where(
        col(OutboundMessage.ticket_id).in_(ticket_ids), col(OutboundMessage.kind) == OutboundKind.NOTICE
    )
    return {ticket_id for ticket_id in session.execute(statement).scalars() if ticket_id is not None}


def first_customer_message_id(session: Session, ticket: Ticket) -> str | None:
    """The Message-ID of the customer's first mail on the ticket: what our answers reply to."""
    return (
        session.execute(
            select(col(InboundMessage.message_id))
            .where(
                col(InboundMessage.ticket_id) == ticket.id,
                col(InboundMessage.from_address) == ticket.customer_email,
            )
            .order_by(col(InboundMessage.id))
        )
        .scalars()
        .first()
    )


@dataclass(frozen=True)
class EarlierCopy:
    """The settled mail a new one repeats: its row and the ticket it went to."""

    id: int
    ticket_id: int | None


def earlier_copy(session: Session, row: InboundMessage, since: datetime) -> EarlierCopy | None:
    """A settled mail with the same bytes, or the same logical key received since `since`."""
    # A bound None never equals anything: a mail without a logical key (not parsed) has no logical copy.
    values = {"row_id": row.id, "sha": row.raw_sha256, "logical_key": row.logical_key, "since": since}
    # The mails before this one were flushed by its SAVEPOINT; its own row is excluded.
    # Two columns on the connection: no ORM object (nor the copy's raw bytes) is loaded.
    found = session.connection().execute(_EARLIER_COPY, values).first()
    return None if found is None else EarlierCopy(found.id, found.ticket_id)


_EARLIER_COPY = (
    select(col(InboundMessage.id), col(InboundMessage.ticket_id))
    .where(
        col(InboundMessage.id) != bindparam("row_id"),
        col(InboundMessage.state).in_(SETTLED_STATES),
        or_(
            col(InboundMessage.raw_sha256) == bindparam("sha"),
            (col(InboundMessage.logical_key) == bindparam("logical_key"))
            & (col(InboundMessage.received_at) >= bindparam("since")),
        ),
    )
    .order_by(col(InboundMessage.id))
    .limit(1)
)
