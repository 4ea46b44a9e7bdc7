"""The database's own upkeep, from the service loop: the SQLite WAL checkpoint and the planner statistics.

* Hourly, `checkpoint`: the WAL is copied into the database and truncated
  (`wal_checkpoint(TRUNCATE)`), so a daemon that runs for months does not
  leave a WAL file as large as its busiest hour ever was (`journal_size_limit`
  caps what SQLite keeps after its own checkpoints). A reader in the way makes
  it wait for the next hour. Nothing to do on PostgreSQL.
* Daily, `db.analyze`: `PRAGMA optimize` (SQLite) or `ANALYZE` (PostgreSQL),
  so the planner keeps choosing the indexes the periodic jobs rely on as the
  register grows. Migrations do it too (`db.upgrade`).

A failure is logged and left for the next time; it never stops the loop.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from daemon.store import db

log = logging.getLogger("caredesk.upkeep")

CHECKPOINT_EVERY_MINUTES = 60
OPTIMIZE_EVERY_HOURS = 24


class Upkeep:
    """The upkeep jobs of one engine; `schedule` calls them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def checkpoint(self) -> bool:
        """Checkpoint and truncate the SQLite WAL; True when it was done (always False on PostgreSQL)."""
        try:
            done = checkpoint(self.engine)
        except Exception as error:
            log.warning("WAL checkpoint failed: %s: %s", type(error).__name__, error)
            return False
        if done is not None:
            log.debug("WAL checkpoint: %d pages written back, WAL truncated", done[1])
        return done is not None

    def optimize(self) -> bool:
        """Refresh the planner's statistics; True when it ran."""
        try:
            db.analyze(self.engine)
        except Exception as error:
            log.warning("database optimize failed: %s: %s", type(error).__name__, error)
            return False
        return True


def checkpoint(engine: Engine) -> tuple[int, int] | None:
    """Copy the WAL into the SQLite database and truncate it (`wal_checkpoint(TRUNCATE)`).

    Returns (WAL pages, pages checkpointed), or None on PostgreSQL or when a
    reader kept the checkpoint from finishing (it is tried again later).
    """
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as connection:
        # Outside any transaction (SQLite checkpoints nothing inside one): the driver's own cursor.
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            busy, pages, done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            cursor.close()
    return None if busy else (int(pages), int(done))
