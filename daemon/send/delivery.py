"""The outbox sender: delivers queued mail rows through a transport, with retries.

Rows are claimed with a lease (a compare-and-set update, so several daemons on one
database never send the same row), then sent one by one. Before each attempt the
row is marked `sending` in the same commit that records the previous result, so a
crash in the middle leaves a precise trace: a row still `sending` after its lease
ran out may or may not have gone out. Acknowledgements in that state are marked
`uncertain` and not resent (a missing thank-you beats a duplicate); notices and
escalations are resent with the identical bytes and Message-ID (a duplicate beats
a lost escalation, and mail clients fold identical Message-IDs).

A row that will not go out on its own is a person's to retry: `daemon.send.requeue`.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Update, bindparam, or_, select, update
from sqlmodel import Session, col

from daemon import logfields
from daemon.send.transports import (
    DeliveryError,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
    Transport,
    UncertainOutcome,
    file_name_for,
)
from daemon.store import db
from daemon.store.leases import owner_has_ended
from daemon.store.models import OutboundMessage, Ticket
from daemon.store.queries import table_of
from daemon.store.vocabulary import OutboundKind, OutboundState

log = logging.getLogger("caredesk.outbox")

LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=1)
# Mail whose loss is worse than a duplicate (which mail clients fold by Message-ID):
# what departments and managers must act on, and people's answers to the customer.
RESEND_WHEN_UNCERTAIN = frozenset(
    {
        OutboundKind.NOTICE,
        OutboundKind.ESCALATION,
        OutboundKind.SLA_ESCALATION,
        OutboundKind.FORWARD,
        OutboundKind.REASSIGNED,
        OutboundKind.REPLY,
        OutboundKind.RESOLUTION,
    }
)
DUE_STATES = (OutboundState.PENDING, OutboundState.RETRY)


def retry_delay(attempts: int, base_seconds: int) -> timedelta:
    """Exponential backoff: base, 2×base, 4×base ... capped at an hour."""
    delay = timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0))
    return min(delay, MAX_BACKOFF)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a mail the server deferred is tried, and how long apart (caredesk.toml `[smtp]`)."""

    max_attempts: int
    """A temporary failure on this attempt fails the mail for good."""
    base_seconds: int
    """The first wait; each later one doubles, up to `MAX_BACKOFF`."""

    def delay(self, attempts: int) -> timedelta:
        """The wait before the next try of a mail tried `attempts` times."""
        return retry_delay(attempts, self.base_seconds)


class OutboxSender:
    def __init__(
        self,
        engine: Engine,
        transport_factory: Callable[[], Transport],
        clock: Callable[[], datetime],
        *,
        owner: str,
        retries: RetryPolicy,
    ) -> None:
        self.engine = engine
        self.transport_factory = transport_factory
        self.clock = clock
        self.owner = owner
        self.retries = retries
        self._outage_logged = False
        self.attempts: Counter[tuple[str, str]] = Counter()
        """Every delivery attempt since start, by (kind, end state): the metrics' counts by kind."""
        self._unfinished: set[int] = set()
        """Rows this sender claimed in a round that ended in an error (the database refused a write)."""

    @property
    def in_outage(self) -> bool:
        """Whether the mail server was unreachable at the last try and has not answered since."""
        return self._outage_logged

    def deliver_due(self, stop: threading.Event | None = None, batch: int = 200) -> Counter[str]:
        """Send every row that is due now, batch by batch; return counts by end state."""
        counts: Counter[str] = Counter()
        self.recover_stale()
        with self.transport_factory() as transport:
            while stop is None or not stop.is_set():
                claimed = self._claim(batch)
                if not claimed:
                    break
                self._unfinished.update(claimed)
                outage = self._send_claimed(transport, claimed, counts)
                self._unfinished.difference_update(claimed)  # not reached when the round raised
                if outage:
                    break
        return counts

    def recover_stale(self) -> None:
        """Settle rows left `sending` by a process that died mid-delivery, and this sender's own
        claims from a round that ended in an error."""
        now = self.clock()
        with db.session(self.engine) as session:
            # A lease that ran out, or one held by a process of this host that is
            # gone: after a crash and a restart the interrupted mail goes out at
            # once instead of a whole lease (10 min) later; before, every crash
            # held back the rows it had claimed, notices and escalations included.
            gone = _release_ended_owners(session, now)
            stale = (
                session.execute(
                    select(OutboundMessage).where(
                        col(OutboundMessage.state) == OutboundState.SENDING,
                        or_(
                            col(OutboundMessage.lease_until) < now, col(OutboundMessage.lease_owner).in_(gone)
                        ),
                    )
                )
                .scalars()
                .all()
            )
            for row in stale:
                settle_interrupted(row, now)
                session.add(row)
            self._take_back_unfinished(session, now)
            session.commit()
        self._unfinished.clear()

    def _take_back_unfinished(self, session: Session, now: datetime) -> None:
        """The rows of this sender's last round that ended in an error, settled as after a crash.

        A row still due is free again at once instead of a lease (10 min) later; a row
        left `sending` was maybe sent, and is settled as an interrupted delivery.
        """
        if not self._unfinished:
            return
        mine = session.execute(
            select(OutboundMessage).where(
                col(OutboundMessage.id).in_(sorted(self._unfinished)),
                col(OutboundMessage.lease_owner) == self.owner,
            )
        ).scalars()
        for row in mine:
            if row.state == OutboundState.SENDING:
                settle_interrupted(row, now)
            elif row.state in DUE_STATES:
                row.lease_owner = row.lease_until = None
            session.add(row)

    def _claim(self, batch: int) -> list[int]:
        now = self.clock()
        free = or_(col(OutboundMessage.lease_until).is_(None), col(OutboundMessage.lease_until) < now)
        due = (col(OutboundMessage.state).in_(DUE_STATES), col(OutboundMessage.next_attempt_at) <= now, free)
        with db.session(self.engine) as session:
            candidates = (
                select(col(OutboundMessage.id)).where(*due).order_by(col(OutboundMessage.id)).limit(batch)
            )
            # Compare-and-set in one statement: a row another daemon leased in the
            # meantime no longer matches `due`, so each row has exactly one owner.
            claimed = (
                session.execute(
                    update(OutboundMessage)
                    .where(col(OutboundMessage.id).in_(candidates.scalar_subquery()), *due)
                    .values(lease_owner=self.owner, lease_until=now + LEASE)
                    .returning(col(OutboundMessage.id))
                )
                .scalars()
                .all()
            )
            session.commit()
        return sorted(claimed)

    def _send_claimed(self, transport: Transport, claimed: list[int], counts: Counter[str]) -> bool:
        """Send the claimed rows; True when the server is unreachable (stop this round).

        The rows are read once and then written with plain UPDATE statements, not
        through the session's unit of work: per row, its `sending` mark is committed
        before the attempt, and the attempt's outcome goes into the next row's commit.
        """
        with _marks_session(self.engine) as session:
            loaded = session.execute(select(OutboundMessage).where(col(OutboundMessage.id).in_(claimed)))
            by_id = {row.id: row for row in loaded.scalars()}
            session.expunge_all()  # written below by id, never flushed from here
            rows = [by_id.get(row_id) for row_id in claimed]
            references = self._references(session, rows)
            settled: list[OutboundMessage] = []  # the row just tried, written with the next one's mark
            for index, row in enumerate(rows):
                if row is None:
                    continue  # deleted since it was claimed: nothing to send
                row.state = OutboundState.SENDING
                row.attempts += 1
                _write(session, [*settled, row])
                session.commit()
                reference = references.get(row.ticket_id, "")
                with logfields.bound(outbound=row.id, message_id=row.message_id, ticket=reference):
                    outcome = self._attempt(transport, row, reference)
                settled = [row]
                counts[row.state] += 1
                self.attempts[row.kind, row.state] += 1
                if outcome == "outage":
                    _write(session, settled)
                    _release(session, rows[index + 1 :])
                    session.commit()
                    return True
            _write(session, settled)
            session.commit()
        return False

    def _attempt(self, transport: Transport, row: OutboundMessage, reference: str) -> str:
        now = self.clock()
        try:
            name = file_name_for(row.message_id, row.kind, reference)
            transport.send(row.envelope_from, [row.recipient], row.raw, name)
        except ServerUnavailable as error:
            return self._unanswered(row, error, now)
        except UncertainOutcome as error:
            return self._uncertain(row, error)
        except PermanentFailure as error:
            self._settle(row, OutboundState.FAILED, error)
            log.error("outbound %s to %s failed permanently: %s", row.id, row.recipient, error)
            return OutboundState.FAILED
        except TemporaryFailure as error:
            return self._deferred(row, error)
        except Exception as error:
            return self._broken(row, error)
        self._sent(row, reference, now)
        return OutboundState.SENT

    def _broken(self, row: OutboundMessage, error: Exception) -> str:
        """Anything else this one row raised: it costs the row a try, never the rows behind it.

        Settled like a deferral (retried with backoff, failed after the last
        attempt), so no row is left `sending` and the next one is sent at once.
        """
        final = row.attempts >= self.retries.max_attempts
        self._settle(row, OutboundState.FAILED if final else OutboundState.RETRY, RowError(error))
        log.error(
            "outbound %s to %s could not be sent (%s): %s: %s",
            row.id,
            row.recipient,
            "given up" if final else "will retry",
            type(error).__name__,
            error,
            exc_info=error,
        )
        return row.state

    def _unanswered(self, row: OutboundMessage, error: ServerUnavailable, now: datetime) -> str:
        """Nobody answered, which is not this mail's fault: the try costs it nothing and it stays due.

        Each poll then probes the server with one mail and the next poll after
        the outage sends everything. Counted, an outage longer than
        `max_attempts` backoffs (two hours with the defaults) failed every mail
        that was waiting.
        """
        row.attempts -= 1
        self._settle(row, OutboundState.RETRY, error)
        row.next_attempt_at = now
        self._report_outage(error)
        return "outage"

    def _uncertain(self, row: OutboundMessage, error: UncertainOutcome) -> str:
        """The mail may or may not have arrived: resend it (same Message-ID) or mark it uncertain."""
        resend = row.kind in RESEND_WHEN_UNCERTAIN
        self._settle(row, OutboundState.RETRY if resend else OutboundState.UNCERTAIN, error)
        # The operator's only trace of a mail that may or may not have arrived.
        log.warning(
            "outbound %s (%s to %s) may not have arrived: %s; %s",
            row.id,
            row.kind,
            row.recipient,
            error,
            "will resend it with the same Message-ID" if resend else "now uncertain, not resent",
        )
        return OutboundState.UNCERTAIN

    def _deferred(self, row: OutboundMessage, error: TemporaryFailure) -> str:
        """Try again later, or give up after the last attempt; "outage" when the connection broke."""
        final = row.attempts >= self.retries.max_attempts
        self._settle(row, OutboundState.FAILED if final else OutboundState.RETRY, error)
        if error.code is None:
            # The connection broke mid-conversation: likely the server, not the
            # mail, but counted all the same so a mail that always breaks it
            # cannot hold up the ones behind it for ever.
            self._report_outage(error)
            return "outage"
        log.warning("outbound %s to %s deferred: %s", row.id, row.recipient, error)
        return OutboundState.RETRY

    def _sent(self, row: OutboundMessage, reference: str, now: datetime) -> None:
        row.state, row.sent_at, row.last_error, row.last_code = OutboundState.SENT, now, None, 250
        row.lease_owner = row.lease_until = None
        if self._outage_logged:
            log.info("mail server reachable again")
            self._outage_logged = False
        log.info(
            "sent %s for %s to %s, message-id %r",
            row.kind,
            reference,
            row.recipient,
            row.message_id,
        )

    def _report_outage(self, error: DeliveryError) -> None:
        # The server is down, not one mail's fault: say it once, not per mail.
        if not self._outage_logged:
            log.error("mail server unavailable, will retry: %s", error)
            self._outage_logged = True

    def _settle(self, row: OutboundMessage, state: str, error: DeliveryError) -> None:
        row.state = state
        row.last_error = str(error)[:2000]
        row.last_code = error.code
        row.lease_owner = row.lease_until = None
        if state == OutboundState.RETRY:
            row.next_attempt_at = self.clock() + self.retries.delay(row.attempts)

    @staticmethod
    def _references(session: Session, rows: list[OutboundMessage | None]) -> dict[int | None, str]:
        ids = {row.ticket_id for row in rows if row is not None and row.ticket_id is not None}
        if not ids:
            return {}
        found = session.execute(
            select(col(Ticket.id), col(Ticket.reference)).where(col(Ticket.id).in_(ids))
        ).all()
        return {ticket_id: reference for ticket_id, reference in found}


_FIELDS: tuple[str, ...] = (
    "state",
    "attempts",
    "last_error",
    "last_code",
    "lease_owner",
    "lease_until",
    "next_attempt_at",
    "sent_at",
)
"""What a delivery attempt may change on its row (`_sent`, `_settle`, `_unanswered`), and its mark."""

_BY_ID: Update = (
    table_of(OutboundMessage)
    .update()
    .where(table_of(OutboundMessage).c.id == bindparam("row_id"))
    .values({name: bindparam(name) for name in _FIELDS})
)
"""`UPDATE outbound_message SET <_FIELDS> WHERE id = :row_id`, built once, each value a parameter."""


def _write(session: Session, rows: list[OutboundMessage]) -> None:
    """Store what delivery changed on `rows`, rows read by this sender and not in the session.

    One statement built once, given only parameters, and one execution for all the
    rows: the outcome of the row just tried goes with the `sending` mark of the next
    (the mark writes the fields it leaves alone as they were read). Building a
    statement per row cost more than the unit of work it replaces.
    """
    if rows:
        values = [{"row_id": row.id, **{name: getattr(row, name) for name in _FIELDS}} for row in rows]
        session.connection().execute(_BY_ID, values)


def _release(session: Session, rows: list[OutboundMessage | None]) -> None:
    """Give back the claimed rows not tried in this round (the server went away): due again at once."""
    ids = [row.id for row in rows if row is not None]
    if ids:
        session.connection().execute(
            update(OutboundMessage)
            .where(col(OutboundMessage.id).in_(ids))
            .values(lease_owner=None, lease_until=None)
        )


@contextmanager
def _marks_session(engine: Engine) -> Iterator[Session]:
    """A session for the delivery marks; on PostgreSQL its commits do not wait for the disk.

    One commit per mail is what keeps a crash's trace precise (see the module
    text); waiting for the disk at each would cap delivery at the disk's flush
    rate. A crash of the process loses nothing; a crash of the server may take
    back the last marks, so a mail may go out twice, never not at all. SQLite
    gets the same from `synchronous=NORMAL` (`daemon.store.db`).

    The session keeps one connection for the round (not one from the pool for each
    mail's transaction). On PostgreSQL the setting is made once on it, not with a
    `SET LOCAL` in each transaction (a statement a mail), and undone before it goes
    back to the pool: nothing else the daemon commits may ever be asynchronous. A
    connection whose reset fails is discarded.
    """
    asynchronous = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        if asynchronous:
            connection.exec_driver_sql("SET synchronous_commit TO OFF")
            connection.commit()
        try:
            with db.session(connection) as session:
                yield session
        finally:
            if asynchronous:
                _synchronous_again(connection)


def _synchronous_again(connection: Connection) -> None:
    """Commits on `connection` wait for the disk again; else it is closed, never pooled."""
    if connection.invalidated:
        return
    try:
        connection.rollback()
        connection.exec_driver_sql("RESET synchronous_commit")
        connection.commit()
    except Exception:
        connection.invalidate()
        raise


class RowError(DeliveryError):
    """An exception no transport outcome describes, raised while sending one row."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}")


def _release_ended_owners(session: Session, now: datetime) -> list[str]:
    """Free the due rows leased by processes of this host that have ended; return those owners."""
    owners = session.execute(
        select(col(OutboundMessage.lease_owner)).where(col(OutboundMessage.lease_until) >= now).distinct()
    ).scalars()
    gone = [owner for owner in owners if owner and owner_has_ended(owner)]
    if gone:
        session.execute(
            update(OutboundMessage)
            .where(col(OutboundMessage.state).in_(DUE_STATES), col(OutboundMessage.lease_owner).in_(gone))
            .values(lease_owner=None, lease_until=None)
        )
    return gone


def settle_interrupted(row: OutboundMessage, now: datetime) -> None:
    """A row whose sender stopped mid-delivery: due again if a duplicate beats a loss, else uncertain."""
    if row.kind in RESEND_WHEN_UNCERTAIN:
        row.state, row.next_attempt_at = OutboundState.RETRY, now
    else:
        row.state = OutboundState.UNCERTAIN
    row.last_error = "the sending process stopped during delivery"
    row.lease_owner = row.lease_until = None
    log.warning(
        "outbound %s (%s to %s) was interrupted: now %s",
        row.id,
        row.kind,
        row.recipient,
        row.state,
    )
