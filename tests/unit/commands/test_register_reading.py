"""The plain read path of `tickets list` and `tickets show` agrees with the ORM's, piece by piece.

`daemon.store.rawread` converts the driver's values by its own lists of column
types, opens the URLs `daemon.store.db` opens with the same connection
arguments, and filters as `daemon.store.tickets` does; `daemon.sla.standing`
reads the targets as `daemon.sla.stamping` does; `tickets show` prints the
attachments as `tickets attachments` does. Each of these is written twice, and
held to one answer here. The runs on real databases are
`tests/integration/test_register_fast_path.py`.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Date, DateTime
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from daemon.commands import tickets
from daemon.sla import standing
from daemon.store import db, rawread
from daemon.store import tickets as ticket_store
from daemon.store.models import InboundMessage, OutboundMessage, Ticket, TicketEvent, UTCDateTime
from daemon.tickets.attachments import size_text

TABLES = {
    "ticket": Ticket,
    "ticket_event": TicketEvent,
    "inbound_message": InboundMessage,
    "outbound_message": OutboundMessage,
}


def _columns(model: type, kind: type) -> frozenset[str]:
    table = model.__table__  # type: ignore[attr-defined]
    if kind is DateTime:
        return frozenset(column.name for column in table.columns if isinstance(column.type, UTCDateTime))
    return frozenset(column.name for column in table.columns if isinstance(column.type, kind))


@pytest.mark.parametrize("table", sorted(TABLES))
def test_the_column_types_are_the_models(table: str) -> None:
    model = TABLES[table]
    assert rawread.DATETIMES.get(table, frozenset()) == _columns(model, DateTime)
    assert rawread.BOOLEANS.get(table, frozenset()) == _columns(model, Boolean)
    assert rawread.DATES.get(table, frozenset()) == _columns(model, Date)
    assert rawread.JSONS.get(table, frozenset()) == _columns(model, JSON)
    assert not any(
        isinstance(column.type, DateTime) and not isinstance(column.type, UTCDateTime)
        for column in model.__table__.columns
    )  # type: ignore[attr-defined]


def test_sqlite_values_are_converted_as_sqlalchemy_converts_them() -> None:
    reader = rawread.Reader(None, "sqlite")
    moment = reader._converter("ticket", "received_at")
    utc_type, dialect = UTCDateTime(), sqlite.dialect()
    read_back = utc_type.process_result_value
    for stored in ("2026-07-20 03:00:00.000000", "2026-07-20 03:00:00", "2026-07-20 10:00:00+07:00"):
        sqlalchemy_reads = read_back(sqlite.DATETIME().result_processor(dialect, None)(stored), dialect)
        assert moment(stored) == sqlalchemy_reads and moment(stored).tzinfo is UTC
    assert reader._converter("ticket", "escalated")(1) is True
    assert reader._converter("ticket_event", "data")('{"a": [1, "é"]}') == {"a": [1, "é"]}
    assert reader._converter("ticket", "subject") is None
    # psycopg gives aware datetimes in the session's zone: made UTC, as UTCDateTime does.
    on_server = rawread.Reader(None, "postgresql")._converter("ticket", "received_at")
    jakarta = datetime(2026, 7, 20, 10, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Jakarta")
    )
    assert on_server(jakarta) == read_back(jakarta, postgresql.dialect()) and on_server(jakarta).tzinfo is UTC
    assert rawread.Reader(None, "postgresql")._converter("ticket", "escalated") is None


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dt_abc",
        "postgresql://care:s%40cret%3A@db.example.net/caredesk",
        "postgresql+psycopg://care@localhost/caredesk?sslmode=require&application_name=caredesk",
        "postgresql+psycopg:///caredesk?host=/run/postgresql",
        "postgresql+psycopg://care:pw@db1:5432,db2:5433/caredesk",
        "postgresql+psycopg://care@[::1]:5432/caredesk",
        "postgresql+psycopg://",
    ],
)
def test_postgresql_is_reached_with_the_arguments_sqlalchemy_gives_psycopg(url: str) -> None:
    options = rawread._postgresql_target(url)
    if options is None:
        return  # left to the full path, which sees to it
    assert rawread.handles(url)
    engine_url = db.check_url(url)
    _, expected = engine_url.get_dialect()().create_connect_args(engine_url)
    assert options == expected


def test_the_plain_reader_takes_only_urls_it_opens_as_the_full_path_does() -> None:
    taken = [
        "sqlite:////var/lib/caredesk/caredesk.db",
        "sqlite:///caredesk.db?timeout=5",
        "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dt_abc",
    ]
    for url in taken:
        assert rawread.handles(url), url
        db.check_url(url)  # a configuration db accepts
    assert rawread._sqlite_target("sqlite:///caredesk.db?timeout=5") == ("caredesk.db", 5.0)
    assert rawread._sqlite_target("sqlite:////data/c.db") == ("/data/c.db", rawread.SQLITE_BUSY_TIMEOUT_S)
    assert make_url("sqlite:////data/c.db").database == "/data/c.db"
    for url in (
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///caredesk.db?uri=true",
        "sqlite+pysqlite:///caredesk.db",
        "mysql://root@127.0.0.1/caredesk",
        "postgresql+psycopg2://care@db/caredesk",
        "postgresql+psycopg://care@db/caredesk?host=a&host=b",
    ):
        assert not rawread.handles(url), url


def _rendered(condition: Any, dialect: Any) -> str:
    """A condition as SQLite gets it, without the parentheses SQLAlchemy puts round a NOT IN."""
    rendered = str(condition.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))
    return rendered[1:-1] if rendered.startswith("(") and rendered.endswith(")") else rendered


def test_the_filter_reads_as_the_orm_renders_it() -> None:
    dialect = sqlite.dialect()
    for wanted in (
        rawread.TicketFilter(),
        rawread.TicketFilter(excluded=standing.CLOSED_STATUSES, department="keuangan"),
        rawread.TicketFilter(statuses=("in-progress", "in_progress")),
    ):
        where, params = wanted.where_sql()
        orm = [_rendered(condition, dialect) for condition in ticket_store.filter_conditions(wanted)]
        assert where == (" WHERE " + " AND ".join(orm).replace("ticket.", "") if orm else "")
        assert params == (*(wanted.statuses or ()), *([wanted.department] if wanted.department else []))
    assert (
        "status NOT IN ('resolved', 'closed')"
        in rawread.TicketFilter(excluded=("resolved", "closed")).where_sql()[0]
    )


def test_the_sla_view_reads_a_plain_row_as_it_reads_a_ticket() -> None:
    now = datetime(2026, 7, 21, 3, tzinfo=UTC)
    moments = [None, now - timedelta(days=1), now, now + timedelta(hours=2)]
    seen = set()
    for status, due, responded, resolution_due, completed in itertools.product(
        ("new", "resolved", "closed"), moments, moments, moments, moments
    ):
        columns = {
            "status": status,
            "first_response_due": due,
            "first_responded_at": responded,
            "resolution_due": resolution_due,
            "completed_at": completed,
        }
        view = standing.sla_view(SimpleNamespace(**columns), now)
        assert view == standing.sla_view(Ticket(**columns), now)
        seen.add((view.first_response_status, view.resolution_status))
    # Every outcome of both targets came up, so the comparison covered each branch.
    assert {status for status, _ in seen} == {None, "pending", "overdue", "met", "met-late"}
    assert {status for _, status in seen} == {None, "pending", "overdue", "met", "met-late"}


def test_show_prints_the_attachments_as_the_attachments_command_does() -> None:
    entries = [
        {
            "filename": "bukti €.pdf",
            "content_type": "application/pdf",
            "size": 2048,
            "sha256": "ab" * 32,
            "from": "budi@example.net",
            "inbound_id": 3,
        },
        {
            "filename": "x",
            "content_type": "text/plain",
            "size": 1,
            "sha256": "0" * 64,
            "from": "",
            "inbound_id": 4,
        },
    ]
    assert tickets.attachment_lines(entries) == [
        f"  bukti €.pdf  application/pdf  {size_text(2048)}  sha256 {'ab' * 32}  "
        "from budi@example.net (inbound #3)",
        f"  x  text/plain  {size_text(1)}  sha256 {'0' * 64}  from - (inbound #4)",
    ]
