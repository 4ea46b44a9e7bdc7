"""Adding the queued tickets to the register's search index on SQLite (migration 0011).

Each ticket inserted on SQLite waits in `ticket_search_queue` until `catch_up` adds
every queued ticket to the FTS5 table `ticket_search` in one statement: FTS5 writes
an index segment per statement, so one ticket at a time cost 0.8 to 2 ms and more a
ticket, a batch 0.13 ms. The daemon catches up after each group of mails it processed and
with its periodic jobs, which also index what other writers (`caredesk recap
import`, a restore) added. The register's search reads the queue too, so a waiting
ticket is found all the same (`daemon.web.register`).
"""

from __future__ import annotations

import logging
from collections import Counter

from sqlalchemy import Connection, Engine
from sqlmodel import Session

from daemon.store import db

log = logging.getLogger("caredesk.store")

QUEUE = "ticket_search_queue"
SEARCHED_COLUMNS = (
    "reference",
    "subject",
    "description",
    "customer_email",
    "customer_name",
    "customer_organisation",
    "pic_phone",
    "pic_email",
)
"""The ticket columns the register's search looks in, in the index's order (migration 0009).

The revisions keep their own copies: a revision builds the schema of its day."""
_NAMES = ", ".join(SEARCHED_COLUMNS)
_INDEX_QUEUED = (
    f"INSERT INTO ticket_search (rowid, {_NAMES}) "
    f"SELECT id, {_NAMES} FROM ticket WHERE id IN (SELECT id FROM {QUEUE})"
)


def has_queue(connection: Connection) -> bool:
    """Whether this database queues its tickets for the index (SQLite with FTS5, at 0011)."""
    if connection.dialect.name != "sqlite":
        return False
    found = connection.exec_driver_sql(
        f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{QUEUE}'"
    ).first()
    return found is not None


def catch_up(session: Session) -> int:
    """Index every queued ticket, in the session's transaction; how many. 0 where nothing is queued.

    Done in a SAVEPOINT: should the index fail, the tickets stay queued (and found by the
    plain search), the caller's work is kept, and the next catch-up tries again.
    """
    if not has_queue(session.connection()):
        return 0
    return _index_queued(session)


def _index_queued(session: Session) -> int:
    """`catch_up` on a database known to have the queue."""
    connection = session.connection()
    waiting = connection.exec_driver_sql(f"SELECT count(*) FROM {QUEUE}").scalar_one()
    if not waiting:
        return 0
    try:
        with session.begin_nested():
            connection.exec_driver_sql(_INDEX_QUEUED)
            connection.exec_driver_sql(f"DELETE FROM {QUEUE}")
    except Exception as error:
        log.error("the register's search index could not take %d new tickets: %s", waiting, error)
        return 0
    return int(waiting)


def catch_up_now(engine: Engine) -> Counter[str]:
    """A periodic job: index what was queued by any writer since the last batch, and commit.

    Looked at in a read transaction first: an empty queue takes no write lock."""
    with db.read_session(engine) as session:
        connection = session.connection()
        if not has_queue(connection) or not connection.exec_driver_sql(f"SELECT 1 FROM {QUEUE}").first():
            return Counter()
    with db.session(engine) as session:
        indexed = _index_queued(session)
        session.commit()
    return Counter({"search_indexed": indexed} if indexed else {})
