"""`caredesk tickets list`: the open tickets by default, newest first, 50 a page, counted.

56 tickets written straight into SQLite and PostgreSQL: 53 open (new,
assigned, in-progress, and the `in_progress` of branch recaps), two resolved,
one closed. The text view pages them, says how many there are and how to see
more; `--status` takes a status or a group; `--json` stays the plain list of
the whole register that scripts read. The database does the paging: every
ticket query is counted or limited. The command reads through the plain driver
(`daemon.store.rawread`); its statements are recorded by wrapping `Reader`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.store import rawread
from tests.clockpin import config_variables
from tests.integration.helpers import run_cli, write_config
from tests.integration.seeding import seeded, ticket

pytestmark = pytest.mark.integration

LONG_ADDRESS = "a-very-long-customer-address-for-the-column@example.net"
STATUS_OF = {5: "in_progress", 6: "in-progress", 10: "closed", 20: "resolved", 30: "resolved"}
OPEN = [number for number in range(56, 0, -1) if number not in (10, 20, 30)]


def _status(number: int) -> str:
    return STATUS_OF.get(number, "assigned" if number % 3 == 0 else "new")


@pytest.fixture
def config(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in config_variables():
        monkeypatch.delenv(name)
    with seeded(database_url) as session:
        for number in range(1, 57):  # one at a time: the ids follow the numbers
            email = LONG_ADDRESS if number == 56 else f"pelanggan{number}@example.net"
            session.add(ticket(number, status=_status(number), customer_email=email))
            session.flush()
    yield write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
    )


def _list(capsys: Any, config: Path, *options: str) -> tuple[str, str]:
    capsys.readouterr()
    assert run_cli("--config", str(config), "tickets", "list", *options) == 0
    captured = capsys.readouterr()
    return str(captured.out), str(captured.err)


def _numbers(text: str) -> list[int]:
    return [int(line[8:14]) for line in text.splitlines() if line.startswith("CC-2026-")]


@contextlib.contextmanager
def _recorded() -> Iterator[list[tuple[str, Any]]]:
    """The statements on `ticket` the plain reader runs in the block, as the driver gets them."""
    executed: list[tuple[str, Any]] = []
    value, stream = rawread.Reader.value, rawread.Reader.stream

    def noted(reader: rawread.Reader, statement: str, params: Any) -> None:
        if statement.lstrip().lower().startswith("select") and "from ticket" in statement.lower():
            executed.append((reader._sql(statement), tuple(params)))

    def valued(reader: rawread.Reader, statement: str, params: Any = ()) -> Any:
        noted(reader, statement, params)
        return value(reader, statement, params)

    def streamed(
        reader: rawread.Reader, table: str, statement: str, params: Any = (), batch: int = 500
    ) -> Any:
        noted(reader, statement, params)
        return stream(reader, table, statement, params, batch)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rawread.Reader, "value", valued)
        patch.setattr(rawread.Reader, "stream", streamed)
        yield executed


def test_tickets_list_defaults_to_open_newest_first_paged(config: Path, capsys: Any) -> None:
    with _recorded() as executed:
        first, _ = _list(capsys, config)
    statements = [" ".join(statement.split()).lower() for statement, _ in executed]

    lines = first.splitlines()
    assert lines[0].startswith("REFERENCE ")
    assert _numbers(first) == OPEN[:50]
    assert lines[-1] == "showing 1–50 of 53 open tickets; --page 2 for more"
    # Counted and paged by the database, never read whole.
    ticket_reads = [s for s in statements if s.startswith("select") and " from ticket" in s]
    assert any("count(" in s for s in ticket_reads)
    assert all("count(" in s or " limit " in s for s in ticket_reads), ticket_reads
    # The customer column is cut with an ellipsis, the columns after it stay in place.
    (newest,) = [line for line in lines if line.startswith("CC-2026-000056")]
    assert f" {LONG_ADDRESS[:27]}… Keluhan nomor 56" in newest
    assert newest.index("Keluhan") == lines[0].index("SUBJECT")

    second, _ = _list(capsys, config, "--page", "2")
    assert _numbers(second) == [3, 2, 1]
    assert second.splitlines()[-1] == "showing 51–53 of 53 open tickets"
    assert _list(capsys, config, "--page", "3")[0] == "no page 3: the 53 open tickets fill 2 page(s)\n"

    closed, _ = _list(capsys, config, "--status", "closed")
    assert _numbers(closed) == [30, 20, 10]
    assert closed.splitlines()[-1] == "showing 1–3 of 3 closed tickets"
    assert _numbers(_list(capsys, config, "--status", "in-progress")[0]) == [6, 5]
    everything, _ = _list(capsys, config, "--status", "all", "--all")
    assert _numbers(everything) == list(range(56, 0, -1))
    assert everything.splitlines()[-1] == "showing all 56 tickets"
    none = _list(capsys, config, "--status", "acknowledged")[0]
    assert none == "no acknowledged tickets; 56 in other statuses (--status all)\n"
    department = _list(capsys, config, "--department", "keuangan")[0]
    assert department == "no tickets in keuangan\n"

    # --json: the plain list scripts read, every status by default; a page when asked.
    listed = json.loads(_list(capsys, config, "--json")[0])
    assert [row["reference"] for row in listed] == [f"CC-2026-{n:06d}" for n in range(56, 0, -1)]
    out, err = _list(capsys, config, "--json", "--page", "2", "--limit", "20")
    assert [int(row["reference"][-6:]) for row in json.loads(out)] == list(range(36, 16, -1))
    assert err == "showing 21–40 of 56 tickets; --page 3 for more\n"
    assert json.loads(_list(capsys, config, "--json", "--status", "open", "--limit", "5")[0])[0][
        "reference"
    ] == ("CC-2026-000056")


def test_the_open_listing_reads_the_partial_indexes_of_open_tickets(
    config: Path, database_url: str, capsys: Any
) -> None:
    """Counted and paged through a partial index of open tickets, never over the closed tickets.

    A partial index serves a query only when its WHERE states the index's condition in
    constants: the statuses left out are rendered inline, and the planner picks the index
    (PostgreSQL told not to scan the table, which for 56 rows it would rather do).
    """
    with _recorded() as executed:
        _list(capsys, config)
        _list(capsys, config, "--department", "customer-care", "--status", "open")

    assert len(executed) == 4, executed  # a count and a page, twice
    assert all("NOT IN ('resolved', 'closed')" in statement for statement, _ in executed)
    plans = [_plan(database_url, statement, parameters) for statement, parameters in executed]
    # One of the partial indexes on open tickets; which one is the planner's choice.
    assert all("ix_ticket_open" in plan for plan in plans), plans
    assert not any("Seq Scan" in plan or plan.strip() == "SCAN ticket" for plan in plans), plans


def _plan(url: str, statement: str, parameters: Any) -> str:
    from daemon.store import db

    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            assert raw is not None
            cursor = raw.cursor()
            if connection.dialect.name == "sqlite":
                cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                return " ".join(str(row[-1]) for row in cursor.fetchall())
            cursor.execute("SET enable_seqscan = off")
            cursor.execute(f"EXPLAIN {statement}", parameters)
            return " ".join(str(row[0]) for row in cursor.fetchall())
    finally:
        engine.dispose()
