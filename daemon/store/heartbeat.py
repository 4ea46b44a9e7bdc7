"""How each mailbox's polls went, kept in the database for `caredesk health` in another process.

One `setting` row per mailbox, `mailbox-poll:<first 24 hex digits of the SHA-256
of its identity>` (the identity, an IMAP URL or a Maildir path, can be longer
than a key), holding JSON: the mailbox's identity, the last poll that succeeded,
the last one that failed with its error, and the version of the rules in force
at the last success. Only the daemon that polled the mailbox writes it (on
PostgreSQL, the holder of the poller lock), once per poll, in a short
transaction of its own.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from daemon.store.models import Setting
from daemon.store.queries import insert_ignore

KEY_PREFIX = "mailbox-poll:"
ERROR_CHARACTERS = 500
"""The most of a poll's error message kept: its first line, cut to this."""


@dataclass(frozen=True, slots=True)
class PollRecord:
    """What the database knows of one mailbox's polls."""

    mailbox: str
    """The mailbox's identity (`imaps://care@host:993/INBOX`, `maildir:/srv/mail`)."""
    succeeded_at: datetime | None = None
    failed_at: datetime | None = None
    error: str = ""
    """The last failed poll's error, one line ('' when none was recorded)."""
    rules_version: str = ""
    """The version of the rules the daemon had in force at its last successful poll."""

    def as_json(self) -> str:
        return json.dumps(
            {
                "mailbox": self.mailbox,
                "succeeded_at": _text(self.succeeded_at),
                "failed_at": _text(self.failed_at),
                "error": self.error,
                "rules_version": self.rules_version,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> PollRecord:
        values = json.loads(text)
        return cls(
            mailbox=str(values.get("mailbox", "")),
            succeeded_at=_instant(values.get("succeeded_at")),
            failed_at=_instant(values.get("failed_at")),
            error=str(values.get("error") or ""),
            rules_version=str(values.get("rules_version") or ""),
        )


def key_for(mailbox: str) -> str:
    return KEY_PREFIX + hashlib.sha256(mailbox.encode("utf-8")).hexdigest()[:24]


def record_success(session: Session, mailbox: str, at: datetime, rules_version: str) -> None:
    """A poll of `mailbox` went through at `at` (in the caller's transaction)."""
    record = _load(session, mailbox)
    _save(session, replace(record, succeeded_at=at, rules_version=rules_version))


def record_failure(session: Session, mailbox: str, at: datetime, error: str) -> None:
    """A poll of `mailbox` failed at `at` with `error` (the last success is kept)."""
    first_line = error.strip().splitlines()[0] if error.strip() else "unknown error"
    record = _load(session, mailbox)
    _save(session, replace(record, failed_at=at, error=first_line[:ERROR_CHARACTERS]))


def poll_records(session: Session) -> list[PollRecord]:
    """Every mailbox the database has poll records of, by identity."""
    rows = session.execute(
        select(col(Setting.value)).where(col(Setting.key).startswith(KEY_PREFIX, autoescape=True))
    ).scalars()
    records = []
    for value in rows:
        try:
            records.append(PollRecord.from_json(value))
        except (ValueError, TypeError, AttributeError):
            continue  # not ours to read: a row written by hand
    return sorted(records, key=lambda record: record.mailbox)


def _load(session: Session, mailbox: str) -> PollRecord:
    row = session.get(Setting, key_for(mailbox), populate_existing=True)
    if row is None:
        return PollRecord(mailbox)
    try:
        return replace(PollRecord.from_json(row.value), mailbox=mailbox)
    except (ValueError, TypeError, AttributeError):
        return PollRecord(mailbox)


def _save(session: Session, record: PollRecord) -> None:
    key, value = key_for(record.mailbox), record.as_json()
    if not insert_ignore(session, Setting, {"key": key, "value": value}, ["key"]):
        row = session.get(Setting, key, populate_existing=True)
        assert row is not None
        row.value = value
        session.add(row)
    session.flush()


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _instant(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
