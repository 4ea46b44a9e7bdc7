"""Build a large complaint register quickly, shaped like the one the daemon keeps.

Not a test: a tool for the benchmarks. Each ticket is stored as the pipeline
stores an e-mailed complaint that was answered once: the `ticket` row, two
`inbound_message` rows (the complaint and the customer's follow-up, both
processed and linked), two `outbound_message` rows (the acknowledgement to the
customer and the department's notice, both sent) and three `ticket_event` rows
(created, routed, and the move to the ticket's current status).

The schema is made by caredesk's own migrations (`daemon.store.db.open_for_writing`);
then the rows go in with the driver's bulk paths, generated in chunks: SQLite
`executemany` with the journal off, PostgreSQL `COPY`. The secondary indexes are
dropped before the load and made again after it, which is several times faster
than keeping them up to date row by row. The random choices come from `--seed`,
and `--end` is a fixed date, so the same arguments give the same register.

    .venv/bin/python bench/register.py --db sqlite:////tmp/register.db --tickets 1000000
    .venv/bin/python bench/register.py --db postgresql+psycopg://postgres@127.0.0.1:5432/bench \\
        --tickets 1000000 [--months 12] [--end 2026-11-30] [--seed 1]

A PostgreSQL database that does not exist yet is created first. The register must be
empty: build into a new SQLite file or a new database.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

DEFAULT_END = date(2026, 11, 30)
CHUNK = 20_000
PREFIX = "CC"
MAILBOX = "imap://care@example.co.id/INBOX"
CARE = "care@example.co.id"

# The open statuses, with their shares among open tickets: most open tickets are
# waiting on a department; few are still new (the acknowledgement not yet sent).
OPEN_SHARES = (
    ("new", 0.04),
    ("acknowledged", 0.12),
    ("assigned", 0.38),
    ("in-progress", 0.34),
    ("resolved", 0.12),
)
# The chance a ticket is still open, by its age in days: recent ones often are.
OPEN_BY_AGE = ((7, 0.75), (30, 0.30), (90, 0.06), (100_000, 0.015))

SUBJECTS = (
    "Koran tidak datang",
    "E-paper tidak bisa diunduh",
    "Tagihan langganan ganda",
    "Aplikasi tidak bisa login",
    "Iklan baris salah cetak",
    "Berita keliru tentang kami",
    "Newspaper not delivered",
    "Refund for cancelled subscription",
    "Website shows an error",
    "Buku pesanan belum diterima",
)
FIRST = ("Indah", "Budi", "Siti", "Agus", "Dewi", "Rizky", "Putri", "Hendra", "Wati", "Joko", "Maria", "Andi")
LAST = ("Wijaya", "Santoso", "Lestari", "Pratama", "Kusuma", "Hidayat", "Siregar", "Nasution", "Saputra")
DOMAINS = ("gmail.com", "yahoo.co.id", "hotmail.com", "outlook.com", "example.com")

TICKET_COLUMNS = (
    "id", "reference", "status", "department", "product", "severity", "escalated", "tags", "sla_class",
    "category", "channel", "origin", "customer_email", "customer_name", "customer_organisation",
    "pic_phone", "pic_email", "language", "subject", "description", "completed_at", "closed_by",
    "rules_version", "received_at", "created_at", "updated_at", "first_response_due", "resolution_due",
    "first_responded_at", "watchers", "resolution_cycle",
)  # fmt: skip
INBOUND_COLUMNS = (
    "id", "source", "source_key", "uidvalidity", "uid", "raw", "raw_sha256", "size", "message_id",
    "logical_key", "from_address", "subject", "state", "reason", "headers_only", "notes", "attempts",
    "ticket_id", "disposition", "received_at", "arrived_at", "processed_at", "attachment_list",
)  # fmt: skip
OUTBOUND_COLUMNS = (
    "id", "kind", "ticket_id", "cause_inbound_id", "recipient", "envelope_from", "message_id", "automatic",
    "subject", "raw", "state", "attempts", "next_attempt_at", "last_code", "created_at", "sent_at",
    "template",
)  # fmt: skip
EVENT_COLUMNS = (
    "id", "ticket_id", "at", "actor", "action", "field_name", "old_value", "new_value", "reason",
    "inbound_id", "outbound_id", "data",
)  # fmt: skip


@dataclass(frozen=True)
class Department:
    id: str
    email: str
    products: tuple[str, ...]


def load_departments(rules: Path = ROOT / "rules.yaml") -> list[Department]:
    """The departments of the shipped rules.yaml, each with the products it owns."""
    document = yaml.safe_load(rules.read_text(encoding="utf-8"))
    owned: dict[str, list[str]] = {}
    for product in document.get("products") or []:
        owner = product.get("department")
        if owner:
            owned.setdefault(owner, []).append(product["id"])
    return [
        Department(
            entry["id"],
            entry.get("email") or f"{entry['id']}@example.co.id",
            tuple(owned.get(entry["id"], ())),
        )
        for entry in document["departments"]
    ]


@dataclass(frozen=True)
class Chunk:
    """Tickets `first`.. (0-based): when each was received, and its number within its year."""

    number: int
    first: int
    received: list[datetime]
    numbers: list[int]


@dataclass
class Rows:
    tickets: list[tuple[Any, ...]]
    inbound: list[tuple[Any, ...]]
    outbound: list[tuple[Any, ...]]
    events: list[tuple[Any, ...]]


class Generator:
    """Makes the rows of a chunk of tickets, deterministically from the seed and the chunk's number.

    Timestamps are naive UTC: SQLite gets SQLAlchemy's text form of them, PostgreSQL
    reads them in a session whose time zone is UTC.
    """

    def __init__(self, end: datetime, seed: int, chunk: int, sqlite: bool) -> None:
        self.random = random.Random(seed * 1_000_003 + chunk)
        self.end = end
        self.departments = load_departments()
        self.department_weights = [1.0 / (rank + 1) for rank in range(len(self.departments))]
        self.sqlite = sqlite

    def when(self, value: datetime | None) -> Any:
        """A timestamp as the driver takes it: SQLAlchemy's SQLite text form, or the datetime."""
        if value is None or not self.sqlite:
            return value
        return value.isoformat(sep=" ", timespec="microseconds")

    def status(self, received: datetime) -> str:
        age = (self.end - received).days
        chance = next(share for limit, share in OPEN_BY_AGE if age < limit)
        if self.random.random() >= chance:
            return "closed"
        pick = self.random.random()
        for status, share in OPEN_SHARES:
            pick -= share
            if pick < 0:
                return status
        return "in-progress"

    def chunk(self, work: Chunk) -> Rows:
        rows = Rows([], [], [], [])
        for offset, received in enumerate(work.received):
            self._ticket(work.first + offset, received, work.numbers[offset], rows)
        return rows

    def _ticket(self, index: int, received: datetime, number: int, rows: Rows) -> None:
        pick = self.random
        ticket_id = index + 1
        reference = f"{PREFIX}-{received.year}-{number:06d}"
        department = pick.choices(self.departments, self.department_weights)[0]
        product = pick.choice(department.products) if department.products and pick.random() < 0.7 else None
        status = self.status(received)
        major = pick.random() < 0.04
        name = f"{pick.choice(FIRST)} {pick.choice(LAST)}"
        email = f"{name.lower().replace(' ', '.')}{pick.randrange(10_000)}@{pick.choice(DOMAINS)}"
        subject = pick.choice(SUBJECTS)
        language = "en" if subject[0] in "NRW" else "id"
        acked = received + timedelta(seconds=pick.uniform(2, 60))
        reply_at = received + timedelta(hours=pick.uniform(2, 72))
        done = status in ("resolved", "closed")
        completed = min(received + timedelta(days=pick.uniform(0.2, 20)), self.end) if done else None
        responded = reply_at if status not in ("new", "acknowledged") else None
        changed = completed or responded or acked
        description = f"{subject}. Mohon segera ditindaklanjuti. Terima kasih.\n\nSalam,\n{name}"
        rows.tickets.append(
            (
                ticket_id, reference, status, department.id, product, "major" if major else "minor", major,
                "legal" if major else "", None, None, "email", "email", email, name, "", "", email, language,
                subject, description, self.when(completed), department.email if status == "closed" else None,
                "bench", self.when(received), self.when(received), self.when(changed),
                self.when(received + timedelta(days=1)), self.when(received + timedelta(days=7)),
                self.when(responded), "", 1,
            )
        )  # fmt: skip
        complaint_id, follow_up_id = 2 * index + 1, 2 * index + 2
        for inbound_id, at, text, reason in (
            (complaint_id, received, description, "new complaint"),
            (
                follow_up_id,
                reply_at,
                f"Re: {subject}\n\nApakah sudah ada kabar?\n{name}",
                "customer follow-up",
            ),
        ):
            message_id = f"<{inbound_id}.{ticket_id}@{email.rsplit('@', 1)[1]}>"
            raw = (
                f"From: {name} <{email}>\r\nTo: {CARE}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
                f"Date: {at:%a, %d %b %Y %H:%M:%S +0000}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                f"\r\n{text}\r\n"
            ).encode()
            digest = hashlib.sha256(raw).hexdigest()
            rows.inbound.append(
                (
                    inbound_id, MAILBOX, f"1:{inbound_id}", 1, inbound_id, raw, digest, len(raw), message_id,
                    digest, email, subject, "processed", reason, False, "", 1, ticket_id, "pending",
                    self.when(at), self.when(at), self.when(at + timedelta(seconds=1)), "[]",
                )
            )  # fmt: skip
        ack_id, notice_id = 2 * index + 1, 2 * index + 2
        for outbound_id, kind, recipient, template in (
            (ack_id, "ack", email, "acknowledgement.txt"),
            (notice_id, "notice", department.email, "department_notice.txt"),
        ):
            message_id = f"<{outbound_id}.{kind}.{ticket_id}@example.co.id>"
            mail_subject = f"[{reference}] {subject}"
            raw = (
                f"From: Customer Care <{CARE}>\r\nTo: {recipient}\r\nSubject: {mail_subject}\r\n"
                f"Message-ID: {message_id}\r\n\r\nNomor / Reference: {reference}\r\n"
            ).encode()
            rows.outbound.append(
                (
                    outbound_id, kind, ticket_id, complaint_id, recipient, CARE, message_id, kind == "ack",
                    mail_subject, raw, "sent", 1, self.when(acked), 250, self.when(acked),
                    self.when(acked + timedelta(seconds=1)), template,
                )
            )  # fmt: skip
        routed = json.dumps(
            {"department": department.id, "product": product, "severity": rows.tickets[-1][5]}
        )
        last_from = "acknowledged" if status not in ("new", "acknowledged") else "new"
        base = 3 * index
        rows.events.extend(
            (
                (base + 1, ticket_id, self.when(received), email, "created", "status", None, "new",
                 "complaint received by email", complaint_id, None, None),
                (base + 2, ticket_id, self.when(received), "caredesk", "routed", "department", None,
                 department.id, "rules bench", None, None, routed),
                (base + 3, ticket_id, self.when(changed), "caredesk", "status", "status", last_from, status,
                 f"moved to {status}", None, ack_id, None),
            )
        )  # fmt: skip


def build(url: str, tickets: int, *, months: int = 12, end: date = DEFAULT_END, seed: int = 1) -> None:
    """Migrate the database at `url` and fill it with `tickets` generated tickets; prints the time taken."""
    from sqlalchemy.engine import make_url

    from daemon.store import db

    started = time.perf_counter()
    parsed = db.check_url(url)
    postgresql = parsed.get_backend_name() == "postgresql"
    if postgresql:
        _create_database(parsed)
    engine = db.open_for_writing(url)
    engine.dispose()
    migrated = time.perf_counter()
    chunks, counters = plan(tickets, months, end, seed)
    rows = _chunks(chunks, end, seed, sqlite=not postgresql)
    if postgresql:
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        _load_postgresql(plain, rows)
    else:
        _load_sqlite(parsed.database or "", rows, counters)
    took = time.perf_counter() - started
    print(
        f"register: {tickets:,} tickets ({3 * tickets:,} events, {2 * tickets:,} inbound, {2 * tickets:,} "
        f"outbound) in {db.public_database_url(url)}: {took:.1f} s (migrations {migrated - started:.1f} s)"
    )


def plan(tickets: int, months: int, end: date, seed: int) -> tuple[list[Chunk], dict[int, int]]:
    """The chunks to generate, and the last ticket number of each year (the reference counters)."""
    pick = random.Random(seed)
    last = datetime(end.year, end.month, end.day, 23, 59, 59)
    start = last - timedelta(days=round(months * 30.44))
    span = (last - start).total_seconds()
    # Sorted, so that ids (and references) grow with received_at, as they do in a real register.
    received = [
        start + timedelta(seconds=offset) for offset in sorted(pick.random() * span for _ in range(tickets))
    ]
    numbers: list[int] = []
    counters: dict[int, int] = {}
    for moment in received:
        counters[moment.year] = counters.get(moment.year, 0) + 1
        numbers.append(counters[moment.year])
    chunks = [
        Chunk(number, first, received[first : first + CHUNK], numbers[first : first + CHUNK])
        for number, first in enumerate(range(0, tickets, CHUNK))
    ]
    return chunks, counters


def _generate(arguments: tuple[Chunk, datetime, int, bool]) -> Rows:
    work, end, seed, sqlite = arguments
    return Generator(end, seed, work.number, sqlite).chunk(work)


def _chunks(chunks: list[Chunk], end: date, seed: int, sqlite: bool) -> Iterator[Rows]:
    """The rows of each chunk, in order, generated in a second process while this one loads."""
    last = datetime(end.year, end.month, end.day, 23, 59, 59)
    work = [(chunk, last, seed, sqlite) for chunk in chunks]
    workers = max(1, min(2, os.cpu_count() or 1))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        # A few chunks ahead, no more: a chunk is some 100 MB of rows, and the load is the slower side.
        pending: deque[Any] = deque()
        for item in work:
            pending.append(pool.apply_async(_generate, (item,)))
            if len(pending) > workers + 1:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


TABLES = (
    ("ticket", TICKET_COLUMNS, "tickets"),
    ("inbound_message", INBOUND_COLUMNS, "inbound"),
    ("outbound_message", OUTBOUND_COLUMNS, "outbound"),
    ("ticket_event", EVENT_COLUMNS, "events"),
)


# Columns newer than the rows above, filled after the load when the schema has them:
# the SLA ladder's next look at a ticket, which migration 0008 sets to the receipt for open tickets.
LATER_COLUMNS = {
    "next_sla_step_at": (
        "UPDATE ticket SET next_sla_step_at = received_at WHERE status NOT IN ('resolved', 'closed')"
    ),
}


def _rebuild_search(connection: sqlite3.Connection) -> None:
    """The search index of every ticket at once; then none may wait in 0011's queue to be added twice."""
    connection.execute("INSERT INTO ticket_search (ticket_search) VALUES ('rebuild')")
    queued = connection.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'ticket_search_queue'"
    ).fetchone()[0]
    if queued:
        connection.execute("DELETE FROM ticket_search_queue")


def _load_sqlite(path: str, chunks: Iterator[Rows], counters: dict[int, int]) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        if connection.execute("SELECT count(*) FROM ticket").fetchone()[0]:
            raise SystemExit(f"{path}: the register is not empty; build into a new file")
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-500000")
        connection.execute("PRAGMA foreign_keys=OFF")
        names = tuple(table for table, _, _ in TABLES)
        indexes = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({','.join('?' * len(names))})",
            names,
        ).fetchall()
        # The search index's triggers (migration 0009) index each ticket as it is inserted; the
        # index is built once after the load instead, then the triggers are made again.
        triggers = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ticket'"
        ).fetchall()
        searched = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'ticket_search'"
        ).fetchone()[0]
        connection.execute("BEGIN")
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        for name, _ in triggers:
            connection.execute(f'DROP TRIGGER "{name}"')
        for rows in chunks:
            for table, columns, field in TABLES:
                marks = ",".join("?" * len(columns))
                connection.executemany(
                    f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", getattr(rows, field)
                )
        present = {row[1] for row in connection.execute("PRAGMA table_info(ticket)")}
        for column, statement in LATER_COLUMNS.items():
            if column in present:
                connection.execute(statement)
        for _, sql in indexes:
            connection.execute(sql)
        if searched:
            _rebuild_search(connection)
        for _, sql in triggers:
            connection.execute(sql)
        for year, last in counters.items():
            connection.execute(
                "INSERT INTO reference_counter (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                (f"{PREFIX}-{year}", last),
            )
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def _create_database(parsed: Any) -> None:
    import psycopg
    from psycopg import sql

    name = parsed.database
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _load_postgresql(url: str, chunks: Iterator[Rows]) -> None:
    import psycopg

    with psycopg.connect(url) as connection:
        if connection.execute("SELECT count(*) FROM ticket").fetchone() != (0,):
            raise SystemExit("the register is not empty; build into a new database")
        connection.execute("SET TIME ZONE 'UTC'")
        # Sorting for the indexes made after the load in memory, not in temporary files.
        connection.execute("SET maintenance_work_mem = '512MB'")
        names = [table for table, _, _ in TABLES]
        # Plain indexes only: those behind a primary key or a unique constraint stay.
        indexes = connection.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
            "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname AND c.connamespace = to_regnamespace(i.schemaname))",
            (names,),
        ).fetchall()
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        with connection.cursor() as cursor:
            for rows in chunks:
                for table, columns, field in TABLES:
                    _copy(cursor, table, columns, getattr(rows, field))
        present = {
            row[0]
            for row in connection.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'ticket'"
            )
        }
        for column, statement in LATER_COLUMNS.items():
            if column in present:
                connection.execute(statement)
        for _, definition in indexes:
            connection.execute(definition)
        for table, _, _ in TABLES:
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def _copy(cursor: Any, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    with cursor.copy(f"COPY {table} ({','.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", required=True, help="database URL (sqlite:///PATH or postgresql+psycopg://...)"
    )
    parser.add_argument("--tickets", type=int, required=True, help="how many tickets")
    parser.add_argument("--months", type=int, default=12, help="received over this many months (default 12)")
    parser.add_argument(
        "--end", type=date.fromisoformat, default=DEFAULT_END, help=f"the last day (default {DEFAULT_END})"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    build(args.db, args.tickets, months=args.months, end=args.end, seed=args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
