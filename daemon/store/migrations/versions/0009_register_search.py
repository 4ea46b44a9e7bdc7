"""The web register's search: an index for the substring search over eight text columns.

The register's search box (`daemon.web.register`) finds tickets whose reference,
subject, description, customer e-mail, name or organisation, PIC phone or PIC
e-mail contain the words typed, in any case. A LIKE '%words%' on each column
reads every ticket; these indexes find the candidates instead:

- SQLite: `ticket_search`, an FTS5 table with the trigram tokenizer over those
  columns, its content the `ticket` table itself (external content, so the text
  is not stored twice), kept in step by three triggers on `ticket`. A phrase of
  three characters or more is matched as a substring, ignoring case.
- PostgreSQL: `ix_ticket_search`, a pg_trgm GIN index on the lower-cased columns
  joined by line breaks. It needs the `pg_trgm` extension; when it cannot be created
  (not installed, or not allowed), the revision logs so and makes no index: the
  search still works, reading every ticket.

With them come the indexes the register's other parts read: one on each column
its filter menus offer the values of (`product`, `severity`, `channel`, `origin`;
the menus hop along them from value to value), one on `resolution_due` (the
register sorted by due date reads it in order), and a partial index of the open
tickets by receipt, so that the default page (open tickets, newest first) reads
50 index entries instead of sorting every open ticket.

The search index and triggers are not in `daemon.store.models`: `daemon.store.migrations.outside_the_models`
names them, so the schema comparison leaves them out. A later revision that
copies `ticket` in SQLite batch mode (which drops its triggers) must make the
three triggers again.

Revision ID: 0009_register_search
Revises: 0008_scale_indexes
Create Date: 2026-12-03 08:00:00.000000
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_register_search"
down_revision: str | Sequence[str] | None = "0008_scale_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("caredesk.store")

# The columns the register searches, as `daemon.web.register.SEARCHED` names them.
_COLUMNS = (
    "reference",
    "subject",
    "description",
    "customer_email",
    "customer_name",
    "customer_organisation",
    "pic_phone",
    "pic_email",
)
# What the PostgreSQL index holds: `daemon.web.register.JOINED` must be the same expression.
# Joined by line breaks, which the search box never sends: no match spans two columns.
_JOINED = "lower(" + " || E'\\n' || ".join(_COLUMNS) + ")"


def _sqlite_statements() -> list[str]:
    names = ", ".join(_COLUMNS)
    new = ", ".join(f"new.{column}" for column in _COLUMNS)
    old = ", ".join(f"old.{column}" for column in _COLUMNS)
    forget = f"INSERT INTO ticket_search (ticket_search, rowid, {names}) VALUES ('delete', old.id, {old});"
    remember = f"INSERT INTO ticket_search (rowid, {names}) VALUES (new.id, {new});"
    return [
        f"CREATE VIRTUAL TABLE ticket_search USING fts5({names}, content='ticket', content_rowid='id', "
        "tokenize='trigram')",
        f"CREATE TRIGGER ticket_search_insert AFTER INSERT ON ticket BEGIN {remember} END",
        f"CREATE TRIGGER ticket_search_delete AFTER DELETE ON ticket BEGIN {forget} END",
        f"CREATE TRIGGER ticket_search_update AFTER UPDATE OF {names} ON ticket "
        f"BEGIN {forget} {remember} END",
        "INSERT INTO ticket_search (ticket_search) VALUES ('rebuild')",
    ]


# (table, column) -> index name, as the models name them (`index=True`).
_INDEXES = (
    ("ticket", "product"),
    ("ticket", "severity"),
    ("ticket", "channel"),
    ("ticket", "origin"),
    ("ticket", "resolution_due"),
)
# The open tickets: `daemon.store.models.OPEN_TICKETS` as it was when this revision was written.
_OPEN = "status NOT IN ('resolved', 'closed')"
_OPEN_RECEIVED = ("ix_ticket_open_received", ["received_at", "id"])


def upgrade() -> None:
    for table, column in _INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)
    name, columns = _OPEN_RECEIVED
    op.create_index(
        name, "ticket", columns, unique=False, sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN)
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _upgrade_sqlite(bind)
    elif bind.dialect.name == "postgresql":
        _upgrade_postgresql(bind)


def _upgrade_sqlite(bind: sa.Connection) -> None:
    try:
        with bind.begin_nested():
            for statement in _sqlite_statements():
                bind.exec_driver_sql(statement)
    except sa.exc.OperationalError as error:
        log.warning(
            "the register's search index was not made (this SQLite has no FTS5 trigram tokenizer: %s); "
            "the search reads every ticket",
            error.orig,
        )


def _trgm_schema(bind: sa.Connection) -> str | None:
    found = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    ).scalar()
    return None if found is None else str(found)


def _upgrade_postgresql(bind: sa.Connection) -> None:
    # The extension is the database's, not the schema's: made in `public` (not in the first
    # schema of the search path, which may be dropped with everything in it), or used where it is.
    schema = _trgm_schema(bind)
    problem = "not installed"
    if schema is None:
        try:
            with bind.begin_nested():
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        except sa.exc.DBAPIError as error:
            problem = str(error.orig).strip().splitlines()[0]
        schema = _trgm_schema(bind)  # made here, or by someone else meanwhile
    if schema is None:
        log.warning(
            "the register's search index was not made: the pg_trgm extension could not be created (%s). "
            "The search reads every ticket; to index it, have a superuser run CREATE EXTENSION pg_trgm "
            "SCHEMA public in this database, then: CREATE INDEX ix_ticket_search ON ticket USING gin "
            "(%s public.gin_trgm_ops)",
            problem,
            _JOINED,
        )
        return
    opclass = f'"{schema}".gin_trgm_ops'
    bind.exec_driver_sql(f"CREATE INDEX ix_ticket_search ON ticket USING gin ({_JOINED} {opclass})")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("ticket_search_update", "ticket_search_delete", "ticket_search_insert"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS ticket_search")
    elif bind.dialect.name == "postgresql":
        # The extension stays: other databases' objects, or an administrator's, may use it.
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_ticket_search")
    op.drop_index(_OPEN_RECEIVED[0], table_name="ticket")
    for table, column in reversed(_INDEXES):
        op.drop_index(f"ix_{table}_{column}", table_name=table)
