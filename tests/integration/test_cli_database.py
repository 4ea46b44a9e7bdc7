"""The command line and the database: read-only commands create and migrate nothing,
an unreachable database is one line and exit 69, an unsupported driver exit 78.

Each case runs against real databases: SQLite files and the PostgreSQL of
tests/conftest.py; "unreachable" is port 1 on loopback, where nothing listens.
Cases about what an operator sees on standard error run `python -m daemon` as a
subprocess, so that logging and the interpreter's own exit behave as in production.
"""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from daemon.cli import EX_BROKEN_PIPE, EX_CONFIG, EX_TEMPFAIL, EX_UNAVAILABLE, main
from daemon.store import db, migrations
from daemon.store.models import Ticket
from tests import mailfactory
from tests.clockpin import config_variables, daemon_environment
from tests.integration.helpers import PROJECT, write_config

pytestmark = pytest.mark.integration

HEAD = migrations.head()
PASSWORD = "s3cret-pw"
UNREACHABLE = f"postgresql+psycopg://caredesk:{PASSWORD}@127.0.0.1:1/test?connect_timeout=5"
UNREACHABLE_LINE = (
    "caredesk: database postgresql+psycopg://caredesk:***@127.0.0.1:1/test?connect_timeout=5 "
    "unreachable: connection refused"
)


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the config file written by each test configures caredesk (the clock pin stays)."""
    for name in config_variables():
        monkeypatch.delenv(name)


def config_for(folder: Path, database_url: str, **options: object) -> Path:
    return write_config(
        folder,
        database_url=database_url,
        mailbox_url=f"maildir:{folder / 'mail'}",
        smtp_url=f"file:{folder / 'outbox'}",
        **options,  # type: ignore[arg-type]
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def caredesk(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m daemon ARGS` as a process, logging at WARNING so stderr holds only what matters."""
    env = daemon_environment() | {"CAREDESK_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "daemon", *args],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def has_version_table(url: str) -> bool:
    engine = create_engine(url)
    try:
        return inspect(engine).has_table("alembic_version")
    finally:
        engine.dispose()


def make_empty_database(url: str) -> None:
    """An existing database without any table: an empty SQLite file, or the fixture's empty schema."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).touch()


# ---------------------------------------------------------------------------
# Read-only commands create nothing and migrate nothing.
# ---------------------------------------------------------------------------

READ_ONLY_COMMANDS = [
    ("tickets", "list"),
    ("tickets", "show", "CC-2026-000001"),
    ("quarantine", "list"),
    ("quarantine", "show", "1"),
    ("outbox", "list"),
    ("rules", "replay", "--since", "2026-01-01"),
    ("rules", "test", "--history", str(PROJECT / "tests/data/complaint_id_plain.eml")),
    ("report", "monthly", "--month", "2026-06", "--format", "csv"),
    ("report", "review", "--quarter", "2026Q2"),
    ("recap", "status", "--month", "2026-06"),
]


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS, ids=" ".join)
def test_read_only_commands_on_a_missing_sqlite_file_create_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    missing = tmp_path / "data" / "caredesk.db"
    config = config_for(tmp_path, f"sqlite:///{missing}")

    code, out, err = run(capsys, "--config", str(config), *command)

    assert code == 1
    assert err.splitlines() == [
        f"caredesk: database file {missing} does not exist "
        "(check database_url; 'caredesk db upgrade' or the daemon creates it)"
    ]
    assert out == ""
    assert not missing.parent.exists()


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS, ids=" ".join)
def test_read_only_commands_on_an_empty_database_apply_no_migration(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    make_empty_database(database_url)
    config = config_for(tmp_path, database_url)

    code, _, err = run(capsys, "--config", str(config), *command)

    assert code == 1
    [line] = err.splitlines()
    assert line.startswith("caredesk: the database at ")
    assert line.endswith(" has no caredesk schema (run 'caredesk db upgrade')")
    assert not has_version_table(database_url)
    if database_url.startswith("sqlite:///"):
        assert Path(database_url.removeprefix("sqlite:///")).stat().st_size == 0


def test_an_outdated_schema_is_named_and_left_as_it_is(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_for(tmp_path, database_url)
    assert run(capsys, "--config", str(config), "db", "upgrade")[0] == 0
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :old"), {"old": migrations.BASELINE}
            )
    finally:
        engine.dispose()

    code, _, err = run(capsys, "--config", str(config), "tickets", "list")

    assert code == 1
    [line] = err.splitlines()
    assert line.endswith(
        f" is at revision {migrations.BASELINE}, this caredesk needs {HEAD} (run 'caredesk db upgrade')"
    )
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert (
                connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
                == migrations.BASELINE
            )
    finally:
        engine.dispose()
    # `db status` is the command that explains it, so it reports instead of refusing.
    code, out, _ = run(capsys, "--config", str(config), "db", "status")
    assert code == 0
    assert f"current:  {migrations.BASELINE}" in out


def test_read_only_commands_work_on_a_database_at_head(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_for(tmp_path, database_url)
    assert run(capsys, "--config", str(config), "db", "upgrade")[0] == 0

    assert run(capsys, "--config", str(config), "tickets", "list") == (0, "no tickets\n", "")
    code, out, _ = run(capsys, "--config", str(config), "quarantine", "list")
    assert (code, out) == (0, "quarantine is empty\n")


def test_db_status_on_a_missing_sqlite_file_reports_it_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "data" / "caredesk.db"
    config = config_for(tmp_path, f"sqlite:///{missing}")

    code, out, _ = run(capsys, "--config", str(config), "db", "status")

    assert code == 0
    assert "current:  none (empty database)" in out
    assert not missing.parent.exists()


def test_the_embedded_default_run_from_another_folder_makes_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    code, _, err = run(capsys, "tickets", "list")

    assert code == 1
    assert "var/caredesk.db does not exist" in err
    assert list(tmp_path.iterdir()) == []


def test_run_refuses_unreadable_rules_before_migrating(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    make_empty_database(database_url)
    config = config_for(tmp_path, database_url, rules=tmp_path / "no-such-rules.yaml")

    for command in (("run", "--once"), ("quarantine", "replay", "--all")):
        code, _, err = run(capsys, "--config", str(config), *command)
        assert code == EX_CONFIG
        assert "configuration error" in err and "cannot read rules" in err
        assert not has_version_table(database_url)


def test_ingest_refuses_unreadable_rules_before_migrating(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    make_empty_database(database_url)
    config = config_for(tmp_path, database_url, rules=tmp_path / "no-such-rules.yaml")
    mail = tmp_path / "m.eml"
    mail.write_bytes(mailfactory.complaint())

    code, _, err = run(capsys, "--config", str(config), "ingest", str(mail))

    assert code == EX_TEMPFAIL
    assert "cannot read rules" in err
    assert not has_version_table(database_url)


# ---------------------------------------------------------------------------
# An unreachable database: one line, the password masked, exit 69.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [("tickets", "list"), ("db", "status"), ("db", "upgrade"), ("run", "--once"), ("quarantine", "list")],
    ids=" ".join,
)
def test_an_unreachable_database_is_one_line_and_exit_69(tmp_path: Path, command: tuple[str, ...]) -> None:
    config = config_for(tmp_path, UNREACHABLE)

    done = caredesk("--config", str(config), *command)

    assert done.returncode == EX_UNAVAILABLE, done.stderr
    assert done.stderr.splitlines() == [UNREACHABLE_LINE]
    assert PASSWORD not in done.stdout + done.stderr


def test_ingest_into_an_unreachable_database_is_a_temporary_failure(tmp_path: Path) -> None:
    config = config_for(tmp_path, UNREACHABLE)
    mail = tmp_path / "m.eml"
    mail.write_bytes(mailfactory.complaint())

    done = caredesk("--config", str(config), "ingest", str(mail))

    assert done.returncode == EX_TEMPFAIL
    [line] = done.stderr.splitlines()
    assert "try again later" in line and "unreachable: connection refused" in line
    assert PASSWORD not in done.stderr


def _read_line_with(process: subprocess.Popen[str], needle: str, timeout: float, seen: list[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if not ready:
            continue
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"caredesk never logged {needle!r}; it said:\n{''.join(seen)}")


def test_the_daemon_keeps_retrying_an_unreachable_database_until_sigterm(tmp_path: Path) -> None:
    config = config_for(tmp_path, UNREACHABLE)
    process = subprocess.Popen(
        [sys.executable, "-m", "daemon", "--config", str(config), "run"],
        env=daemon_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    try:
        first = _read_line_with(process, "unreachable", 30, seen)
        again = _read_line_with(process, "(try 2)", 10, seen)
        assert process.poll() is None, "the daemon exited instead of retrying"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert time.monotonic() - started < 5
    assert process.returncode == 0
    log = "".join(seen) + out
    assert " ERROR " in first and UNREACHABLE_LINE.removeprefix("caredesk: ") in first
    assert " WARNING " in again
    assert log.count(" ERROR ") == 1
    assert "Traceback" not in log
    assert PASSWORD not in log
    assert "stopped before the database could be reached" in log


# ---------------------------------------------------------------------------
# An unsupported driver is a configuration error, found before anything is done.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", [f"mysql://caredesk:{PASSWORD}@127.0.0.1/care", "foo://x/y", "not a url"])
def test_an_unsupported_database_url_is_a_configuration_error_before_any_fetch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    config = config_for(tmp_path, url)
    new = tmp_path / "mail" / "new"
    new.mkdir(parents=True)
    (new / "1700000000.M1P1.host").write_bytes(mailfactory.complaint())

    for command in (("run", "--once"), ("tickets", "list"), ("db", "upgrade")):
        code, _, err = run(capsys, "--config", str(config), *command)
        assert code == EX_CONFIG
        [line] = err.splitlines()
        assert line.startswith("caredesk: configuration error: database_url ([database] url): ")
        assert "sqlite:///PATH or postgresql+psycopg://" in line
        assert PASSWORD not in line
    assert [path.name for path in new.iterdir()] == ["1700000000.M1P1.host"]
    assert not (tmp_path / "outbox").exists()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_without_a_driver_name_uses_psycopg(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # SQLAlchemy alone would load psycopg2 for `postgresql://`, which caredesk does not ship.
    config = config_for(tmp_path, database_url.replace("postgresql+psycopg://", "postgresql://"))

    assert run(capsys, "--config", str(config), "db", "upgrade")[0] == 0
    assert run(capsys, "--config", str(config), "tickets", "list") == (0, "no tickets\n", "")


# ---------------------------------------------------------------------------
# A closed pipe.
# ---------------------------------------------------------------------------


def test_a_reader_that_goes_away_gets_no_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/caredesk.db"
    engine = db.open_for_writing(url)
    try:
        with db.session(engine) as session:
            received = datetime(2026, 7, 1, tzinfo=UTC)
            # Far more than a pipe holds (64 KiB), so that writing goes on after `head` left.
            session.add_all(
                Ticket(
                    reference=f"CC-2026-{number:06d}",
                    department="customer-care",
                    customer_email=f"customer{number}@example.net",
                    subject="Koran tidak diantar " * 3,
                    received_at=received,
                )
                for number in range(1, 1001)
            )
            session.commit()
    finally:
        engine.dispose()
    config = config_for(tmp_path, url)
    env = daemon_environment() | {"CAREDESK_LOG_LEVEL": "WARNING"}
    writer = subprocess.Popen(
        [sys.executable, "-m", "daemon", "--config", str(config), "tickets", "list", "--all"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert writer.stdout is not None and writer.stderr is not None
    reader = subprocess.run(["head", "-1"], stdin=writer.stdout, capture_output=True, timeout=60)
    writer.stdout.close()
    err = writer.stderr.read().decode()
    writer.stderr.close()
    assert writer.wait(timeout=60) == EX_BROKEN_PIPE
    assert reader.stdout.decode().startswith("REFERENCE")
    assert "Traceback" not in err
    assert err == ""
