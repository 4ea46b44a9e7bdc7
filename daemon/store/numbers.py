"""Ticket numbers: the NNNNNN of `CC-2026-000123`, per prefix and year, unique across daemons.

On PostgreSQL each prefix-year has a sequence of its own, made on first use
(`CREATE SEQUENCE IF NOT EXISTS`, on a connection of its own so that no batch
transaction holds catalogue locks) and started after the highest number already
handed out: the `reference_counter` row of before and the tickets themselves.
`nextval` takes no row lock, so daemons making tickets at the same time never
wait for each other's batch to commit. A number taken by a transaction that
rolls back is not reused: references may have gaps, never doubles.

SQLite keeps the `reference_counter` row, moved in the caller's transaction: one
daemon per SQLite database, and its write lock orders everything anyway.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, func, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from daemon.store.models import ReferenceCounter, Ticket

_SEQUENCE_PREFIX = "ticket_number_"
_COUNTER: Table = getattr(ReferenceCounter, "__table__")  # noqa: B009 - its type does not declare it


def reserve(session: Session, key: str, count: int) -> list[int]:
    """`count` new numbers for `key` (`PREFIX-YEAR`), ascending; each is never handed out again."""
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return _from_sequence(session, key, count)
    # One statement, built once, on the session's connection (a counter needs nothing flushed).
    last = int(session.connection().execute(_ADVANCE, {"key": key, "count": count}).scalar_one())
    return list(range(last - count + 1, last + 1))


def _advance_statement() -> Any:
    """`INSERT … ON CONFLICT (key) DO UPDATE SET value = value + :count RETURNING value` (SQLite)."""
    statement = sqlite.insert(_COUNTER).values(key=bindparam("key"), value=bindparam("count"))
    return statement.on_conflict_do_update(
        index_elements=[_COUNTER.c.key], set_={"value": _COUNTER.c.value + statement.excluded.value}
    ).returning(_COUNTER.c.value)


_ADVANCE = _advance_statement()


def sequence_name(key: str) -> str:
    """The PostgreSQL sequence of `key`: its letters and digits, and a hash that keeps keys apart."""
    readable = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")[:32]
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{_SEQUENCE_PREFIX}{readable}_{digest}"


_NEXT = text("SELECT nextval(CAST(:name AS regclass)) FROM generate_series(1, :count)")
_NEXT_IF_MADE = text("SELECT nextval(to_regclass(:name)) FROM generate_series(1, :count)")
"""The numbers, or only NULLs while the sequence is not made: `nextval` of NULL is NULL (it is
strict), so one round trip both looks the sequence up and takes the numbers."""


def _from_sequence(session: Session, key: str, count: int) -> list[int]:
    name = sequence_name(key)
    values = {"name": name, "count": count}
    # On the session's connection: a sequence needs nothing pending flushed first.
    connection = session.connection()
    taken = [number for number in connection.execute(_NEXT_IF_MADE, values).scalars() if number is not None]
    if taken:
        return sorted(int(number) for number in taken)
    # Made on a connection of its own; a transaction that looked the name up before may
    # not see it until it ends, so the numbers come from that connection too (a
    # sequence is outside every transaction anyway).
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        _create_sequence(connection, key, name)
        return sorted(int(number) for number in connection.execute(_NEXT, values).scalars())


def _create_sequence(connection: Connection, key: str, name: str) -> None:
    """Make `key`'s sequence, starting after every number handed out so far; committed at once."""
    with Session(connection) as reader:
        start = _highest_number(reader, key) + 1
    try:
        # The name is made of [a-z0-9_] only (`sequence_name`) and the start is an int.
        connection.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {name} START WITH {int(start)}"))
    except DBAPIError:
        # Another daemon made it at the same moment: theirs is as good.
        if connection.execute(text("SELECT to_regclass(:name)"), {"name": name}).scalar() is None:
            raise


def _highest_number(session: Session, key: str) -> int:
    """The highest number of `key` handed out: by the old counter row or on a ticket."""
    counter = session.get(ReferenceCounter, key)
    counted = counter.value if counter is not None else 0
    pattern = f"{key}-%"
    # The longest reference, then the highest: past 999999 the numbers grow a digit.
    references = session.execute(
        select(col(Ticket.reference))
        .where(col(Ticket.reference).like(pattern))
        .order_by(func.length(col(Ticket.reference)).desc(), col(Ticket.reference).desc())
        .limit(1)
    ).scalar()
    on_tickets = 0
    if references:
        tail = str(references).rsplit("-", 1)[-1]
        on_tickets = int(tail) if tail.isdigit() else 0
    return max(counted, on_tickets)
