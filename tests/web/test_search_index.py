"""The register's search index (migration 0009): kept right by the database, used when it helps.

On SQLite the FTS5 trigram table `ticket_search` and its triggers, on PostgreSQL the
pg_trgm index `ix_ticket_search`. Each test compares what the register finds with
what a plain substring search over the same columns finds in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlmodel import col

from daemon.store import db
from daemon.store.models import Ticket
from daemon.store.search_queue import SEARCHED_COLUMNS
from daemon.web import register
from daemon.web.accounts import Scope
from tests.web.desk import PIC_PHONE_STORED, Desk, build_desk

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
COLUMNS = list(SEARCHED_COLUMNS)


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Desk:
    return build_desk(tmp_path, database_url)


@pytest.fixture
def engine(desk: Desk) -> Iterator[Engine]:
    engine = db.open_for_writing(desk.config.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def found(engine: Engine, words: str, status: str = "all") -> set[str]:
    """The references the register's page and its export find for `words`."""
    lookup = register.Lookup(register.Query(q=words, status=status), Scope(None), NOW, UTC)
    with db.read_session(engine) as session:
        page = {ticket.reference for ticket in register.one_page(session, lookup).tickets}
        exported = {ticket.reference for ticket in register.every_row(session, lookup)}
    assert page == exported
    return page


def expected(engine: Engine, words: str) -> set[str]:
    """What a substring search, ignoring case, over the searched columns finds (in Python)."""
    with db.read_session(engine) as session:
        tickets = session.execute(select(Ticket)).scalars().all()
    wanted = words.lower()
    return {t.reference for t in tickets if any(wanted in str(getattr(t, name)).lower() for name in COLUMNS)}


def index_of(engine: Engine) -> str:
    with db.read_session(engine) as session:
        return register.search_index(session)


def uses_the_index(engine: Engine, words: str) -> bool:
    """Whether the database answers a search for `words` from the search index."""
    lookup = register.Lookup(register.Query(q=words, status="all"), Scope(None), NOW, UTC)
    with engine.connect() as connection:
        index = register.FTS5 if connection.dialect.name == "sqlite" else register.TRIGRAM
        # What is counted (no order: an index scan in received_at order would avoid the seqscan too).
        counted = select(col(Ticket.id)).where(*lookup.conditions(index))
        statement = counted.compile(connection, compile_kwargs={"literal_binds": True})
        if connection.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}")
            )
            return "VIRTUAL TABLE" in plan and "ticket_search" in plan
        with connection.begin():
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {statement}"))
        return "ix_ticket_search" in plan


def test_the_migrations_make_the_index_and_the_search_uses_it(desk: Desk, engine: Engine) -> None:
    assert index_of(engine) in (register.FTS5, register.TRIGRAM)
    assert uses_the_index(engine, "aminah")
    siti = desk.by_subject("INV-202400001")
    assert found(engine, "AMINAH") == {siti.reference} == expected(engine, "aminah")
    assert found(engine, PIC_PHONE_STORED) == {siti.reference}
    assert found(engine, "aminah", status="closed") == set(), "the other filters still apply"
    for words in ("example.net", "koran", "datang", "CC-2026-00000", "tidak datang tiga"):
        assert found(engine, words) == expected(engine, words), words
        assert found(engine, words), words
        assert walked(engine, words) == found(engine, words), "the way to a page of many matches"


def walked(engine: Engine, words: str) -> set[str]:
    """What the register finds for `words` the way it finds a page when there are many matches."""
    lookup = register.Lookup(register.Query(q=words, status="all"), Scope(None), NOW, UTC)
    with db.read_session(engine) as session:
        conditions = lookup.conditions(register.search_index(session), many=True)
        return set(session.execute(select(col(Ticket.reference)).where(*conditions)).scalars())


def test_a_ticket_ingested_after_the_migration_is_found(desk: Desk, engine: Engine, tmp_path: Path) -> None:
    from tests import mailfactory
    from tests.integration.helpers import run_cli

    mail = tmp_path / "late.eml"
    mail.write_bytes(mailfactory.complaint(7, sender="wulandari@example.org", name="Wulandari Kusumawati"))
    assert run_cli("--config", str(desk.config_path), "ingest", str(mail)) == 0
    late = found(engine, "kusumawati")
    assert len(late) == 1 and late == expected(engine, "kusumawati")
    assert found(engine, "WULANDARI@EXAMPLE.ORG") == late


def test_a_changed_subject_is_found_by_its_new_text_and_no_longer_by_the_old(
    desk: Desk, engine: Engine
) -> None:
    rina = desk.by_subject(desk.tickets[2].subject)
    old = rina.subject
    with db.session(engine) as session:
        ticket = session.execute(select(Ticket).where(col(Ticket.id) == rina.id)).scalar_one()
        ticket.subject = "Langganan terputus sejak Senin"
        session.commit()
    assert found(engine, "terputus sejak") == {rina.reference}
    assert rina.reference not in found(engine, old)
    assert found(engine, old) == expected(engine, old)
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:  # the index agrees with the table, row for row
            connection.exec_driver_sql("INSERT INTO ticket_search (ticket_search) VALUES ('integrity-check')")


def test_short_words_like_signs_and_quotes_are_searched_as_typed(desk: Desk, engine: Engine) -> None:
    siti = desk.by_subject("INV-202400001")
    with db.session(engine) as session:
        ticket = session.execute(select(Ticket).where(col(Ticket.id) == siti.id)).scalar_one()
        ticket.subject = 'Diskon 50%_off "promo" tidak berlaku'
        session.commit()
    for words in ("si", "jo", "a", "50%", "%_o", "0%_", '"promo"', 'o" t', "_", "%"):
        assert found(engine, words) == expected(engine, words), words
    assert found(engine, "50%_off") == {siti.reference}
    assert found(engine, "50%xoff") == set() == found(engine, "5_%_off"), "LIKE signs are literal"
    assert found(engine, '"promo"') == {siti.reference}


def test_without_the_index_the_search_still_finds_the_same(desk: Desk, engine: Engine) -> None:
    before = {words: found(engine, words) for words in ("aminah", "koran", "example.net")}
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            for trigger in ("insert", "update", "delete"):
                connection.exec_driver_sql(f"DROP TRIGGER ticket_search_{trigger}")
            connection.exec_driver_sql("DROP TABLE ticket_search")
        else:
            connection.exec_driver_sql("DROP INDEX ix_ticket_search")
    assert index_of(engine) == ""
    assert {words: found(engine, words) for words in before} == before


def test_the_menus_offer_the_values_the_visible_tickets_have(desk: Desk, engine: Engine) -> None:
    with engine.begin() as connection:
        for origin, ticket in zip(("branch:bandung", "branch;x", "branch:"), desk.tickets, strict=True):
            connection.execute(
                text("UPDATE ticket SET origin = :o WHERE id = :i"), {"o": origin, "i": ticket.id}
            )
    with db.read_session(engine) as session:
        menus = register.choices(session, Scope(None))
        scoped = register.choices(session, Scope(frozenset({desk.tickets[0].department})))
    departments = sorted({t.department for t in desk.tickets})
    assert menus["department"] == departments
    assert menus["channel"] == ["email"]
    assert menus["severity"] == sorted({t.severity for t in desk.tickets})
    assert menus["product"] == sorted({t.product for t in desk.tickets if t.product})
    assert menus["branch"] == ["bandung"]
    assert scoped["department"] == [desk.tickets[0].department]
    assert scoped["branch"] == ["bandung"]


# --- SQLite: new tickets wait in a queue and join the index a batch at a time (migration 0011) ----


def _queued(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [
            row[0] for row in connection.exec_driver_sql("SELECT id FROM ticket_search_queue ORDER BY id")
        ]


def _index_is_sound(engine: Engine) -> None:
    """FTS5's own check: every indexed row holds the terms of its values in `ticket`, no more."""
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO ticket_search (ticket_search) VALUES ('integrity-check')")


# The queue is SQLite's; PostgreSQL keeps its pg_trgm index itself.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@sqlite_only
def test_the_daemon_indexes_its_batch_and_leaves_nothing_queued(desk: Desk, engine: Engine) -> None:
    assert _queued(engine) == [], "`caredesk ingest` processed the desk's mails and caught up"
    siti = desk.by_subject("INV-202400001")
    with engine.connect() as connection:
        indexed = connection.exec_driver_sql(
            "SELECT rowid FROM ticket_search WHERE ticket_search MATCH '\"aminah\"'"
        ).all()
    assert [row[0] for row in indexed] == [siti.id]
    _index_is_sound(engine)


@sqlite_only
def test_a_ticket_another_writer_adds_is_found_while_queued_and_after_the_catch_up(
    desk: Desk, engine: Engine
) -> None:
    from daemon.store import search_queue

    template = desk.by_subject("INV-202400001")
    with db.session(engine) as session:
        copy = Ticket(
            **{
                name: getattr(template, name)
                for name in Ticket.model_fields
                if name not in ("id", "reference", "subject", "customer_name")
            },
            reference="CC-2026-900001",
            subject="Meteran prabayar mati total",
            customer_name="Yohanes Kristiawan",
        )
        gone = Ticket(**{**copy.model_dump(exclude={"id"}), "reference": "CC-2026-900002"})
        session.add_all([copy, gone])
        session.commit()
        copy_id, gone_id = copy.id, gone.id
    assert _queued(engine) == [copy_id, gone_id]
    assert (
        found(engine, "kristiawan") == {"CC-2026-900001", "CC-2026-900002"} == expected(engine, "kristiawan")
    )
    assert walked(engine, "kristiawan") == found(engine, "kristiawan")
    assert uses_the_index(engine, "kristiawan")

    # A queued ticket changed or deleted: the index is not told (it does not hold the ticket yet).
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE ticket SET subject = 'Meteran prabayar berbunyi terus' WHERE id = ?", (copy_id,)
        )
        connection.exec_driver_sql("DELETE FROM ticket WHERE id = ?", (gone_id,))
    assert _queued(engine) == [copy_id]
    _index_is_sound(engine)

    assert search_queue.catch_up_now(engine) == {"search_indexed": 1}
    assert _queued(engine) == [] and search_queue.catch_up_now(engine) == {}
    _index_is_sound(engine)
    assert found(engine, "berbunyi terus") == {"CC-2026-900001"} == expected(engine, "berbunyi terus")
    assert found(engine, "mati total") == set() == expected(engine, "mati total")
    assert found(engine, "kristiawan") == {"CC-2026-900001"}

    # Indexed now: a change and a deletion reach the index again.
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE ticket SET subject = 'Token listrik ditolak' WHERE id = ?", (copy_id,)
        )
    _index_is_sound(engine)
    assert found(engine, "token listrik") == {"CC-2026-900001"}
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM ticket WHERE id = ?", (copy_id,))
    _index_is_sound(engine)
    assert found(engine, "kristiawan") == set()


@sqlite_only
def test_down_to_0010_and_up_again_keeps_every_ticket_searchable(desk: Desk, engine: Engine) -> None:
    from alembic import command

    from daemon.store import migrations

    before = {words: found(engine, words) for words in ("aminah", "koran", "example.net")}
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO ticket_search_queue (id) SELECT min(id) FROM ticket")
        connection.exec_driver_sql(
            "DELETE FROM ticket_search WHERE rowid IN (SELECT id FROM ticket_search_queue)"
        )
    with engine.begin() as connection:
        command.downgrade(migrations.alembic_config(connection), "0010_inbound_attachment_list")
    with engine.connect() as connection:
        tables = {row[0] for row in connection.exec_driver_sql("SELECT name FROM sqlite_master")}
    assert "ticket_search_queue" not in tables and "ticket_search_insert" in tables
    _index_is_sound(engine)
    with engine.begin() as connection:
        migrations.upgrade(connection)
    assert _queued(engine) == []
    assert {words: found(engine, words) for words in before} == before
    _index_is_sound(engine)
