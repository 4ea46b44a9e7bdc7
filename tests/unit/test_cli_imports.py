"""The command line imports only what the command run needs (issue 17: `caredesk --help` under 150 ms).

Each run is `python -X importtime -m daemon ...` in a child process, whose
standard error lists every module imported. `--help` and a mistyped argument
must import none of the heavy libraries; `tickets list` and `tickets show`
on a database at the schema's head only the database driver (`daemon.store.rawread`):
neither SQLAlchemy, nor SQLModel, nor the models. The parsers (`daemon.commands.parsers`) name their
handlers with `Lazy` and copy a few lists of values so that they need no
command code: both are checked against the real thing here.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.cli import EX_CONFIG, build_parser
from daemon.commands.parsers import Lazy
from daemon.commands.parsers import outbox as outbox_parsers
from daemon.commands.parsers import tickets as ticket_parsers
from tests.clockpin import pin_clock

PROJECT = Path(__file__).resolve().parents[2]
SHOWN_ATTACHMENTS = (
    '[{"filename":"bukti.jpg","content_type":"image/jpeg","size":2048,"sha256":"' + "ab" * 32 + '"}]'
)
"""The list the daemon keeps on a mail it parsed; the stored raw is one the parser would refuse."""
HEAVY = ("sqlalchemy", "sqlmodel", "psycopg", "jinja2", "imapclient", "mailparser", "openpyxl")
NOT_FOR_LISTING = ("jinja2", "openpyxl", "imapclient", "mailparser", "alembic", "sqlalchemy", "sqlmodel")
"""Not for `tickets list`: no templates, spreadsheets, mailboxes, mail parsing, migrations or ORM
(the schema check of a database at head is `daemon.store.schema_head`'s, the reading `rawread`'s)."""
NOT_FOR_SHOWING = NOT_FOR_LISTING
"""`tickets show` lists the attachments of the ticket's mails from the lists the daemon kept (no parser)."""


def imported(*argv: str, cwd: Path = PROJECT) -> set[str]:
    """Every module `python -m daemon ARGV` imports, by full name."""
    environment = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "daemon", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=environment,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "cumulative" not in line
    }
    assert names, done.stderr
    return names


def packages(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("argv", [("--help",), ("tickets", "list", "--help"), ("db", "--help")])
def test_help_imports_no_heavy_library(argv: tuple[str, ...]) -> None:
    found = packages(imported(*argv)) & set(HEAVY)
    assert found == set(), f"`caredesk {' '.join(argv)}` imported {sorted(found)}"


def test_a_refused_argument_imports_no_heavy_library() -> None:
    found = packages(imported("tickets", "list", "--status", "bogus")) & set(HEAVY)
    assert found == set()


def test_the_parsers_and_the_package_import_only_the_standard_library() -> None:
    names = imported("--help")
    ours = {name for name in names if name.split(".")[0] == "daemon"}
    assert ours <= {"daemon", "daemon.__main__", "daemon.cli", "daemon.commands"} | {
        name for name in ours if name.startswith("daemon.commands.parsers")
    }, sorted(ours)
    assert "importlib.metadata" not in names, "--version is looked up only when asked"


def _handlers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Lazy]]:
    handler = parser.get_default("handler")
    if handler is not None:
        yield " ".join(path), handler
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _handlers(child, (*path, name))


def test_every_handler_is_lazy_and_names_a_real_function() -> None:
    handlers = dict(_handlers(build_parser()))
    wanted = {"tickets list", "tickets show", "db upgrade", "db status", "db backup", "db restore"}
    assert wanted <= set(handlers)
    for command, handler in handlers.items():
        assert isinstance(handler, Lazy), f"`caredesk {command}` imports its code at start-up: {handler!r}"
        function = handler.resolve()
        assert inspect.isfunction(function), f"`caredesk {command}`: {handler!r} is no function"
        assert function.__module__ == f"daemon.commands.{handler.module}"


def test_the_copied_lists_equal_the_real_ones() -> None:
    from daemon import config
    from daemon.commands import ticket_list
    from daemon.sla.stamping import CLOSED_STATUSES
    from daemon.store.vocabulary import OutboundState
    from daemon.tickets.lifecycle import STATUSES

    assert tuple(state.value for state in OutboundState) == outbox_parsers.STATES
    assert tuple(status for status in STATUSES if status != "closed") == ticket_parsers.SINGLE_STATUSES
    assert set(ticket_parsers.SPELLINGS.values()) <= set(STATUSES)
    assert "closed" in STATUSES and set(CLOSED_STATUSES) <= set(STATUSES)
    assert ticket_list.PAGE_SIZE == ticket_parsers.PAGE_SIZE
    assert EX_CONFIG == config.EX_CONFIG


def test_the_schema_head_read_from_the_files_is_alembics() -> None:
    from daemon.store import migrations, schema_head

    assert schema_head.head() == migrations.head()


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a caredesk.toml whose SQLite register holds one ticket, with its first mail."""
    from daemon.store import db
    from daemon.store.models import InboundMessage, Ticket

    folder = tmp_path_factory.mktemp("register")
    url = f"sqlite:///{folder / 'caredesk.db'}"
    engine = db.open_for_writing(url)
    try:
        with db.session(engine) as session:
            received = datetime(2026, 11, 2, 3, 4, tzinfo=UTC)
            session.add(
                Ticket(
                    reference="CC-2026-000001",
                    department="teknik",
                    customer_email="budi@example.com",
                    subject="Aplikasi tidak bisa login",
                    received_at=received,
                    created_at=received,
                    updated_at=received,
                )
            )
            session.flush()
            session.add(
                InboundMessage(
                    source="imap://care@127.0.0.1/INBOX",
                    source_key="1:1",
                    raw=b"not a mail the parser could read",
                    raw_sha256="0" * 64,
                    size=32,
                    state="processed",
                    ticket_id=1,
                    from_address="budi@example.com",
                    received_at=received,
                    attachment_list=SHOWN_ATTACHMENTS,
                )
            )
            session.commit()
    finally:
        engine.dispose()
    (folder / "caredesk.toml").write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("argv", "unwanted"),
    [
        (("tickets", "list"), NOT_FOR_LISTING),
        (("tickets", "list", "--department", "teknik", "--status", "open"), NOT_FOR_LISTING),
        (("tickets", "show", "CC-2026-000001"), NOT_FOR_SHOWING),
    ],
)
def test_reading_the_register_imports_only_what_it_needs(
    register: Path, argv: tuple[str, ...], unwanted: tuple[str, ...]
) -> None:
    names = imported("--config", str(register / "caredesk.toml"), *argv, cwd=register)
    assert "daemon.store.rawread" in names, "the command did not run"
    found = packages(names) & set(unwanted)
    assert found == set(), f"`caredesk {' '.join(argv)}` imported {sorted(found)}"
    assert "daemon.store.models" not in names
    assert "daemon.parse.parser" not in names


def test_show_lists_the_attachments_from_the_list_kept_on_the_mail(register: Path) -> None:
    config = str(register / "caredesk.toml")
    done = subprocess.run(
        [sys.executable, "-m", "daemon", "--config", config, "tickets", "show", "CC-2026-000001", "--json"],
        cwd=register,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    (shown,) = json.loads(done.stdout)["attachments"]
    assert (shown["filename"], shown["size"], shown["from"]) == ("bukti.jpg", 2048, "budi@example.com")


def test_writing_a_report_loads_no_mailbox_or_daemon_code(
    register: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_clock(monkeypatch, datetime(2026, 12, 3, 3, 0, tzinfo=UTC))  # November is last month, any day
    shutil.copy(PROJECT / "rules.yaml", register / "rules.yaml")
    out = tmp_path / "report.xlsx"
    argv = ("report", "monthly", "--month", "2026-11", "--out", str(out))
    names = imported("--config", str(register / "caredesk.toml"), *argv, cwd=register)
    assert out.stat().st_size > 0, "the report was not written"
    assert "daemon.report.xlsx_out" in names
    assert not {"daemon.app.service", "daemon.commands.report_resend"} & names
    assert not packages(names) & {"imapclient", "mailparser"}
