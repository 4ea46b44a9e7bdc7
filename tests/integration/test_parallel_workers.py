"""The suite runs on several pytest-xdist workers, beside other people's runs: none takes another's servers.

A worker's clean-up of servers left behind by a killed run must spare the
servers of every live test process; a server stopped for an outage must keep
its port, so no other worker's server answers in its place; and a test that
restarts PostgreSQL restarts a cluster of its own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PG_ADMIN_DSN, _unavailable
from tests.integration.helpers import PROJECT
from tests.servers import SmtpSink, find_dovecot
from tests.servers import dovecot as dovecot_module
from tests.servers.postgres import PostgresServer

pytestmark = pytest.mark.integration

# A stand-in for another worker: it makes a Dovecot, starts and stops it but
# keeps its state (as for a restart), prints the state dir and waits.
OTHER_WORKER = """
import sys, time
from tests.servers import Dovecot
server = Dovecot()
server.start()
server.stop(remove_state=False)
print(server.state, flush=True)
time.sleep(60)
"""


# What a developer types to debug in one process, pdb and all.
DEBUG_RUN = (sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", "--co")


@pytest.fixture
def other_worker() -> Iterator[tuple[subprocess.Popen[str], Path]]:
    if find_dovecot() is None:
        _unavailable("dovecot not found: sudo apt-get install dovecot-imapd")
    process = subprocess.Popen(
        [sys.executable, "-c", OTHER_WORKER],
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        state = Path(process.stdout.readline().strip())
        assert state.name.startswith("cd-dv-"), state
        yield process, state
    finally:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_another_workers_old_stopped_dovecot_survives_the_orphan_clean_up(
    other_worker: tuple[subprocess.Popen[str], Path],
) -> None:
    process, state = other_worker
    # Older than reap_orphans' age limit, its server stopped: only the owner tells it is in use.
    an_hour_ago = time.time() - 3600
    os.utime(state, (an_hour_ago, an_hour_ago))

    dovecot_module.reap_orphans()

    assert state.is_dir(), "the clean-up removed the state of a live worker's Dovecot"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    dovecot_module.reap_orphans()
    assert not state.exists(), "the state of a dead worker's Dovecot was left behind"


def test_a_stopped_sink_keeps_its_port_so_no_other_server_answers_in_its_place(
    smtp_sink: SmtpSink,
) -> None:
    port = smtp_sink.port
    smtp_sink.stop()

    # Another worker's server binding that very port (with SO_REUSEADDR, as servers do) is refused.
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    with other, pytest.raises(OSError) as taken:
        other.bind((smtp_sink.host, port))
    assert "in use" in str(taken.value)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((smtp_sink.host, port), timeout=2).close()

    smtp_sink.start()
    assert smtp_sink.port == port
    socket.create_connection((smtp_sink.host, port), timeout=5).close()


def test_a_private_postgresql_restarts_on_its_port_without_touching_the_shared_one(
    private_postgresql: PostgresServer, _postgres_unreachable: str | None
) -> None:
    if _postgres_unreachable is not None:
        _unavailable(_postgres_unreachable)
    dsn = f"host={private_postgresql.host} port={private_postgresql.port} dbname=postgres user=postgres"
    with (
        psycopg.connect(PG_ADMIN_DSN, connect_timeout=5) as shared,
        psycopg.connect(dsn, connect_timeout=5) as before,
    ):
        private_postgresql.restart()
        with pytest.raises(psycopg.OperationalError):
            before.execute("SELECT 1")
        assert shared.execute("SELECT 1").fetchone() == (1,)
    with psycopg.connect(dsn, connect_timeout=5) as after:
        assert after.execute("SELECT 1").fetchone() == (1,)


def test_debugging_in_one_process_with_xdist_switched_off_still_runs() -> None:
    """`-p no:xdist` meets the worker count of pyproject's addopts and runs the tests in-process."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "--co",
            "tests/unit/test_clock.py",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tests collected" in result.stdout and "gw0" not in result.stdout, result.stdout
