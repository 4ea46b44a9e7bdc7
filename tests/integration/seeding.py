"""Tickets written straight into a test database, for the commands that read them back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlmodel import Session

from daemon.store import db
from daemon.store.models import Ticket

RECEIVED = datetime(2026, 7, 20, 3, 0, tzinfo=UTC)
"""Monday 20 July 2026, 10:00 WIB: the day before the pinned clock."""


@contextlib.contextmanager
def seeded(database_url: str) -> Iterator[Session]:
    """A session on the migrated database; what the block adds is committed at its end."""
    engine = db.make_engine(database_url)
    try:
        db.create_schema(engine)
        with db.session(engine) as session:
            yield session
            session.commit()
    finally:
        engine.dispose()


def ticket(number: int, **fields: object) -> Ticket:
    """A plain complaint `CC-2026-<number>`; `fields` set the columns a test cares about."""
    values: dict[str, object] = {
        "reference": f"CC-2026-{number:06d}",
        "department": "customer-care",
        "customer_email": f"pelanggan{number}@example.net",
        "subject": f"Keluhan nomor {number}",
        "received_at": RECEIVED,
        "created_at": RECEIVED,
        "updated_at": RECEIVED,
    }
    return Ticket(**(values | fields))
