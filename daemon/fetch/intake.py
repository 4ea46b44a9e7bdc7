"""The intake: mailbox -> commit-1 (raw bytes + checkpoint) -> processing -> move.

Order matters and is the whole point of this module. A message is moved out of
the intake folder only after the transaction that stored it has committed and it
has been processed (or quarantined), so a crash anywhere leaves it either still in
the folder (fetched again, stored once thanks to the unique key) or stored with a
pending disposition (moved on the next poll).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine, select, update
from sqlmodel import col

from daemon.config import MailboxConfig
from daemon.fetch.mailbox import Mailbox
from daemon.store import db, queries
from daemon.store.models import InboundMessage
from daemon.store.vocabulary import WAITING_STATES

log = logging.getLogger("caredesk.intake")


class Processes(Protocol):
    """The processing stage as the intake sees it: settle what was stored (`tickets.processing`).

    The intake only hands stored rows on; naming the interface here keeps the fetch
    stage below the stages that do the work, which the composition root plugs in.
    """

    def process_stored(self, stop: threading.Event | None = None) -> Counted: ...


class Counted(Protocol):
    counts: Counter[str]


# A mail in these states is not settled yet: it stays in the intake folder.


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

    def poll(self, stop: threading.Event | None = None) -> Counter[str]:
        """Read everything waiting in the mailbox, batch by batch, until it is empty."""
        counts: Counter[str] = Counter()
        with self.mailbox_factory() as box:
            self.dispose_pending(box)
            while stop is None or not stop.is_set():
                batch_had_mail, progressed = self._one_batch(box, counts, stop)
                if not batch_had_mail or not progressed:
                    break
        return counts

    def _one_batch(
        self, box: Mailbox, counts: Counter[str], stop: threading.Event | None
    ) -> tuple[bool, bool]:
        with db.session(self.engine) as session:
            saved = queries.load_checkpoint(session, box.identity)
            checkpoint = (saved.uidvalidity, saved.last_uid) if saved else None
        batch = box.fetch_new(checkpoint, self.batch_size)
        inserted = 0
        if batch.messages:
            with db.session(self.engine) as session:
                inserted = queries.record_fetched(
                    session,
                    box.identity,
                    batch.messages,
                    received_at=self.clock(),
                    checkpoint=batch.checkpoint,
                )
                session.commit()
            counts["fetched"] += len(batch.messages)
            log.info("stored %d new of %d fetched from %s", inserted, len(batch.messages), box.identity)
        outcome = self.processor.process_stored(stop)
        counts.update(outcome.counts)
        self.dispose_pending(box)
        # IMAP always moves forward through the checkpoint; a Maildir only makes
        # progress while there is something new, which guards against a file we can
        # neither store again nor move making us spin.
        progressed = batch.checkpoint is not None or inserted > 0
        return bool(batch.messages), progressed

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
