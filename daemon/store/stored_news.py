"""News of stored mail between daemons on one PostgreSQL: LISTEN/NOTIFY.

Only the daemon that holds a mailbox's poller lock fetches; the others process
what it stores. Without news they would look once a poll interval (60 s by
default) and leave a backlog to the poller alone. So the poller announces each
batch it stores, in the transaction that stores it (`announce`, a `pg_notify`
delivered at commit), and a daemon that polls no mailbox waits on `StoredNews`
instead of the mailbox: it wakes as the batch is committed and claims its share.

The payload is the schema and the announcing process (`host:pid:token`): a
listener wakes only for its own schema (the channel is the database's), and never
for its own announcements. Nothing depends on the news arriving: a listener that
lost its connection sleeps out its wait, and the daemon's scheduled poll finds
whatever was stored, as before. On SQLite there is one daemon per database and
nothing is announced.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from daemon.store.leases import discard_connection

log = logging.getLogger("caredesk.stored_news")

CHANNEL = "caredesk_stored"
STEP_SECONDS = 1.0
"""How often a wait looks at the stop event at most (each look is a sign of life for
systemd's watchdog, `daemon.app.sdnotify.LiveStop`)."""

_ANNOUNCE = text("SELECT pg_notify(:channel, current_schema() || ' ' || :owner)")


def announce(session: Session, owner: str) -> None:
    """Tell the other daemons, when this transaction commits, that it stored mail."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_ANNOUNCE, {"channel": CHANNEL, "owner": owner})


class StoredNews:
    """A wait that ends when another daemon of this schema stored mail (see the module text).

    `wait` is called by the daemon's loop only; `close` ends the listening
    connection, which the next `wait` opens again.
    """

    def __init__(
        self, engine: Engine, owner: str, stop: threading.Event, *, step: float | None = None
    ) -> None:
        self.engine = engine
        self.owner = owner
        self.stop = stop
        self.step = min(STEP_SECONDS, step) if step else STEP_SECONDS
        """How often `wait` looks at `stop`: systemd's watchdog interval, at most 1 s."""
        self._connection: Connection | None = None
        self._schema = ""
        self._failed = False

    def wait(self, timeout: float) -> bool:
        """Wait at most `timeout` s; True when another daemon stored mail (or when listening just
        began, since what was stored before it is unknown)."""
        deadline = time.monotonic() + max(0.0, timeout)
        if self._connection is None:
            if self._listen():
                return True
            self.stop.wait(max(0.0, timeout))
            return False
        while not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                if self._news(min(self.step, remaining)):
                    return True
            except (DBAPIError, OSError, self._driver_error()) as error:
                log.warning("lost the news of stored mail: %s; looking again at the next poll", error)
                self._drop()
                self.stop.wait(max(0.0, deadline - time.monotonic()))
                return False
        return False

    def close(self) -> None:
        self._drop()

    def _listen(self) -> bool:
        """Open the listening connection; False (said once until it works again) when it fails."""
        try:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as error:
            self._say_failed(error)
            return False
        try:
            self._schema = str(connection.execute(text("SELECT current_schema()")).scalar_one())
            connection.exec_driver_sql(f"LISTEN {CHANNEL}")
        except SQLAlchemyError as error:
            discard_connection(connection)
            self._say_failed(error)
            return False
        self._connection, self._failed = connection, False
        return True

    def _news(self, seconds: float) -> bool:
        """Whether news from another daemon of this schema came within `seconds`; the rest of
        what is waiting is read too, so a burst wakes the daemon once."""
        assert self._connection is not None
        driver: Any = self._connection.connection.dbapi_connection
        # Read to its end (a list, not `any`): the generator holds the connection's lock
        # until it finishes, and the reading below would wait on it for ever.
        arrived = list(driver.notifies(timeout=seconds, stop_after=1))
        found = any(self._from_another(note.payload) for note in arrived)
        if found:
            # One wake for all that is waiting. News still on its way wakes the daemon
            # once more, which costs a look; waiting for it would delay every wake.
            for _read_and_dropped in driver.notifies(timeout=0):
                pass
        return found

    def _from_another(self, payload: str) -> bool:
        schema, _, owner = payload.partition(" ")
        return schema == self._schema and owner != self.owner

    def _say_failed(self, error: Exception) -> None:
        if not self._failed:
            log.warning("cannot listen for stored mail: %s; looking at each poll instead", error)
            self._failed = True

    @staticmethod
    def _driver_error() -> type[Exception]:
        import psycopg

        return psycopg.Error

    def _drop(self) -> None:
        if self._connection is not None:
            discard_connection(self._connection)
            self._connection = None
