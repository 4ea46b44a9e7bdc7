"""The row links of a branch's month: which row keys it has, and claiming new ones exactly once.

A `RecapRowLink` ties one row key (`RecapRow.row_key`) of a branch's month to
the ticket made from it, and is unique per branch, month and key. This module
owns reading those links and inserting new ones with ON CONFLICT DO NOTHING,
so two daemons importing the same file make one ticket per row between them.
What a link remembers about its row is written by `daemon.recap.store`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from daemon.recap.rows import RecapRow
from daemon.store.models import RecapRowLink, Ticket


def existing_links(session: Session, branch: str, month: str) -> dict[str, RecapRowLink]:
    """Row key -> link, for every row the branch's month has had."""
    statement = select(RecapRowLink).where(
        col(RecapRowLink.branch) == branch, col(RecapRowLink.month) == month
    )
    return {link.row_key: link for link in session.execute(statement).scalars()}


def linked_references(session: Session, branch: str, month: str) -> dict[int, str]:
    """Ticket id -> reference, for every ticket this branch's month already has."""
    statement = (
        select(col(Ticket.id), col(Ticket.reference))
        .join(RecapRowLink, col(RecapRowLink.ticket_id) == col(Ticket.id))
        .where(col(RecapRowLink.branch) == branch, col(RecapRowLink.month) == month)
    )
    return {ticket_id: reference for ticket_id, reference in session.execute(statement).all()}


def claim_links(
    session: Session, branch: str, month: str, rows: Sequence[RecapRow], now: datetime
) -> dict[str, RecapRowLink]:
    """Insert links for keys not seen before; every link of the month, afterwards.

    ON CONFLICT DO NOTHING: if another daemon claimed a key first, this
    insert waits for it (PostgreSQL) or runs after it (SQLite), and its
    link, with its ticket, is used: the row updates that ticket instead
    of making a second one.
    """
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = upsert(RecapRowLink.__table__).on_conflict_do_nothing(  # type: ignore[attr-defined]
        index_elements=["branch", "month", "row_key"]
    )
    values = [
        {
            "branch": branch,
            "month": month,
            "row_key": row.row_key,
            "sheet": row.sheet[:255],
            "row": row.row,
            "fingerprint": "",
            "row_values": "{}",
            "created_at": now,
            "updated_at": now,
        }
        for row in rows
    ]
    session.connection().execute(statement, values)
    return existing_links(session, branch, month)
