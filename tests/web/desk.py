"""A desk for the web view's tests: complaints ingested by the real pipeline, and one account per role."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from daemon.config.loader import load_config
from daemon.config.schema import Config
from daemon.store import db
from daemon.store.models import Ticket
from daemon.web.accounts import Account, hash_password, save_accounts, token_digest
from daemon.web.site import Site
from tests import mailfactory
from tests.integration.helpers import run_cli, tickets, write_config

PASSWORD = "correct horse battery"
TOKENS = {"care": "token-care-0123456789", "admin": "token-admin-0123456789"}
PIC_PHONE = "0813-5555-0101"
PIC_PHONE_STORED = "+6281355550101"
HOSTILE_SUBJECT = '<script>alert("x")</script> Koran tidak datang'


@dataclass(frozen=True)
class Desk:
    config: Config
    config_path: Path
    tickets: list[Ticket]

    def by_subject(self, text: str) -> Ticket:
        return next(ticket for ticket in self.tickets if text in ticket.subject)


def build_desk(folder: Path, database_url: str) -> Desk:
    """Three complaints through `caredesk ingest`: one with a PIC phone and an attachment, one with
    a subject that is HTML, one plain; then accounts for care, admin, a department and a GM."""
    config_path = write_config(
        folder, database_url=database_url, mailbox_url="maildir:mail", smtp_url="file:outbox"
    )
    mails = [
        mailfactory.complaint(
            1,
            body=f"Koran saya tidak datang tiga hari.\n\nHubungi saya di {PIC_PHONE}.\n\nSalam,\nSiti",
            name="Siti Aminah",
            sender="siti@example.net",
            attachment=("bukti foto.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg"),
        ),
        mailfactory.complaint(2, subject=HOSTILE_SUBJECT, sender="joko@example.net", name="Joko"),
        mailfactory.complaint(3, sender="rina@example.net", name="Rina", language="en"),
    ]
    paths = []
    for number, raw in enumerate(mails, 1):
        path = folder / f"mail{number}.eml"
        path.write_bytes(raw)
        paths.append(str(path))
    assert run_cli("--config", str(config_path), "ingest", *paths) == 0
    stored = tickets(database_url)
    assert len(stored) == 3, [t.subject for t in stored]
    config = load_config(config_path)
    departments = sorted({t.department for t in stored})
    rules_gm = _general_manager_of(config, stored[0].department)
    hashed = _password_hash()
    accounts = {
        "care": Account("care", "care", password_hash=hashed, token_hash=token_digest(TOKENS["care"])),
        "admin": Account("admin", "admin", password_hash=hashed, token_hash=token_digest(TOKENS["admin"])),
        "dept": Account("dept", "department", department=stored[0].department, password_hash=hashed),
        "gm": Account("gm", "gm", general_manager=rules_gm, password_hash=hashed),
        "nobody": Account("nobody", "department", department="no-such-department", password_hash=hashed),
    }
    assert config.web.accounts is not None
    save_accounts(config.web.accounts, accounts)
    assert departments
    return Desk(config, config_path, stored)


@functools.cache
def _password_hash() -> str:
    """One argon2 hash for every account of every desk: hashing is slow on purpose."""
    return hash_password(PASSWORD)


def _general_manager_of(config: Config, department: str) -> str:
    from daemon.route.loader import load_rules

    gm = load_rules(config.rules).general_manager_for(department)
    assert gm, f"the shipped rules name no GM for {department}"
    return gm


@contextlib.contextmanager
def site_of(desk: Desk) -> Iterator[Site]:
    engine = db.open_read_only(desk.config.database_url)
    try:
        yield Site(desk.config, engine)
    finally:
        engine.dispose()
