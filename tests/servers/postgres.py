"""A throw-away PostgreSQL cluster on loopback, for the tests that stop or restart the server.

The ``database_url`` fixture gives each test a schema in the machine's shared
PostgreSQL (127.0.0.1:5432), which is fine for everything but a test that
restarts the server: that would cut the connections of every other pytest-xdist
worker and of every other test run on the machine. Such a test gets a cluster
of its own: ``initdb`` into a state dir under ``/tmp``, ``pg_ctl`` to start,
restart and stop it, trust authentication for user ``postgres`` on 127.0.0.1
and a free port. As root the server runs as the ``postgres`` user (PostgreSQL
refuses to run as root), so the state dir belongs to that user.

A test run killed with SIGKILL cannot stop its clusters (``pg_ctl`` detaches
the postmaster); ``reap_orphans`` stops those whose owner is gone, never one
of a live test process (see ``owner.py``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .dovecot import free_port
from .owner import claim, owner_alive

START_TIMEOUT = 30
STATE_PREFIX = "cd-pg-"


class PostgresError(RuntimeError):
    """The cluster could not be made, started or stopped; the message has its log."""


def find_postgres_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (Debian keeps them off PATH), or None."""
    found = shutil.which("initdb")
    if found is not None:
        return Path(found).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]), reverse=True
    )
    return versions[0].parent if versions else None


def reap_orphans() -> int:
    """Stop the clusters of test processes that died and remove their state; returns how many."""
    reaped = 0
    for state in Path("/tmp").glob(f"{STATE_PREFIX}*"):
        if owner_alive(state) is not False:
            # A live owner's, or one that is still being set up.
            continue
        pid_file = state / "data" / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pid_file.read_text().split()[0])
            # Only a postmaster of this very data dir (the PID may be reused).
            command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            if str(state / "data") in command:
                # SIGQUIT is PostgreSQL's "immediate shutdown": the backends go too.
                os.kill(pid, signal.SIGQUIT)
                reaped += 1
        shutil.rmtree(state, ignore_errors=True)
    return reaped


class PostgresServer:
    """One PostgreSQL cluster with database ``postgres``, in its own temp state dir.

    ``start()`` (the first time: ``initdb``, then a free port), ``restart()``
    keeps the port and the data, ``stop()`` ends the server at once and
    removes the state. Also a context manager.
    """

    host = "127.0.0.1"
    user = "postgres"

    def __init__(self) -> None:
        bin_dir = find_postgres_bin()
        if bin_dir is None:
            raise PostgresError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self._bin = bin_dir
        self.port = 0
        self.state = Path(tempfile.mkdtemp(prefix=STATE_PREFIX, dir="/tmp"))
        claim(self.state)
        self._run_as: dict[str, Any] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.state, account.pw_uid, account.pw_gid)
            self._run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    @property
    def data(self) -> Path:
        return self.state / "data"

    @property
    def log_path(self) -> Path:
        return self.state / "server.log"

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of database ``postgres``."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/postgres"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Create the cluster (first start only) and start it on a free port."""
        if not self.data.exists():
            self._pg(
                "initdb",
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                self.user,
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            )
        # The port can be taken between free_port() and the server's bind: try another.
        for _attempt in range(3):
            self.port = free_port(self.host)
            try:
                self._pg_ctl("start")
                return
            except PostgresError as error:
                if "already in use" not in str(error):
                    raise
        raise PostgresError(f"no free port for PostgreSQL after 3 attempts\n{self.log()}")

    def restart(self) -> None:
        """Stop (``-m fast``: open connections are cut) and start again on the same port and data."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        """End the server at once and remove the state; safe after a failed start, and twice."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(PostgresError):
                self._pg("pg_ctl", "-D", str(self.data), "-s", "-w", "-m", "immediate", "stop")
        shutil.rmtree(self.state, ignore_errors=True)

    def _pg_ctl(self, action: str, *args: str) -> None:
        options = (
            f"-c listen_addresses={self.host} -p {self.port} -k {self.state} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log_path),
            "-s",
            "-w",
            "-t",
            str(START_TIMEOUT),
            *args,
            "-o",
            options,
            action,
        )

    def _pg(self, program: str, *args: str) -> None:
        result = subprocess.run(
            [str(self._bin / program), *args],
            cwd=self.state,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT + 30,
            check=False,
            **self._run_as,
        )
        if result.returncode != 0:
            raise PostgresError(
                f"{program} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}\n"
                f"{self.log()}"
            )


__all__ = ["PostgresError", "PostgresServer", "find_postgres_bin", "reap_orphans"]
