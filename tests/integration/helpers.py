"""Shared helpers for the end-to-end tests: a config file for real servers, DB reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from daemon.cli import main
from daemon.store import db
from daemon.store.models import InboundMessage, OutboundMessage, Ticket
from tests.clockpin import config_variables
from tests.mailfactory import OUR_MX

PROJECT = Path(__file__).resolve().parents[2]
CARE_ADDRESS = "care@example.co.id"
TRUST_OUR_MX = f'[security]\ntrusted_authserv_ids = "{OUR_MX}"\n'
"""`extra=` for `write_config`: staff replies and recaps stamped by `mailfactory.stamped` are verified."""
FREE_CLOCK = "[periodic]\nmax_clock_forward_hours = 0\n"
"""`extra=` for `write_config`, for a test that moves the daemon's clock days ahead between runs on one
database: no forward bound. A real site would be held at such a step until `caredesk clock confirm`."""


def write_config(
    folder: Path,
    *,
    database_url: str,
    mailbox_url: str,
    smtp_url: str,
    rules: Path | None = None,
    poll_interval: int = 1,
    batch_size: int = 50,
    extra: str = "",
) -> Path:
    """A caredesk.toml for a test; the password goes in a file, as in production."""
    (folder / "imap-password").write_text("carepass\n")
    path = folder / "caredesk.toml"
    path.write_text(
        f"""
address = "{CARE_ADDRESS}"
name = "Customer Care Test"
rules = "{rules or PROJECT / "rules.yaml"}"
log_level = "INFO"
{extra}

[mailbox]
url = "{mailbox_url}"
password_file = "imap-password"
poll_interval = {poll_interval}
batch_size = {batch_size}

[smtp]
url = "{smtp_url}"
retry_base_seconds = 1

[database]
url = "{database_url}"
"""
    )
    return path


def maildir_desk(
    folder: Path, monkeypatch: Any, *, database_url: str, smtp_url: str, extra: str = ""
) -> tuple[Path, Path]:
    """A desk reading the Maildir `folder/mail` and sending to `smtp_url`: its caredesk.toml and the Maildir.

    The environment's configuration overrides are cleared first (the pinned clock stays).
    """
    for name in config_variables():
        monkeypatch.delenv(name)
    maildir = folder / "mail"
    (maildir / "new").mkdir(parents=True)
    path = write_config(
        folder, database_url=database_url, mailbox_url=f"maildir:{maildir}", smtp_url=smtp_url, extra=extra
    )
    return path, maildir


def run_cli(*args: str) -> int:
    return main(list(args))


def tickets_json(config: Path, capsys: Any) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert run_cli("--config", str(config), "tickets", "list", "--json") == 0
    result: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return result


def table(database_url: str, model: Any) -> list[Any]:
    engine = db.make_engine(database_url)
    try:
        db.create_schema(engine)
        with db.session(engine) as session:
            key = list(model.__table__.primary_key.columns)
            return list(session.execute(select(model).order_by(*key)).scalars())
    finally:
        engine.dispose()


def tickets(database_url: str) -> list[Ticket]:
    return table(database_url, Ticket)


def inbound(database_url: str) -> list[InboundMessage]:
    return table(database_url, InboundMessage)


def outbound(database_url: str) -> list[OutboundMessage]:
    return table(database_url, OutboundMessage)
