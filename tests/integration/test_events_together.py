"""A new complaint's history entries in one statement (`queries.events_together`), on both databases.

Inside the block `add_event` holds the entries back; at its end they are written in
the order they were added, in one executemany. A block that raises writes none, and
a block inside another leaves the writing to the outer one.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, func, select
from sqlmodel import Session, col

from daemon.store import db, queries
from daemon.store.models import Ticket, TicketEvent
from daemon.store.queries import History
from daemon.store.tickets import add_ticket

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 2, 3, 4, tzinfo=UTC)


def _ticket(session: Session, number: int) -> Ticket:
    return add_ticket(
        session,
        Ticket(
            reference=f"CC-2026-{number:06d}",
            department="teknik",
            customer_email="budi@example.com",
            subject="Aplikasi tidak bisa login",
            received_at=AT,
            created_at=AT,
            updated_at=AT,
        ),
    )


def _entry(action: str) -> History:
    return History(actor="caredesk", action=action, at=AT, data={"step": action})


def _actions(session: Session, ticket: Ticket) -> list[str]:
    statement = select(col(TicketEvent.action)).where(col(TicketEvent.ticket_id) == ticket.id)
    return list(session.execute(statement.order_by(col(TicketEvent.id))).scalars())


def test_the_entries_are_written_in_order_in_one_statement_at_the_end(engine: Engine) -> None:
    inserts: list[bool] = []

    def count(*args: object) -> None:
        # before_cursor_execute(conn, cursor, statement, parameters, context, executemany)
        statement, many = str(args[2]), bool(args[5])
        if statement.lstrip().upper().startswith("INSERT INTO TICKET_EVENT"):
            inserts.append(many)

    with db.session(engine) as session:
        ticket = _ticket(session, 1)
        event.listen(engine, "before_cursor_execute", count)
        try:
            with queries.events_together(session):
                for action in ("created", "routed", "queued"):
                    queries.add_event(session, ticket, _entry(action))
                assert _actions(session, ticket) == []  # held back until the block ends
            queries.add_event(session, ticket, _entry("note"))  # after it: at once
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert _actions(session, ticket) == ["created", "routed", "queued", "note"]
        session.commit()
    assert inserts == [True, False]  # one executemany for the three, then one INSERT


def test_a_block_that_raises_writes_none_of_its_entries(engine: Engine) -> None:
    with db.session(engine) as session:
        ticket = _ticket(session, 1)
        with pytest.raises(RuntimeError), queries.events_together(session):
            queries.add_event(session, ticket, _entry("created"))
            raise RuntimeError("the mail failed")
        queries.add_event(session, ticket, _entry("note"))
        assert _actions(session, ticket) == ["note"]
        # The next block starts empty.
        with queries.events_together(session):
            queries.add_event(session, ticket, _entry("routed"))
        assert _actions(session, ticket) == ["note", "routed"]


def test_a_block_inside_another_leaves_the_writing_to_the_outer_one(engine: Engine) -> None:
    with db.session(engine) as session:
        first, second = _ticket(session, 1), _ticket(session, 2)
        with queries.events_together(session):
            queries.add_event(session, first, _entry("created"))
            with queries.events_together(session):
                queries.add_event(session, second, _entry("created"))
            assert session.execute(select(func.count()).select_from(TicketEvent)).scalar_one() == 0
            queries.add_event(session, first, _entry("routed"))
        assert _actions(session, first) == ["created", "routed"]
        assert _actions(session, second) == ["created"]
