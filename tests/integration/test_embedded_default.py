"""The embedded default: a local Maildir in, `.eml` files out, SQLite; and `ingest`."""

from __future__ import annotations

import io
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from daemon import clock
from daemon.cli import EX_TEMPFAIL, main
from tests import mailfactory
from tests.clockpin import config_variables
from tests.integration.helpers import PROJECT, inbound, tickets


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in config_variables():
        monkeypatch.delenv(name)
    return monkeypatch


def test_dropped_eml_becomes_a_ticket_with_mail_in_the_outbox(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: Any
) -> None:
    clean_env.chdir(tmp_path)
    shutil.copy(PROJECT / "rules.yaml", tmp_path / "rules.yaml")
    new = tmp_path / "var/mail/new"
    new.mkdir(parents=True)
    (new / "1700000000.M1P1.host").write_bytes(mailfactory.complaint(sender="budi@example.net"))

    assert main(["run", "--once"]) == 0

    capsys.readouterr()
    assert main(["tickets", "list", "--json"]) == 0
    [ticket] = json.loads(capsys.readouterr().out)
    year = clock.now().astimezone(ZoneInfo("Asia/Jakarta")).year
    assert ticket["reference"] == f"CC-{year}-000001"
    assert {
        "reference",
        "status",
        "department",
        "severity",
        "customer_email",
        "subject",
        "created_at",
    } <= set(ticket)
    assert datetime.fromisoformat(ticket["created_at"]).tzinfo is not None
    outbox = sorted(p.name for p in (tmp_path / "var/outbox").glob("*.eml"))
    assert len(outbox) == 2
    assert any("-ack-" in name for name in outbox) and any("-notice-" in name for name in outbox)
    assert list(new.iterdir()) == []
    assert len(list((tmp_path / "var/mail/.Processed/cur").iterdir())) == 1


def test_ingest_files_and_stdin_and_the_same_file_twice(
    tmp_path: Path, database_url: str, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.chdir(tmp_path)
    clean_env.setenv("CAREDESK_DATABASE_URL", database_url)
    clean_env.setenv("CAREDESK_RULES", str(PROJECT / "rules.yaml"))
    first = tmp_path / "first.eml"
    first.write_bytes(mailfactory.complaint(1, sender="one@example.net"))

    assert main(["ingest", str(first)]) == 0
    assert main(["ingest", str(first)]) == 0
    clean_env.setattr(
        "sys.stdin",
        io.TextIOWrapper(io.BytesIO(mailfactory.complaint(2, sender="two@example.net"))),
    )
    assert main(["ingest", "-"]) == 0

    assert sorted(t.customer_email for t in tickets(database_url)) == [
        "one@example.net",
        "two@example.net",
    ]
    assert len(inbound(database_url)) == 2  # the repeated file is the same stored mail
    assert len(list((tmp_path / "var/outbox").glob("*-ack-*.eml"))) == 2


def test_ingest_exits_tempfail_when_the_mail_cannot_be_stored(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: Any
) -> None:
    clean_env.chdir(tmp_path)
    clean_env.setenv("CAREDESK_RULES", str(PROJECT / "rules.yaml"))
    # Nothing listens on port 1: the database is unreachable.
    clean_env.setenv(
        "CAREDESK_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"
    )
    mail = tmp_path / "m.eml"
    mail.write_bytes(mailfactory.complaint())

    assert main(["ingest", str(mail)]) == EX_TEMPFAIL
    assert "try again later" in capsys.readouterr().err


def test_ingest_of_a_missing_file_is_a_user_error(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, capsys: Any
) -> None:
    clean_env.chdir(tmp_path)
    assert main(["ingest", str(tmp_path / "nope.eml")]) == 1
    assert "cannot read" in capsys.readouterr().err
