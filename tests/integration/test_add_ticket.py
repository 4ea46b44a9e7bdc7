"""A new ticket is stored by one INSERT, then behaves as any stored ticket of the session.

`store.tickets.add_ticket` writes the row through Core, without the unit of work
(issue 17), and attaches the object as persistent. What it must keep, on both
backends: every column as given, the id at once, later changes flushed as
UPDATEs, the SLA ladder's re-check of a changed ticket, nothing else flushed with it,
and a ticket whose transaction rolled back gone from the session as from the table.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import object_session
from sqlmodel import Session, col

from daemon.store import db, sla_due
from daemon.store import tickets as ticket_store
from daemon.store.models import InboundMessage, Ticket
from tests.integration.seeding import RECEIVED, seeded, ticket

NEXT_LOOK = RECEIVED + timedelta(hours=4)


def _full_ticket() -> Ticket:
    return ticket(
        7,
        status="new",
        product="router",
        severity="major",
        escalated=True,
        tags="rusak,garansi",
        sla_class="standard",
        category="product",
        customer_name="Budi Santoso",
        customer_organisation="PT Contoh",
        pic_phone="+62 812 0000 0000",
        pic_email="pic@example.net",
        language="en",
        description="Router mati total sejak kemarin.",
        rules_version="abc123",
        watchers="siti@example.net",
        first_response_due=RECEIVED + timedelta(days=1),
        resolution_due=RECEIVED + timedelta(days=14),
        next_sla_step_at=NEXT_LOOK,
    )


def _columns(row: Ticket) -> dict[str, object]:
    return {column.key: getattr(row, column.key) for column in Ticket.__table__.columns}  # type: ignore[attr-defined]


def _stored(database_url: str, ticket_id: int | None) -> Ticket:
    """The ticket as a new connection reads it back."""
    engine = db.make_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            row = session.get(Ticket, ticket_id)
    finally:
        engine.dispose()
    assert row is not None
    return row


def test_every_column_is_stored_as_given_and_the_id_is_known_at_once(database_url: str) -> None:
    given = _full_ticket()
    expected = _columns(given)
    with seeded(database_url) as session:
        stored = ticket_store.add_ticket(session, given)
        assert stored is given and isinstance(given.id, int)
        assert object_session(given) is session and given not in session.new
        ticket_id = given.id

    assert _columns(_stored(database_url, ticket_id)) == expected | {"id": ticket_id}


def test_later_changes_are_updates_and_the_ladder_looks_again(database_url: str) -> None:
    with seeded(database_url) as session:
        new = ticket_store.add_ticket(session, _full_ticket())
        # A change to the plain field is flushed as an UPDATE of the stored row.
        new.customer_name = "Budi S."
        session.flush()
        assert session.execute(select(col(Ticket.customer_name))).scalar_one() == "Budi S."
        # A change to one of the ladder's inputs moves its next look to "now".
        ticket_store.set_status(session, new, "acknowledged")
        session.flush()
        assert new.next_sla_step_at == sla_due.RECHECK
        ticket_id = new.id

    row = _stored(database_url, ticket_id)
    assert (row.status, row.customer_name) == ("acknowledged", "Budi S.")
    assert row.next_sla_step_at == sla_due.RECHECK


def test_nothing_else_pending_is_written_with_it(database_url: str) -> None:
    """The mail's own changes wait for the SAVEPOINT's flush, which writes them once."""
    with seeded(database_url) as session:
        mail = InboundMessage(
            source="maildir:/srv/mail",
            source_key="1/1",
            message_id="<pending@example.net>",
            raw=b"",
            raw_sha256="0" * 64,
            size=0,
            received_at=RECEIVED,
        )
        session.add(mail)
        session.flush()
        mail.reason = "being processed"

        ticket_store.add_ticket(session, _full_ticket())

        assert mail in session.dirty
        on_disk = session.connection().execute(
            select(col(InboundMessage.reason)).where(col(InboundMessage.id) == mail.id)
        )
        assert on_disk.scalar_one() == ""


def test_a_ticket_whose_savepoint_rolls_back_leaves_the_session(database_url: str) -> None:
    """As a flushed new object would: the next ticket may get its id (SQLite reuses it)."""
    with seeded(database_url) as session:
        with pytest.raises(RuntimeError), session.begin_nested():
            lost = ticket_store.add_ticket(session, ticket(1))
            raise RuntimeError("a later stage of the mail failed")
        assert lost not in session

        with session.begin_nested():
            kept = ticket_store.add_ticket(session, ticket(2))
        assert kept in session
        kept_id = kept.id

    assert _stored(database_url, kept_id).reference == "CC-2026-000002"
    assert _references(database_url) == ["CC-2026-000002"]


def test_a_rolled_back_transaction_takes_its_tickets_along_and_a_committed_one_keeps_them(
    database_url: str,
) -> None:
    with seeded(database_url) as session:
        gone = ticket_store.add_ticket(session, ticket(1))
        session.rollback()
        assert gone not in session
        first = ticket_store.add_ticket(session, ticket(2))
        with session.begin_nested():
            second = ticket_store.add_ticket(session, ticket(3))
        session.commit()
        assert first in session and second in session
        # A rollback after the commit concerns none of them.
        third = ticket_store.add_ticket(session, ticket(4))
        session.rollback()
        assert third not in session and first in session

    assert _references(database_url) == ["CC-2026-000002", "CC-2026-000003"]


def _references(database_url: str) -> list[str]:
    engine = db.make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.execute(select(col(Ticket.reference)).order_by(col(Ticket.id))).scalars())
    finally:
        engine.dispose()
