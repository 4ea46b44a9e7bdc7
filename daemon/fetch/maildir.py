"""A local Maildir as the intake (the embedded default: drop `.eml` files into `new/`).

Processed mail is moved into a Maildir++ subfolder (`.Processed`), quarantined
mail into `.Quarantine`, by renaming the file, so nothing is ever deleted.
"""

from __future__ import annotations

import logging
import mailbox
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from daemon.fetch.mailbox import Batch
from daemon.store.queries import Fetched

log = logging.getLogger("caredesk.maildir")


class MaildirMailbox:
    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.identity = f"maildir:{self.path}"

    def __enter__(self) -> MaildirMailbox:
        # The first run needs no set-up: new/, cur/ and tmp/ are made when missing
        # (also when a user made only new/ to drop a file in).
        for sub in ("new", "cur", "tmp"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def _files(self) -> list[Path]:
        found: list[Path] = []
        for sub in ("new", "cur"):
            folder = self.path / sub
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

    def fetch_new(self, checkpoint: tuple[int, int] | None, limit: int) -> Batch:
        messages = []
        for path in self._files()[:limit]:
            try:
                raw = path.read_bytes()
                arrived = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            except FileNotFoundError:
                continue  # moved away between listing and reading
            messages.append(Fetched(key=self._key(path), raw=raw, arrived_at=arrived))
        return Batch(messages=messages)

    def dispose(self, moves: Mapping[str, Sequence[str]]) -> set[str]:
        if not moves:
            return set()
        by_key = {self._key(path): path for path in self._files()}
        settled: set[str] = set()
        for folder, keys in moves.items():
            target = self.path / f".{folder}"
            if not target.exists():
                mailbox.Maildir(str(self.path), create=False).add_folder(folder)
            for key in keys:
                source = by_key.get(key)
                if source is None:
                    settled.add(key)
                    continue
                name = source.name if ":" in source.name else f"{source.name}:2,"
                os.replace(source, target / "cur" / name)
                settled.add(key)
        return settled
