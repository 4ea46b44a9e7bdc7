"""Mailbox sources: where inbound mail comes from (IMAP or a local Maildir).

A source hands over raw messages with a stable key, and moves a message to the
processed (or quarantine) folder only when asked, which the intake does only after
the database transaction that recorded the message has committed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

from daemon.store.queries import Fetched


@dataclass(frozen=True)
class Unfetched:
    """A message the server would not hand over (IMAP only): the mails behind it still come."""

    uidvalidity: int
    uid: int
    error: str


@dataclass(frozen=True)
class Batch:
    """New messages, oldest first, and the checkpoint to record with them (IMAP only).

    `failures` are the messages of the batch the server failed to deliver; the
    checkpoint passes them, and `daemon.fetch.unfetched` keeps them to try again.
    """

    messages: list[Fetched]
    checkpoint: tuple[int, int] | None = None
    failures: list[Unfetched] = field(default_factory=list)


SENT_SOURCE_PREFIX = "sent:"
"""How the source of a mail read from the Sent folder starts: processing only looks in it for answers."""


def sent_source(identity: str) -> str:
    """The source name of the mail read from a Sent folder, e.g. `sent:imap://care@host:143/Sent`."""
    return f"{SENT_SOURCE_PREFIX}{identity}"


def is_sent_source(source: str) -> bool:
    """Whether a stored mail was read from the mailbox's Sent folder (`[mailbox] sent_folder`)."""
    return source.startswith(SENT_SOURCE_PREFIX)


@dataclass(frozen=True)
class SentRead:
    """One read of the Sent folder: which folder, from where on, how many, and what is stored already."""

    folder: str
    checkpoint: tuple[int, int] | None
    limit: int
    stored: Callable[[Collection[str]], set[str]]
    """Which of these keys are stored already: a Maildir has no UIDs to keep a checkpoint by."""


class Mailbox(Protocol):
    identity: str
    """A stable name for this mailbox and folder, used as the source of stored mail."""

    def __enter__(self) -> Mailbox: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def fetch_new(
        self,
        checkpoint: tuple[int, int] | None,
        limit: int,
        stored: Callable[[Collection[str]], set[str]] | None = None,
    ) -> Batch:
        """Up to `limit` messages not yet handed over, given the last checkpoint.

        `stored` says which keys are stored already: a Maildir, which has no
        checkpoint, skips those (IMAP moves forward through its checkpoint instead).
        """

    def fetch_again(self, uidvalidity: int, uids: Sequence[int]) -> Batch:
        """Try once more the messages that failed before; a UID in neither list is gone (IMAP only)."""

    def dispose(self, moves: Mapping[str, Sequence[str]]) -> set[str]:
        """Move messages (folder -> keys) out of the intake; return the keys settled.

        A key whose message is already gone counts as settled: it was stored first.
        """

    def sent_identity(self, folder: str) -> str:
        """The stable name of this mailbox's Sent folder `folder`, the source of the mail read there."""

    def fetch_sent(self, read: SentRead) -> Batch:
        """New mail in the Sent folder, read only: never moved, flagged or marked seen.

        With no checkpoint yet (or a new UIDVALIDITY), an IMAP folder is read from
        its end on: the mail sent before caredesk read the folder is not fetched.
        """
