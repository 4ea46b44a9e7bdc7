"""Messages the IMAP server failed to hand over: counted, skipped after a few tries, tried again later.

A message the server cannot read (a damaged file on its disk, a literal it
cannot send) used to fail the whole FETCH of its batch at every poll, and the
mail behind it never came in. Now `daemon.fetch.imap` fetches such a batch one
message at a time, the mail behind it is stored in the same poll, and the one
that failed is recorded here, with the batch and in its transaction, as an
`UnfetchedMessage` row (mailbox, UIDVALIDITY, UID, tries, last error):

- it is tried again at the next polls, until `MAX_TRIES` tries failed;
- then it is skipped: a row for it is stored in `inbound_message`, headers only
  and left in the intake folder, which processing quarantines at once, so the
  admin's quarantine digest reports it (once) and `caredesk quarantine list`
  shows it; it is still tried again every `RETRY_AFTER_GIVING_UP`;
- once it can be fetched, that quarantined row gets the mail's bytes and is
  processed like any other; a message that is gone from the folder is forgotten.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel import Session, col

from daemon.fetch.mailbox import Batch, Unfetched
from daemon.store import queries
from daemon.store.models import InboundMessage, UnfetchedMessage
from daemon.store.vocabulary import InboundState

log = logging.getLogger("caredesk.intake")

MAX_TRIES = 3
"""Failed tries (one per poll) before a message is skipped and the admin told."""
RETRY_AFTER_GIVING_UP = timedelta(hours=1)
UNFETCHABLE = "unfetchable:"
"""How the reason of the quarantined row of a skipped message starts."""


def due(session: Session, source: str, uidvalidity: int, now: datetime) -> list[int]:
    """The UIDs of `source` to try again now; records of another UIDVALIDITY are dropped.

    After a UIDVALIDITY change the whole folder is read again anyway.
    """
    session.execute(
        delete(UnfetchedMessage).where(
            col(UnfetchedMessage.source) == source, col(UnfetchedMessage.uidvalidity) != uidvalidity
        )
    )
    found = session.execute(
        select(col(UnfetchedMessage.uid))
        .where(
            col(UnfetchedMessage.source) == source,
            col(UnfetchedMessage.uidvalidity) == uidvalidity,
            col(UnfetchedMessage.next_attempt_at) <= now,
        )
        .order_by(col(UnfetchedMessage.uid))
    )
    return list(found.scalars())


def record(session: Session, source: str, batch: Batch, now: datetime) -> None:
    """With the batch's commit-1: forget what came in at last, count what failed.

    One look-up for the whole batch: the mails that failed before are few, if any.
    """
    by_uid = {
        (message.uidvalidity, message.uid): message
        for message in batch.messages
        if message.uidvalidity is not None and message.uid is not None
    }
    if by_uid:
        failed_before = session.execute(
            select(UnfetchedMessage).where(
                col(UnfetchedMessage.source) == source,
                col(UnfetchedMessage.uid).in_(sorted({uid for _, uid in by_uid})),
            )
        ).scalars()
        for row in list(failed_before):
            message = by_uid.get((row.uidvalidity, row.uid))
            if message is not None:
                session.delete(row)
                _fill_placeholder(session, source, message, row.attempts + 1, now)
    for failure in batch.failures:
        _count(session, source, failure, now)


def forget(session: Session, source: str, uidvalidity: int, uids: Iterable[int]) -> None:
    """Messages no longer in the folder (a person moved them): nothing left to try."""
    gone = list(uids)
    if gone:
        session.execute(
            delete(UnfetchedMessage).where(
                col(UnfetchedMessage.source) == source,
                col(UnfetchedMessage.uidvalidity) == uidvalidity,
                col(UnfetchedMessage.uid).in_(gone),
            )
        )
        log.info("UIDs %s of %s are gone from the folder: no longer tried", gone, source)


def _count(session: Session, source: str, failure: Unfetched, now: datetime) -> None:
    row = session.get(UnfetchedMessage, (source, failure.uidvalidity, failure.uid))
    if row is None:
        row = UnfetchedMessage(
            source=source, uidvalidity=failure.uidvalidity, uid=failure.uid, first_failed_at=now
        )
    row.attempts += 1
    row.last_error = failure.error[:2000]
    if row.attempts < MAX_TRIES:
        row.next_attempt_at = now
        log.warning(
            "UID %s of %s could not be fetched (try %d of %d; the mail behind it comes in all the same): %s",
            failure.uid,
            source,
            row.attempts,
            MAX_TRIES,
            failure.error,
        )
    else:
        row.next_attempt_at = now + RETRY_AFTER_GIVING_UP
        if row.attempts == MAX_TRIES:
            _store_placeholder(session, source, failure, now)
            log.error(
                "UID %s of %s could not be fetched %d times: skipped and reported; tried again every %s: %s",
                failure.uid,
                source,
                row.attempts,
                RETRY_AFTER_GIVING_UP,
                failure.error,
            )
        else:
            log.warning("UID %s of %s still cannot be fetched: %s", failure.uid, source, failure.error)
    session.add(row)


def _store_placeholder(session: Session, source: str, failure: Unfetched, now: datetime) -> None:
    """The row processing quarantines (headers only) so the admin's digest reports the message."""
    reason = (
        f"{UNFETCHABLE} the IMAP server failed to hand over UID {failure.uid} {MAX_TRIES} times "
        f"(last: {failure.error}); it stays in the intake folder and is tried again every hour"
    )
    values = {
        "source": source,
        "source_key": f"{failure.uidvalidity}:{failure.uid}",
        "uidvalidity": failure.uidvalidity,
        "uid": failure.uid,
        "raw": b"",
        "raw_sha256": hashlib.sha256(b"").hexdigest(),
        "size": 0,
        "state": InboundState.STORED,
        "reason": reason[:4000],
        "headers_only": True,
        "attempts": 0,
        "disposition": queries.LEFT_IN_MAILBOX,
        "received_at": now,
        "arrived_at": now,
    }
    queries.insert_ignore(session, InboundMessage, values, ["source", "source_key"])


def _fill_placeholder(
    session: Session, source: str, message: queries.Fetched, tries: int, now: datetime
) -> None:
    """A skipped message came in at last: its quarantined row gets the bytes and is processed."""
    row = session.execute(
        select(InboundMessage).where(
            col(InboundMessage.source) == source, col(InboundMessage.source_key) == message.key
        )
    ).scalar_one_or_none()
    if row is None or not row.reason.startswith(UNFETCHABLE) or row.state != InboundState.QUARANTINED:
        return  # never skipped (record_fetched stored it), or a person discarded it
    row.raw, row.raw_sha256 = message.raw, hashlib.sha256(message.raw).hexdigest()
    row.size = message.oversize if message.headers_only and message.oversize else len(message.raw)
    row.headers_only = message.headers_only
    row.reason = message.reason if message.oversize else ""
    row.disposition = queries.LEFT_IN_MAILBOX if message.headers_only else "pending"
    row.state, row.attempts, row.next_attempt_at = InboundState.STORED, 0, None
    row.stage = row.error = row.traceback = None
    row.notes = (row.notes + "\n" if row.notes else "") + f"fetched on try {tries} at {now.isoformat()}"
    session.add(row)
    log.info("UID %s of %s fetched at last (try %d): inbound #%s", message.uid, source, tries, row.id)
