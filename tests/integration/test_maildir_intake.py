"""A Maildir intake reads each file once: stored mail still waiting in new/ never crowds out newer files.

A file stays in the intake folder until its mail is settled (processed or
quarantined) and moved. Mail waiting for a retry used to be read again on every
poll, oldest first, and with a batch of such mail the newer files behind it
were never reached. Real SQLite file and real Maildir; the processing stage is
left out (the intake's own `Processes` interface), so every stored mail waits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from threading import Event

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col

from daemon.config.schema import MailboxConfig
from daemon.fetch.intake import Intake
from daemon.fetch.maildir import MaildirMailbox
from daemon.store import db
from daemon.store.models import InboundMessage
from tests import mailfactory

NOW = datetime(2026, 7, 21, 3, 0, tzinfo=UTC)


@dataclass
class Outcome:
    counts: Counter[str] = field(default_factory=Counter)


class LeavesEverythingWaiting:
    """A processing stage that settles nothing, as when every mail waits for its retry."""

    def __init__(self) -> None:
        self.calls = 0

    def process_stored(self, stop: Event | None = None) -> Outcome:
        self.calls += 1
        return Outcome()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = db.open_for_writing(f"sqlite:///{tmp_path / 'caredesk.db'}")
    yield made
    made.dispose()


def _settings(path: Path, batch_size: int) -> MailboxConfig:
    return MailboxConfig(
        url=f"maildir:{path}",
        password="",
        processed_folder="Processed",
        quarantine_folder="Quarantine",
        poll_interval=60,
        batch_size=batch_size,
        timeout=30,
        max_message_bytes=10_000_000,
    )


def _drop(maildir: Path, count: int, start: int = 0) -> None:
    (maildir / "new").mkdir(parents=True, exist_ok=True)
    for n in range(start, start + count):
        # Maildir names start with the delivery time, so name order is arrival order.
        (maildir / "new" / f"{1_700_000_000 + n}.M{n}P1.host").write_bytes(mailfactory.complaint(n))


def _stored_keys(engine: Engine) -> list[str]:
    with db.session(engine) as session:
        return sorted(session.execute(select(col(InboundMessage.source_key))).scalars())


def test_files_stored_and_still_waiting_do_not_keep_newer_files_out(engine: Engine, tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    _drop(maildir, 3)
    intake = Intake(
        engine, lambda: MaildirMailbox(maildir), LeavesEverythingWaiting(), lambda: NOW, _settings(maildir, 2)
    )

    counts = intake.poll()

    # The two oldest are stored and wait (not settled, so still in new/); the third
    # comes in in the next batch of the same poll instead of never.
    assert len(_stored_keys(engine)) == 3
    assert counts["fetched"] == 3
    assert len(list((maildir / "new").iterdir())) == 3


def test_a_waiting_file_is_not_read_again_on_the_next_poll(engine: Engine, tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    _drop(maildir, 2)
    intake = Intake(
        engine,
        lambda: MaildirMailbox(maildir),
        LeavesEverythingWaiting(),
        lambda: NOW,
        _settings(maildir, 10),
    )
    assert intake.poll()["fetched"] == 2

    _drop(maildir, 1, start=2)
    counts = intake.poll()

    # Only the new file was read: the two waiting ones are skipped by name.
    assert counts["fetched"] == 1
    assert len(_stored_keys(engine)) == 3
