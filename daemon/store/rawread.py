"""The register read through the plain database driver: no SQLAlchemy, no models.

`caredesk tickets list` and `tickets show` read a page of tickets or one ticket;
the queries take milliseconds, importing SQLAlchemy and the models took most of
a second. `open_reader` opens the configured database with the DB-API driver
alone (stdlib `sqlite3`, or `psycopg` for PostgreSQL), read-only, and checks
the schema against the revision files (`daemon.store.schema_head`). It answers
None when it cannot be sure: a URL it does not know how to open, a SQLite file
that is not there, a database it cannot reach, a schema that is not at head.
The caller then takes the full path (`daemon.store.db.open_read_only`), which
says what is wrong in the words it always used.

SQLite is opened `mode=ro` and reads in one deferred transaction: in WAL mode it
never waits for the daemon's writer, and it cannot write. PostgreSQL runs one
read-only transaction. The values come back as SQLAlchemy's column types give
them (`daemon.store.models`): aware UTC datetimes, dates, booleans, JSON
decoded; `tests/unit/commands/test_register_reading.py` checks these lists against the models.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from daemon.store import schema_head

SQLITE_BUSY_TIMEOUT_S = 30.0
"""As `daemon.store.db`: `?timeout=<seconds>` in the URL, else 30 s."""

DATETIMES = {
    "ticket": frozenset(
        {
            "completed_at",
            "received_at",
            "created_at",
            "updated_at",
            "first_response_due",
            "resolution_due",
            "first_responded_at",
            "next_sla_step_at",
        }
    ),
    "ticket_event": frozenset({"at"}),
    "inbound_message": frozenset(
        {"next_attempt_at", "lease_until", "received_at", "arrived_at", "processed_at"}
    ),
    "outbound_message": frozenset({"next_attempt_at", "lease_until", "created_at", "sent_at"}),
}
"""The `UTCDateTime` columns of the tables read here."""
BOOLEANS = {
    "ticket": frozenset({"escalated"}),
    "inbound_message": frozenset({"headers_only"}),
    "outbound_message": frozenset({"automatic"}),
}
DATES = {"ticket": frozenset({"action_target"})}
JSONS = {"ticket_event": frozenset({"data"})}

# sqlite:///PATH[?timeout=N]; postgresql[+psycopg]://[user[:password]@][host][:port][/db][?query]
_SQLITE_URL = re.compile(r"sqlite:///(?P<database>[^?]+)(?:\?(?P<query>.*))?")
_POSTGRESQL_URL = re.compile(
    r"postgresql(?:\+psycopg)?://"
    r"(?:(?P<user>[^:/@]*)(?::(?P<password>[^@]*))?@)?"
    r"(?P<host>[^/:?\[\],@]*)(?::(?P<port>\d+))?"
    r"(?:/(?P<database>[^?%]*))?"
    r"(?:\?(?P<query>.*))?"
)


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """Which tickets a listing wants: every status, only `statuses`, or all but `excluded`.

    `where_sql` renders it for the plain driver; `daemon.store.tickets` renders the
    same filter for the ORM (`filter_conditions`). `tests/unit/commands/test_register_reading.py`
    compares the two renderings, `tests/integration/test_register_fast_path.py` runs both.
    """

    statuses: tuple[str, ...] | None = None
    """None: any status."""
    excluded: tuple[str, ...] = ()
    department: str | None = None

    def where_sql(self) -> tuple[str, tuple[str, ...]]:
        """`WHERE ...` (or '') with `?` placeholders, and its parameters."""
        found: list[str] = []
        params: list[str] = []
        if self.statuses is not None:
            if self.statuses:
                found.append(f"status IN ({', '.join('?' for _ in self.statuses)})")
                params.extend(self.statuses)
            else:
                found.append("1 = 0")
        if self.excluded:
            # Inline, as the ORM renders it: SQLite uses a partial index (`ix_ticket_open`)
            # only for a WHERE that states its condition in constants.
            found.append(f"status NOT IN ({', '.join(_literal(status) for status in self.excluded)})")
        if self.department is not None:
            found.append("department = ?")
            params.append(self.department)
        return (f" WHERE {' AND '.join(found)}" if found else ""), tuple(params)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Reader:
    """One read-only transaction on the register; rows come back as attribute objects."""

    def __init__(self, connection: Any, backend: str) -> None:
        self._connection = connection
        self.backend = backend

    def _sql(self, statement: str) -> str:
        return statement if self.backend == "sqlite" else statement.replace("?", "%s")

    def value(self, statement: str, params: Sequence[Any] = ()) -> Any:
        cursor = self._connection.cursor()
        try:
            cursor.execute(self._sql(statement), tuple(params))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else row[0]

    def rows(self, table: str, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self.stream(table, statement, params))

    def stream(
        self, table: str, statement: str, params: Sequence[Any] = (), batch: int = 500
    ) -> Iterator[Any]:
        """The rows of `statement` on `table`, `batch` at a time, each with its columns as attributes."""
        cursor = self._connection.cursor()
        try:
            cursor.execute(self._sql(statement), tuple(params))
            names = [column[0] for column in cursor.description]
            convert = [self._converter(table, name) for name in names]
            while chunk := cursor.fetchmany(batch):
                for row in chunk:
                    yield SimpleNamespace(
                        **{
                            name: (value if fix is None or value is None else fix(value))
                            for name, fix, value in zip(names, convert, row, strict=True)
                        }
                    )
        finally:
            # A listing left unfinished (its reader went away) is closed after the
            # connection: there is nothing left to close then.
            with contextlib.suppress(sqlite3.ProgrammingError):
                cursor.close()

    def _converter(self, table: str, name: str) -> Any:
        if name in DATETIMES.get(table, ()):
            return _sqlite_datetime if self.backend == "sqlite" else _utc
        if self.backend != "sqlite":
            return None  # psycopg gives booleans, dates and decoded JSON itself
        if name in BOOLEANS.get(table, ()):
            return bool
        if name in DATES.get(table, ()):
            return date.fromisoformat
        if name in JSONS.get(table, ()):
            return _sqlite_json
        return None


def _sqlite_datetime(value: str) -> datetime:
    """As SQLAlchemy reads a SQLite datetime (`fromisoformat`), then `UTCDateTime` (UTC, aware)."""
    return _utc(datetime.fromisoformat(value))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_json(value: Any) -> Any:
    # SQLAlchemy's SQLite JSON hands a number stored as one back as it is.
    return json.loads(value) if isinstance(value, str | bytes) else value


def handles(url: str) -> bool:
    """Whether `open_reader` knows how to open `url` (then `db.check_url` accepts it too)."""
    return _sqlite_target(url) is not None or _postgresql_target(url) is not None


@contextlib.contextmanager
def open_reader(url: str) -> Iterator[Reader | None]:
    """A `Reader` on the database at `url`, at the schema's head; None when the full path must answer."""
    connection = _connect(url)
    if connection is None:
        yield None
        return
    try:
        reader = Reader(connection, "sqlite" if isinstance(connection, sqlite3.Connection) else "postgresql")
        if not _at_head(reader):
            yield None
            return
        yield reader
    finally:
        with contextlib.suppress(Exception):
            connection.rollback()
        connection.close()


def _at_head(reader: Reader) -> bool:
    if schema_head.head() is None:
        return False
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    if reader.backend != "sqlite":
        import psycopg

        errors = (psycopg.Error,)
    try:
        recorded = [row.version_num for row in reader.rows("alembic_version", schema_head.VERSION_QUERY)]
    except errors:
        return False  # no alembic_version table: the full path says what the database is
    return schema_head.is_head(recorded)


def _connect(url: str) -> Any:
    sqlite = _sqlite_target(url)
    if sqlite is not None:
        path, timeout = sqlite
        if not Path(path).exists():
            return None
        try:
            connection = sqlite3.connect(
                f"file:{quote(path, safe='/')}?mode=ro", uri=True, timeout=timeout, isolation_level=None
            )
            connection.execute("BEGIN")  # deferred: takes no lock until it reads, never the write lock
        except sqlite3.Error:
            return None
        return connection
    options = _postgresql_target(url)
    if options is None:
        return None
    import psycopg

    try:
        server = psycopg.connect(**options)
    except psycopg.Error:
        return None
    server.read_only = True
    return server


def _sqlite_target(url: str) -> tuple[str, float] | None:
    """The file and busy timeout of a plain `sqlite:///PATH` URL; None for anything else."""
    found = _SQLITE_URL.fullmatch(url)
    if found is None:
        return None
    database = found.group("database")
    if database == ":memory:" or "%" in database:
        return None
    query = parse_qsl(found.group("query") or "", keep_blank_values=True)
    if any(key != "timeout" for key, _ in query) or len(query) > 1:
        return None
    try:
        timeout = float(query[0][1]) if query else SQLITE_BUSY_TIMEOUT_S
    except ValueError:
        return None
    return database, timeout


def _postgresql_target(url: str) -> dict[str, Any] | None:
    """psycopg's connection arguments for `url`, as SQLAlchemy's psycopg dialect makes them."""
    found = _POSTGRESQL_URL.fullmatch(url)
    if found is None:
        return None
    options: dict[str, Any] = {}
    if found.group("host"):
        options["host"] = found.group("host")
    if found.group("database"):
        options["dbname"] = found.group("database")
    if found.group("user") is not None:
        options["user"] = unquote(found.group("user"))
    if found.group("password") is not None:
        options["password"] = unquote(found.group("password"))
    if found.group("port"):
        options["port"] = int(found.group("port"))
    query = parse_qsl(found.group("query") or "", keep_blank_values=True)
    keys = [key for key, _ in query]
    if len(set(keys)) != len(keys) or {"host", "port"} & set(keys):
        return None  # several values, several hosts: the full path's
    options.update(query)
    return options if options else None


# --- the register's queries ----------------------------------------------------


def count_tickets(reader: Reader, wanted: TicketFilter) -> int:
    where, params = wanted.where_sql()
    return int(reader.value(f"SELECT count(*) FROM ticket{where}", params))


def newest_tickets(reader: Reader, wanted: TicketFilter, *, offset: int, limit: int) -> list[Any]:
    where, params = wanted.where_sql()
    statement = f"SELECT * FROM ticket{where} ORDER BY id DESC LIMIT ? OFFSET ?"
    return reader.rows("ticket", statement, (*params, limit, offset))


def stream_newest_tickets(reader: Reader, wanted: TicketFilter, *, batch: int = 500) -> Iterator[Any]:
    where, params = wanted.where_sql()
    return reader.stream("ticket", f"SELECT * FROM ticket{where} ORDER BY id DESC", params, batch)


def ticket_by_reference(reader: Reader, reference: str) -> Any:
    """The ticket of `reference` (any case), or None."""
    found = reader.rows("ticket", "SELECT * FROM ticket WHERE reference = ? LIMIT 1", (reference.upper(),))
    return found[0] if found else None


def reference_of(reader: Reader, ticket_id: int | None) -> str | None:
    if ticket_id is None:
        return None
    found = reader.value("SELECT reference FROM ticket WHERE id = ?", (ticket_id,))
    return None if found is None else str(found)


def ticket_events(reader: Reader, ticket_id: int) -> list[Any]:
    return reader.rows(
        "ticket_event", "SELECT * FROM ticket_event WHERE ticket_id = ? ORDER BY id", (ticket_id,)
    )


_MESSAGE_FIELDS = "id, ticket_id, received_at, from_address, subject, message_id, state"


def inbound_messages(reader: Reader, ticket_id: int) -> list[Any]:
    """The ticket's inbound mails without their bytes (`daemon.tickets.summary.inbound_entry`)."""
    statement = f"SELECT {_MESSAGE_FIELDS} FROM inbound_message WHERE ticket_id = ? ORDER BY id"
    return reader.rows("inbound_message", statement, (ticket_id,))


def outbound_messages(reader: Reader, ticket_id: int) -> list[Any]:
    statement = (
        "SELECT id, ticket_id, created_at, kind, recipient, subject, message_id, state "
        "FROM outbound_message WHERE ticket_id = ? ORDER BY id"
    )
    return reader.rows("outbound_message", statement, (ticket_id,))


def processed_mails(reader: Reader, ticket_id: int) -> list[Any]:
    """The mails processed onto the ticket, oldest first, for `daemon.tickets.attachment_index`.

    Each with its attachment list; the raw mail only when the list is missing (it is parsed again).
    """
    statement = (
        "SELECT id, from_address, received_at, attachment_list, "
        "CASE WHEN attachment_list IS NULL THEN raw END AS raw FROM inbound_message "
        "WHERE ticket_id = ? AND state = 'processed' AND NOT headers_only ORDER BY id"
    )
    return reader.rows("inbound_message", statement, (ticket_id,))
