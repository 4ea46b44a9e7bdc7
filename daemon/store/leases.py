"""Who holds what when several daemons share one database: owners, leases and the poller lock.

An owner names one running daemon process: `host:pid:token`, the token random per
process start, so a process that came back with the same pid (pid 1 in a container)
is still told apart from the one that died. `owner_has_ended` answers, for owners on
this host only, whether that process is gone; leases of other hosts are waited out.

`PollerLock` lets one daemon at a time poll a mailbox. On PostgreSQL it is a session
advisory lock, keyed on the schema and the mailbox, held on a connection of its own
for as long as the daemon polls: when the holder dies the server drops its session
and the lock with it (at once for a killed process; within about 25 s, through TCP
keepalives, for a host that vanished), and the next daemon to poll takes it. The
other daemons still process stored mail and send. On SQLite there is one daemon
per database and the lock is always held.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import secrets
import socket

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("caredesk.leases")

# Server-side keepalives on the poller's connection: a holder whose host vanished
# without closing its socket loses the lock after idle + interval × count seconds.
KEEPALIVE_SETTINGS = {"tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}


@functools.cache
def process_owner() -> str:
    """This process as a lease owner: `host:pid:token` (the token is new at every start)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_token()}"


@functools.cache
def _token() -> str:
    return secrets.token_hex(4)


def owner_has_ended(owner: str) -> bool:
    """True when a lease owner is a process of this host that no longer runs.

    Only a sure answer counts: another host, this very process, a process we may not
    signal, or a process id already reused by someone else all read as "still
    running", and the lease is then waited out. An owner with this process's pid
    but another token is an earlier process that had the same pid: it has ended.
    Owners written as `host:pid` (before the token) are understood too.
    """
    host, pid, token = _parse_owner(owner)
    if host != socket.gethostname() or pid is None:
        return False
    if pid == os.getpid():
        return token is not None and token != _token()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _parse_owner(owner: str) -> tuple[str, int | None, str | None]:
    parts = owner.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], int(parts[1]), parts[2]
    host, _, pid = owner.rpartition(":")
    return host, int(pid) if pid.isdigit() else None, None


def lock_key(*parts: str) -> int:
    """A signed 64-bit PostgreSQL advisory lock key for these strings."""
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PollerLock:
    """Whether this daemon is the one that polls `identity` now (see the module docstring)."""

    def __init__(self, engine: Engine, identity: str) -> None:
        self.engine = engine
        self.identity = identity
        self._connection: Connection | None = None
        self._said_elsewhere = False

    def held(self) -> bool:
        """True when this daemon holds the lock (taking it when it is free); False when another does.

        Checked before every poll: a holder whose lock connection broke has lost the
        lock and tries to take it again like everyone else. A database that cannot be
        reached raises, as any other database error of a poll.
        """
        if self.engine.dialect.name != "postgresql":
            return True
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                return True
            except DBAPIError as error:
                log.warning("lost the lock on polling %s: %s", self.identity, error.orig or error)
                self._drop()
        return self._take()

    def _take(self) -> bool:
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            for name, value in KEEPALIVE_SETTINGS.items():
                connection.execute(text(f"SET {name} = {int(value)}"))
            schema = str(connection.execute(text("SELECT current_schema()")).scalar_one())
            key = lock_key("poller", schema, self.identity)
            taken = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
            got = bool(taken.scalar_one())
        except BaseException:
            discard_connection(connection)
            raise
        if not got:
            connection.close()  # holds no lock: back into the pool
            if not self._said_elsewhere:
                log.info("another daemon polls %s; this one processes stored mail and sends", self.identity)
                self._said_elsewhere = True
            return False
        self._connection, self._said_elsewhere = connection, False
        log.info("this daemon now polls %s", self.identity)
        return True

    @property
    def holding(self) -> bool:
        """Whether this daemon held the lock at its last check (always on SQLite); asks nothing."""
        return self.engine.dialect.name != "postgresql" or self._connection is not None

    def release(self) -> None:
        """Give the lock up (closing its connection), so another daemon polls at once."""
        self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            discard_connection(self._connection)
            self._connection = None


def discard_connection(connection: Connection) -> None:
    """Close the connection for good, never back into the pool: a session lock (or LISTEN) dies with it."""
    with contextlib.suppress(Exception):
        connection.invalidate()
    with contextlib.suppress(Exception):
        connection.close()
