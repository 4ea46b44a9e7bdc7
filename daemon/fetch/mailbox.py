"""Mailbox sources: where inbound mail comes from (IMAP or a local Maildir).

A source hands over raw messages with a stable key, and moves a message to the
processed (or quarantine) folder only when asked, which the intake does only after
the database transaction that recorded the message has committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from daemon.store.queries import Fetched


@dataclass(frozen=True)
class Batch:
    """New messages, oldest first, and the checkpoint to record with them (IMAP only)."""

    messages: list[Fetched]
    checkpoint: tuple[int, int] | None = None


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

    def fetch_new(self, checkpoint: tuple[int, int] | None, limit: int) -> Batch:
        """Up to `limit` messages not yet handed over, given the last checkpoint."""

    def dispose(self, moves: Mapping[str, Sequence[str]]) -> set[str]:
        """Move messages (folder -> keys) out of the intake; return the keys settled.

        A key whose message is already gone counts as settled: it was stored first.
        """
