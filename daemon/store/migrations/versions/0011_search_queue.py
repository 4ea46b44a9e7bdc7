"""SQLite: new tickets wait in a queue and are added to the search index a batch at a time.

Revision 0009's trigger added each ticket to the FTS5 table `ticket_search` as it was
inserted, and FTS5 writes its pending terms out as a new index segment at the end of
every statement: 0.8 ms a ticket on a small register and 2 ms and more at 10,000
tickets, most of what inserting a ticket cost, where indexing the same tickets in one
statement costs 0.13 ms each. Now the insert trigger only puts the ticket's id in
`ticket_search_queue`, and `daemon.store.search_queue.catch_up` indexes every queued
ticket in one statement (the daemon at the end of each batch and each minute). The
register's search finds a queued ticket by a plain substring search, so no ticket is
missed while it waits.

An FTS5 'delete' must be given the values the index holds, and a queued ticket is
not in the index yet: the update and delete triggers tell the index only about
tickets that are not queued, and the delete trigger takes a deleted ticket out of the
queue. A queued ticket is indexed with the values it has when the queue is caught up.

Nothing changes on PostgreSQL (its pg_trgm index is kept by the database), nor on a
SQLite without the search index (0009 made none when FTS5 had no trigram tokenizer).

Revision ID: 0011_search_queue
Revises: 0010_inbound_attachment_list
Create Date: 2026-12-03 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_search_queue"
down_revision: str | Sequence[str] | None = "0010_inbound_attachment_list"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns of revision 0009's index, in its order.
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
_NAMES = ", ".join(_COLUMNS)
_OLD = ", ".join(f"old.{column}" for column in _COLUMNS)
_NEW = ", ".join(f"new.{column}" for column in _COLUMNS)
_FORGET = f"INSERT INTO ticket_search (ticket_search, rowid, {_NAMES}) VALUES ('delete', old.id, {_OLD});"
_REMEMBER = f"INSERT INTO ticket_search (rowid, {_NAMES}) VALUES (new.id, {_NEW});"
_QUEUED = "EXISTS (SELECT 1 FROM ticket_search_queue WHERE id = old.id)"
_TRIGGERS = ("ticket_search_insert", "ticket_search_delete", "ticket_search_update")

QUEUE_TRIGGERS = (
    "CREATE TRIGGER ticket_search_insert AFTER INSERT ON ticket "
    "BEGIN INSERT OR IGNORE INTO ticket_search_queue (id) VALUES (new.id); END",
    # One trigger, in this order: the index hears of the deletion only while the ticket is not
    # queued, then the ticket leaves the queue.
    f"CREATE TRIGGER ticket_search_delete AFTER DELETE ON ticket BEGIN "
    f"INSERT INTO ticket_search (ticket_search, rowid, {_NAMES}) "
    f"SELECT 'delete', old.id, {_OLD} WHERE NOT {_QUEUED}; "
    "DELETE FROM ticket_search_queue WHERE id = old.id; END",
    f"CREATE TRIGGER ticket_search_update AFTER UPDATE OF {_NAMES} ON ticket WHEN NOT {_QUEUED} "
    f"BEGIN {_FORGET} {_REMEMBER} END",
)
INDEX_QUEUED = (
    f"INSERT INTO ticket_search (rowid, {_NAMES}) "
    f"SELECT id, {_NAMES} FROM ticket WHERE id IN (SELECT id FROM ticket_search_queue)"
)
# Revision 0009's triggers, for the downgrade.
_EACH_TRIGGERS = (
    f"CREATE TRIGGER ticket_search_insert AFTER INSERT ON ticket BEGIN {_REMEMBER} END",
    f"CREATE TRIGGER ticket_search_delete AFTER DELETE ON ticket BEGIN {_FORGET} END",
    f"CREATE TRIGGER ticket_search_update AFTER UPDATE OF {_NAMES} ON ticket BEGIN {_FORGET} {_REMEMBER} END",
)


def _indexed(bind: sa.Connection) -> bool:
    found = bind.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ticket_search'"
    ).first()
    return found is not None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or not _indexed(bind):
        return
    bind.exec_driver_sql("CREATE TABLE ticket_search_queue (id INTEGER PRIMARY KEY)")
    for trigger in _TRIGGERS:
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in QUEUE_TRIGGERS:
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or not _indexed(bind):
        return
    bind.exec_driver_sql(INDEX_QUEUED)
    for trigger in _TRIGGERS:
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in _EACH_TRIGGERS:
        bind.exec_driver_sql(statement)
    bind.exec_driver_sql("DROP TABLE ticket_search_queue")
