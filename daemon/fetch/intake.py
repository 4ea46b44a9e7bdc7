"""The intake: mailbox -> commit-1 (raw bytes + checkpoint) -> processing -> move.

Order matters and is the whole point of this module. A message is moved out of
the intake folder only after the transaction that stored it has committed and it
has been processed (or quarantined), so a crash anywhere leaves it either still in
the folder (fetched again, stored once thanks to the unique key) or stored with a
pending disposition (moved on the next poll).

Each mail keeps the time the mailbox received it (IMAP INTERNALDATE, a Maildir
file's time) as `arrived_at`, which is where its ticket's SLA clock starts; a
time missing, before `EARLIEST_ARRIVAL` or more than `ARRIVAL_SLACK` ahead of
our clock is not believed, and the time we stored the mail is used instead.

With `[mailbox] sent_folder` set, every poll also reads the new mail of that
folder (`Mailbox.fetch_sent`: read only, its own checkpoint), after the intake,
so that an answer finds the ticket it answers; its rows are never moved and go
to processing like any other, which only looks in them for customer care's
answers (`daemon.tickets.care_copies`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, select, update
from sqlmodel import col

from daemon.config import MailboxConfig
from daemon.fetch import unfetched
from daemon.fetch.mailbox import Batch, Mailbox, SentRead
from daemon.store import db, queries, stored_news
from daemon.store.leases import process_owner
from daemon.store.models import InboundMessage
from daemon.store.vocabulary import WAITING_STATES

log = logging.getLogger("caredesk.intake")

ARRIVAL_SLACK = timedelta(minutes=5)
"""How far ahead of our clock a mailbox's arrival time may be (clocks drift) and still be believed."""
EARLIEST_ARRIVAL = datetime(2000, 1, 1, tzinfo=UTC)
"""An arrival time before this is a broken clock or a file time reset, not when the mail came."""


def believed_arrival(arrived_at: datetime | None, now: datetime) -> datetime | None:
    """The mailbox's arrival time if it can be true, else None (the time of storing is used)."""
    if arrived_at is None or arrived_at < EARLIEST_ARRIVAL or arrived_at > now + ARRIVAL_SLACK:
        return None
    return arrived_at


def _with_believed_arrivals(messages: Sequence[queries.Fetched], now: datetime) -> list[queries.Fetched]:
    return [
        message
        if believed_arrival(message.arrived_at, now) == message.arrived_at
        else dataclasses.replace(message, arrived_at=None)
        for message in messages
    ]


class Processes(Protocol):
    """The processing stage as the intake sees it: settle what was stored (`tickets.processing`).

    The intake only hands stored rows on; naming the interface here keeps the fetch
    stage below the stages that do the work, which the composition root plugs in.
    """

    def process_stored(self, stop: threading.Event | None = None) -> Counted: ...


class Counted(Protocol):
    counts: Counter[str]


class PollTurn(Protocol):
    """Whether this daemon is the one polling the mailbox now (`daemon.store.leases.PollerLock`)."""

    def held(self) -> bool: ...


class _AlwaysPolls:
    """One daemon per database (SQLite, tests): it always polls."""

    def held(self) -> bool:
        return True


def _carry_on() -> None:
    """Nothing to do between two batches (the intake on its own, as the tests build it)."""


KEY_CHUNK = 500
"""Keys per look-up of which are stored already (well under every database's bound-parameter limit)."""


class Intake:
    """Brings new mail from one mailbox into the store, hands it on, and moves it once settled."""

    def __init__(
        self,
        engine: Engine,
        mailbox_factory: Callable[[], Mailbox],
        processor: Processes,
        clock: Callable[[], datetime],
        settings: MailboxConfig,
    ) -> None:
        """`settings` gives the batch size and the folders settled mail is moved to."""
        self.engine = engine
        self.mailbox_factory = mailbox_factory
        self.processor = processor
        self.clock = clock
        self.batch_size = settings.batch_size
        self.folders = {"quarantined": settings.quarantine_folder}
        self.default_folder = settings.processed_folder
        self.sent_folder = settings.sent_folder
        self.turn: PollTurn = _AlwaysPolls()
        """Set by the composition root when several daemons may share the database."""
        self.between_batches: Callable[[], None] = _carry_on
        """Run when a full batch is processed and moved, so more mail is likely waiting: the
        composition root sends what the batch queued, so acknowledgements go out while a
        backlog drains."""

    def poll(self, stop: threading.Event | None = None) -> Counter[str]:
        """Read everything waiting in the mailbox, batch by batch, until it is empty.

        Only one daemon at a time polls a mailbox (`self.turn`); the others leave it
        alone and process the mail already stored, which the poller moves once settled.
        After a full batch the next one is fetched and stored, and then
        `self.between_batches` runs (the daemon delivers there): the other daemons
        process the new batch meanwhile instead of waiting for this one's delivery.
        """
        counts: Counter[str] = Counter()
        if not self.turn.held():
            counts.update(self.processor.process_stored(stop).counts)
            return counts
        with self.mailbox_factory() as box:
            self.dispose_pending(box)
            self._fetch_again(box, counts)
            if stop is None or not stop.is_set():
                read, progressed = self._fetch_batch(box, counts)
                while True:
                    self._settle_batch(box, counts, stop)
                    if (stop is not None and stop.is_set()) or not read or not progressed:
                        break
                    full = read >= self.batch_size
                    read, progressed = self._fetch_batch(box, counts)
                    if full:
                        # More was likely waiting: what the settled batch queued goes out now.
                        self.between_batches()
            if self.sent_folder:
                self._read_sent(box, counts, stop)
        return counts

    def _read_sent(self, box: Mailbox, counts: Counter[str], stop: threading.Event | None) -> None:
        """Store and process the new mail of the Sent folder, batch by batch; nothing there is moved."""
        source = box.sent_identity(self.sent_folder)
        while stop is None or not stop.is_set():
            with db.session(self.engine) as session:
                saved = queries.load_checkpoint(session, source)
            checkpoint = (saved.uidvalidity, saved.last_uid) if saved else None
            read = SentRead(self.sent_folder, checkpoint, self.batch_size, self._stored(source))
            batch = box.fetch_sent(read)
            inserted = self._store(source, batch, done=True)
            if batch.messages:
                counts["fetched_sent"] += len(batch.messages)
                log.info("stored %d new of %d read in %s", inserted, len(batch.messages), source)
                counts.update(self.processor.process_stored(stop).counts)
            if not batch.messages or (batch.checkpoint is None and inserted == 0):
                return

    def _stored(self, source: str) -> Callable[[Collection[str]], set[str]]:
        """Which of some keys of `source` are stored already: one indexed look-up per chunk of keys."""

        def stored(keys: Collection[str]) -> set[str]:
            wanted = sorted(set(keys))
            found: set[str] = set()
            with db.session(self.engine) as session:
                for start in range(0, len(wanted), KEY_CHUNK):
                    chunk = wanted[start : start + KEY_CHUNK]
                    statement = select(col(InboundMessage.source_key)).where(
                        col(InboundMessage.source) == source, col(InboundMessage.source_key).in_(chunk)
                    )
                    found.update(session.execute(statement).scalars())
            return found

        return stored

    def _store(self, source: str, batch: Batch, *, done: bool = False) -> int:
        """Commit-1 of a batch (and its checkpoint); `done`: rows that are never moved (the Sent folder)."""
        if not batch.messages and batch.checkpoint is None and not batch.failures:
            return 0
        now = self.clock()
        with db.session(self.engine) as session:
            inserted = queries.record_fetched(
                session,
                source,
                _with_believed_arrivals(batch.messages, now),
                received_at=now,
                checkpoint=batch.checkpoint,
            )
            unfetched.record(session, source, batch, now)
            if inserted:
                # The other daemons of a PostgreSQL wake at the commit to take their share.
                stored_news.announce(session, process_owner())
            if done:
                session.execute(
                    update(InboundMessage)
                    .where(col(InboundMessage.source) == source, col(InboundMessage.disposition) == "pending")
                    .values(disposition="done")
                )
            session.commit()
        return inserted

    def _fetch_batch(self, box: Mailbox, counts: Counter[str]) -> tuple[int, bool]:
        """One batch fetched and stored (commit-1): how many mails it read, and whether the
        mailbox moved on."""
        with db.session(self.engine) as session:
            saved = queries.load_checkpoint(session, box.identity)
            checkpoint = (saved.uidvalidity, saved.last_uid) if saved else None
        # A Maildir file stays in the intake folder until its mail is settled: the
        # ones stored already are skipped by name, never read again (`_stored`).
        batch = box.fetch_new(checkpoint, self.batch_size, self._stored(box.identity))
        inserted = 0
        if batch.messages or batch.failures:
            inserted = self._store(box.identity, batch)
            counts["fetched"] += len(batch.messages)
            log.info("stored %d new of %d fetched from %s", inserted, len(batch.messages), box.identity)
        # IMAP always moves forward through the checkpoint; a Maildir only makes
        # progress while there is something new, which guards against a file we can
        # neither store again nor move making us spin.
        progressed = batch.checkpoint is not None or inserted > 0
        return len(batch.messages), progressed

    def _settle_batch(self, box: Mailbox, counts: Counter[str], stop: threading.Event | None) -> None:
        """The stored mail processed (with any other daemon) and the settled mail moved."""
        outcome = self.processor.process_stored(stop)
        counts.update(outcome.counts)
        self.dispose_pending(box)

    def _fetch_again(self, box: Mailbox, counts: Counter[str]) -> None:
        """Try again the messages the server failed to hand over, when due (`daemon.fetch.unfetched`)."""
        with db.session(self.engine) as session:
            saved = queries.load_checkpoint(session, box.identity)
            uids = unfetched.due(session, box.identity, saved.uidvalidity, self.clock()) if saved else []
            session.commit()
        if saved is None or not uids:
            return
        batch = box.fetch_again(saved.uidvalidity, uids)
        self._store(box.identity, batch)
        counts["fetched"] += len(batch.messages)
        tried = {message.uid for message in batch.messages} | {failure.uid for failure in batch.failures}
        with db.session(self.engine) as session:
            unfetched.forget(session, box.identity, saved.uidvalidity, sorted(set(uids) - tried))
            session.commit()

    def dispose_pending(self, box: Mailbox) -> None:
        """Move every stored-and-settled message of this mailbox to its folder.

        A mail too big to fetch whole (disposition `left`, see `daemon.fetch.imap`)
        is never moved: it stays in the intake folder for a person to read there.
        """
        with db.session(self.engine) as session:
            rows = session.execute(
                select(
                    col(InboundMessage.id),
                    col(InboundMessage.source_key),
                    col(InboundMessage.state),
                ).where(
                    col(InboundMessage.source) == box.identity,
                    col(InboundMessage.disposition) == "pending",
                    col(InboundMessage.state).not_in(WAITING_STATES),
                )
            ).all()
        if not rows:
            return
        moves: dict[str, list[str]] = defaultdict(list)
        ids_by_key = {}
        for row_id, key, state in rows:
            moves[self.folders.get(state, self.default_folder)].append(key)
            ids_by_key[key] = row_id
        # Nothing leaves the mailbox before the commits that stored it are on disk.
        db.sync_to_disk(self.engine)
        settled = box.dispose(moves)
        if not settled:
            return
        with db.session(self.engine) as session:
            session.execute(
                update(InboundMessage)
                .where(col(InboundMessage.id).in_([ids_by_key[k] for k in settled]))
                .values(disposition="done")
            )
            session.commit()
