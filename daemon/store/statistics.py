"""Planner statistics kept up while the register grows (PostgreSQL).

PostgreSQL keeps the plan of a prepared statement (the driver prepares one after
five runs; the checks of a foreign key are prepared for the life of a
connection) until the statistics of its tables change. A register that starts
empty is planned as empty: with a handful of tickets, reading the whole of
`ticket` is the cheapest way to check a foreign key, and the check goes on doing
so as the table grows. At 10,000 mails every mail read the ticket table about
eight times over (`docs/performance.md`). Autovacuum's ANALYZE ends it, since
new statistics make the server plan again; but autovacuum may be off, or busy
elsewhere, and the daily ANALYZE (`daemon.app.upkeep`) is far off.

So the processor tells `GrowthWatch` how many mails it processed, and the mail
tables and the ticket tables are analyzed each time that count reaches the rows
the mail table had at the last look (at least `FLOOR`): a few times while a
register grows from nothing, hardly ever on a large one. Nothing to do on SQLite,
which plans each statement when it is prepared and prepares again after ANALYZE.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, text

log = logging.getLogger("caredesk.store")

FLOOR = 500
"""Mails processed before the first ANALYZE of a register that was empty at its last one."""

TABLES = ("inbound_message", "ticket", "ticket_event", "outbound_message")
"""The tables each processed mail writes, and the foreign keys between them point into."""

_ROWS = text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('inbound_message')")


class GrowthWatch:
    """Analyzes the hot tables of `engine` once the mail processed since the last time doubled them."""

    def __init__(self, engine: Engine, floor: int = FLOOR) -> None:
        self.engine = engine
        self.floor = floor
        self.enabled: bool | None = None
        """Whether it works here: PostgreSQL, and no ANALYZE failed yet (known at the first count)."""
        self._since = 0
        self._due: int | None = None
        """Mails to process before the next ANALYZE; read from the statistics at the first count."""

    def processed(self, count: int) -> bool:
        """Count `count` more processed mails; True when that made it analyze the tables."""
        if self.enabled is None:
            self.enabled = self.engine.dialect.name == "postgresql"
        if not self.enabled or count <= 0:
            return False
        try:
            if self._due is None:
                self._due = max(self.floor, self._rows(analyze=False))
            self._since += count
            if self._since < self._due:
                return False
            self._since, self._due = 0, max(self.floor, self._rows(analyze=True))
        except Exception as error:
            # The daily ANALYZE and autovacuum are still there: never again from here.
            log.warning("planner statistics not refreshed: %s: %s", type(error).__name__, error)
            self.enabled = False
            return False
        log.info("planner statistics refreshed; next after %d more mails", self._due)
        return True

    def _rows(self, *, analyze: bool) -> int:
        """The mail table's rows at its last ANALYZE (0 when it was empty, or never analyzed),
        after analyzing the hot tables first when `analyze`."""
        with self.engine.connect() as connection:
            if analyze:
                connection.exec_driver_sql(f"ANALYZE {', '.join(TABLES)}")
            rows = connection.execute(_ROWS).scalar()
            connection.commit()
        return max(0, int(rows or 0))
