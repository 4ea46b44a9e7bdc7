"""Benchmark: the outbox sender's own cost per row, without a mail server.

Not a test: prints figures. N pending acknowledgements are written into a fresh
database, then `OutboxSender.deliver_due` sends them through a transport that
accepts every mail at once, so what is timed is the claiming, the loading and the
two writes each row gets (its `sending` mark, committed before the attempt, and the
outcome). `ingest.py` times the delivery phase with a real SMTP server; this one
leaves the server out, so a change to the sender's database work shows through
the round trips.

    .venv/bin/python bench/outbox_sender.py [--rows 3000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import database

from daemon.send.delivery import OutboxSender, RetryPolicy
from daemon.store import db
from daemon.store.models import OutboundMessage

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
"""The sender's clock: pinned, like every run of the daemon in the tests."""
BODY = (
    b"Subject: Terima kasih\r\nMessage-ID: <bench@care.example.com>\r\n\r\n" + b"Keluhan diterima.\r\n" * 40
)


class AcceptEverything(contextlib.ExitStack):
    """A transport that takes every mail at once: the sender's work without a server's.

    An empty `ExitStack` is its `with` block: nothing to open, nothing to close.
    """

    def send(self, envelope_from: str, recipients: list[str], raw: bytes, name: str) -> None:
        return None


def fill(url: str, rows: int) -> None:
    engine = db.make_engine(url)
    try:
        db.create_schema(engine)
        with db.session(engine) as session:
            for number in range(rows):
                session.add(
                    OutboundMessage(
                        kind="ack",
                        recipient=f"pelanggan{number}@example.net",
                        envelope_from="care@example.com",
                        message_id=f"<ack-{number}@care.example.com>",
                        raw=BODY,
                        next_attempt_at=NOW,
                        created_at=NOW,
                    )
                )
            session.commit()
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3000, help="pending rows to send (default 3000)")
    parser.add_argument(
        "--database-url", help="default: a SQLite file in a temp dir; PostgreSQL gets a schema of its own"
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="cd-outbox-") as folder,
        database(args.database_url, Path(folder), keep=False) as url,
    ):
        fill(url, args.rows)
        engine = db.make_engine(url)
        try:
            sender = OutboxSender(
                engine, AcceptEverything, lambda: NOW, owner="bench:1", retries=RetryPolicy(5, 60)
            )
            cpu, wall = time.process_time(), time.perf_counter()
            counts = sender.deliver_due()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            engine.dispose()
        shown = db.public_database_url(url)
    sent = counts.get("sent", 0)
    print(f"database: {shown}")
    print(f"sent {sent} of {args.rows} rows: {wall:.2f} s wall, {cpu:.2f} s CPU")
    print(f"per row: {1000 * cpu / max(sent, 1):.3f} ms CPU, {1000 * wall / max(sent, 1):.3f} ms wall")
    if sent != args.rows:
        sys.exit(f"only {sent} of {args.rows} rows were sent: {dict(counts)}")


if __name__ == "__main__":
    main()
