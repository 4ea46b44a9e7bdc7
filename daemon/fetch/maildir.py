"""A local Maildir as the intake (the embedded default: drop `.eml` files into `new/`).

Processed mail is moved into a Maildir++ subfolder (`.Processed`), quarantined
mail into `.Quarantine`, by renaming the file, so nothing is ever deleted.

With `[mailbox] sent_folder` set, its subfolder (`.Sent`) is made when missing
and read, never changed: each file is stored once (the database knows which),
so a Maildir needs no checkpoint for it. A file's modification time is its
arrival time.
"""

from __future__ import annotations

import logging
import mailbox
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from daemon import private
from daemon.fetch.mailbox import Batch, SentRead, sent_source
from daemon.store.queries import Fetched

log = logging.getLogger("caredesk.maildir")


class MaildirMailbox:
    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.identity = f"maildir:{self.path}"

    def __enter__(self) -> MaildirMailbox:
        # The first run needs no set-up: new/, cur/ and tmp/ are made when missing
        # (also when a user made only new/ to drop a file in).
        # Made private (0700) whatever the umask; an existing folder keeps its mode.
        for sub in ("new", "cur", "tmp"):
            private.private_directory(self.path / sub)
        return self

    def _add_folder(self, folder: str) -> None:
        """Make the Maildir++ subfolder `.folder`, private like the rest."""
        mailbox.Maildir(str(self.path), create=False).add_folder(folder)
        root = self.path / f".{folder}"
        for part in (root, root / "new", root / "cur", root / "tmp", root / "maildirfolder"):
            private.make_private(part)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def _files(self, root: Path | None = None) -> list[Path]:
        found: list[Path] = []
        for sub in ("new", "cur"):
            folder = (root or self.path) / sub
            with os.scandir(folder) as entries:
                found.extend(
                    Path(entry.path)
                    for entry in entries
                    if entry.is_file() and not entry.name.startswith(".")
                )
        # Maildir names start with the delivery time, so name order is arrival order.
        return sorted(found, key=lambda p: p.name)

    @staticmethod
    def _key(path: Path) -> str:
        return path.name.split(":", 1)[0]

    def fetch_new(
        self,
        checkpoint: tuple[int, int] | None,
        limit: int,
        stored: Callable[[Collection[str]], set[str]] | None = None,
    ) -> Batch:
        """The oldest `limit` files whose mail is not stored yet; a stored one is skipped by its name.

        A stored file stays in `new/` (or `cur/`) until its mail is settled and moved:
        mail waiting for a retry must not be read again on every poll, nor fill the
        batch so that newer files behind it are never reached.
        """
        files = self._files()
        if stored is not None:
            known = stored([self._key(path) for path in files])
            files = [path for path in files if self._key(path) not in known]
        return Batch(messages=_read(files[:limit]))

    def sent_identity(self, folder: str) -> str:
        return sent_source(f"maildir:{self.path / f'.{folder}'}")

    def fetch_sent(self, read: SentRead) -> Batch:
        root = self.path / f".{read.folder}"
        if not root.is_dir():
            self._add_folder(read.folder)
        files = self._files(root)
        stored = read.stored([self._key(path) for path in files])
        return Batch(messages=_read([path for path in files if self._key(path) not in stored][: read.limit]))

    def fetch_again(self, uidvalidity: int, uids: Sequence[int]) -> Batch:
        """A Maildir file is read whole or not at all: nothing is ever left to fetch again."""
        return Batch(messages=[])

    def dispose(self, moves: Mapping[str, Sequence[str]]) -> set[str]:
        if not moves:
            return set()
        by_key = {self._key(path): path for path in self._files()}
        settled: set[str] = set()
        for folder, keys in moves.items():
            target = self.path / f".{folder}"
            if not target.exists():
                self._add_folder(folder)
            for key in keys:
                source = by_key.get(key)
                if source is None:
                    settled.add(key)
                    continue
                name = source.name if ":" in source.name else f"{source.name}:2,"
                os.replace(source, target / "cur" / name)
                # Quarantined and processed mail stays readable by caredesk's user only
                # (a file another user delivered and owns keeps its mode).
                private.make_private(target / "cur" / name)
                settled.add(key)
        return settled


def _read(paths: list[Path]) -> list[Fetched]:
    """The mails of these files, with each file's time as its arrival; a file gone meanwhile is skipped."""
    messages = []
    for path in paths:
        try:
            raw = path.read_bytes()
            arrived = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except FileNotFoundError:
            continue  # moved away between listing and reading
        messages.append(Fetched(key=path.name.split(":", 1)[0], raw=raw, arrived_at=arrived))
    return messages
