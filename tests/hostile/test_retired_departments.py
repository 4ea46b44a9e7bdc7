"""A rules change that drops a department still owning open tickets strands nobody (issue 16, 11b).

`gudang` owns three tickets, one of them closed. Rules without `gudang` are
refused by the running daemon (the last good rules stay, the admin is told, the
customer's follow-up still reaches `gudang`), by `caredesk rules check` (exit 1,
naming the department, its open tickets and the way out) and at start (exit 78).
Rules that retire it (`retired_departments: {gudang: logistik}`) are taken, and
the daemon moves its two open tickets to `logistik` once, with their history and
due dates, so the next follow-up reaches `logistik`. Real SQLite and PostgreSQL;
mail through a Maildir and the `.eml` file outbox.
"""

from __future__ import annotations

import email
import email.policy
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from daemon.app.rules_reload import content_version
from daemon.app.service import Daemon
from daemon.cli import main
from daemon.config import Config, ConfigError, load_config
from daemon.store import db
from daemon.store.models import Ticket, TicketEvent
from daemon.store.vocabulary import OutboundKind
from tests import mailfactory
from tests.clockpin import DEFAULT_INSTANT, config_variables
from tests.integration.helpers import outbound, table, tickets, write_config

pytestmark = pytest.mark.integration

ADMIN = "admin.caredesk@example.co.id"
GUDANG = "gudang@example.co.id"
LOGISTIK = "logistik@example.co.id"
PARCEL_RULE = """\
rules:
  - name: parcels
    description: Damaged parcels
    when: {subject_or_body: {words: [paket]}}
    then: {department: DEPARTMENT}
sla:
  departments:
    logistik: {resolution: 10d}
"""
BEFORE = """\
departments:
  - {id: customer-care, name: Customer Care, email: cc@example.co.id}
  - {id: gudang, name: Gudang, email: gudang@example.co.id}
  - {id: logistik, name: Logistik, email: logistik@example.co.id}
default: {department: customer-care}
""" + PARCEL_RULE.replace("DEPARTMENT", "gudang")
WITHOUT_GUDANG = """\
departments:
  - {id: customer-care, name: Customer Care, email: cc@example.co.id}
  - {id: logistik, name: Logistik, email: logistik@example.co.id}
default: {department: customer-care}
""" + PARCEL_RULE.replace("DEPARTMENT", "logistik")
RETIRED = WITHOUT_GUDANG + "retired_departments:\n  gudang: logistik\n"


@dataclass
class Site:
    path: Path
    """caredesk.toml"""
    config: Config
    rules: Path
    maildir: Path
    database_url: str

    def clock(self) -> Any:
        return DEFAULT_INSTANT

    def daemon(self) -> Daemon:
        return Daemon(self.config, clock=self.clock)

    def write_rules(self, text: str) -> None:
        """Save the rules as settled: written a while ago, so the daemon reads them at once."""
        self.rules.write_text(text, encoding="utf-8")
        past = time.time() - 60
        os.utime(self.rules, (past, past))

    def drop(self, name: str, raw: bytes) -> None:
        (self.maildir / "new" / f"{name}.eml").write_bytes(raw)

    def check(self, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(self.path), "rules", "check"])
        captured = capsys.readouterr()
        return code, captured.out, captured.err


@pytest.fixture
def site(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    for name in config_variables():
        monkeypatch.delenv(name)
    maildir = tmp_path / "mail"
    for folder in ("new", "cur", "tmp"):
        (maildir / folder).mkdir(parents=True)
    rules = tmp_path / "rules.yaml"
    rules.write_text(BEFORE, encoding="utf-8")
    path = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{maildir}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
        rules=rules,
        extra=f'admin_address = "{ADMIN}"',
    )
    yield Site(path, load_config(path), rules, maildir, database_url)


def _parcel(n: int) -> bytes:
    return mailfactory.complaint(
        n,
        sender=f"pelanggan{n}@example.net",
        subject=f"Paket nomor {n} datang rusak",
        body=f"Paket saya nomor {n} datang dalam keadaan rusak. Mohon ditindaklanjuti.\n\nPelanggan {n}",
    )


def _follow_up(ticket: Ticket, n: int) -> bytes:
    """The customer writes again about `ticket`, naming it in the subject."""
    return mailfactory.complaint(
        100 + n,
        sender=ticket.customer_email,
        subject=f"Re: [{ticket.reference}] Paket datang rusak",
        body=f"Sudah seminggu belum ada kabar tentang paket saya ({n}).",
    )


def _three_gudang_tickets(site: Site, daemon: Daemon) -> list[Ticket]:
    """Three parcel complaints, all `gudang`'s; the first one closed. Oldest first."""
    for n in (1, 2, 3):
        site.drop(f"parcel-{n}", _parcel(n))
    daemon.poll_mailbox()
    made = tickets(site.database_url)
    assert [ticket.department for ticket in made] == ["gudang"] * 3
    engine = db.make_engine(site.database_url)
    try:
        with db.session(engine) as session:
            first = session.get(Ticket, made[0].id)
            assert first is not None
            first.status = "closed"
            session.add(first)
            session.commit()
    finally:
        engine.dispose()
    return tickets(site.database_url)


def _forwards(site: Site) -> list[str]:
    """The recipients of the customers' follow-ups, forwarded, in order."""
    return [row.recipient for row in outbound(site.database_url) if row.kind == OutboundKind.FORWARD]


def _department_events(site: Site) -> list[TicketEvent]:
    return [
        event
        for event in table(site.database_url, TicketEvent)
        if event.action == "changed" and event.field_name == "department"
    ]


def test_dropping_a_department_that_owns_open_tickets_is_refused(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    with site.daemon() as daemon:
        closed, open_one, open_two = _three_gudang_tickets(site, daemon)

        site.write_rules(WITHOUT_GUDANG)
        assert daemon.rules.refresh() is False
        assert daemon.rules().version == content_version(BEFORE)
        assert list(daemon.rules().departments) == ["customer-care", "gudang", "logistik"]

        # The customer's follow-up still reaches the department that owns the ticket.
        site.drop("follow-up", _follow_up(open_one, 1))
        daemon.poll_mailbox()
        assert _forwards(site) == [GUDANG]

    # The admin was told once, with the department, how many tickets and which.
    [alert] = [row for row in outbound(site.database_url) if row.kind == OutboundKind.OPS_ALERT]
    assert alert.recipient == ADMIN and content_version(WITHOUT_GUDANG) in alert.subject
    text = email.message_from_bytes(alert.raw, policy=email.policy.default).get_body().get_content()  # type: ignore[union-attr]
    assert f"{site.rules}:1:1: error: department 'gudang' is not in departments" in text, text
    assert "2 open tickets" in text and open_one.reference in text and open_two.reference in text
    assert closed.reference not in text

    # `rules check` says the same, and fails.
    code, out, _ = site.check(capsys)
    assert code == 1, out
    assert f"{site.rules}:1:1: error: department 'gudang' is not in departments, but 2 open tickets" in out
    assert f"({open_one.reference}, {open_two.reference})" in out
    assert "retired_departments: {gudang: customer-care}" in out
    assert ": ok" not in out

    # A daemon started on these rules does not start.
    with pytest.raises(ConfigError, match="department 'gudang' is not in departments"):
        site.daemon()
    assert main(["--config", str(site.path), "run", "--once"]) == 78
    assert [ticket.department for ticket in tickets(site.database_url)] == ["gudang"] * 3
    assert _department_events(site) == []


def test_a_retired_department_hands_its_open_tickets_over_once(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    with site.daemon() as daemon:
        closed, open_one, open_two = _three_gudang_tickets(site, daemon)

        site.write_rules(RETIRED)
        code, out, _ = site.check(capsys)
        assert code == 0, out
        assert (
            f"retired department 'gudang': 2 open tickets ({open_one.reference}, {open_two.reference}) "
            "move to 'logistik' when the daemon loads these rules"
        ) in out

        assert daemon.rules.refresh() is True
        assert daemon.rules().version == content_version(RETIRED)
        by_reference = {ticket.reference: ticket for ticket in tickets(site.database_url)}
        assert by_reference[open_one.reference].department == "logistik"
        assert by_reference[open_two.reference].department == "logistik"
        # A closed ticket keeps the department that handled it.
        assert by_reference[closed.reference].department == "gudang"
        # Logistik's own resolution target (10 working days) now applies.
        assert by_reference[open_one.reference].resolution_due > open_one.resolution_due  # type: ignore[operator]

        site.drop("follow-up", _follow_up(open_one, 1))
        daemon.poll_mailbox()
        assert _forwards(site) == [LOGISTIK]

    moves = _department_events(site)
    ids = {open_one.id, open_two.id}
    assert sorted(event.ticket_id for event in moves) == sorted(ids)
    for event in moves:
        assert (event.actor, event.old_value, event.new_value) == ("caredesk", "gudang", "logistik")
        assert "department 'gudang' is retired in rules version" in event.reason
        assert content_version(RETIRED) in event.reason
    due_moves = [
        event
        for event in table(site.database_url, TicketEvent)
        if event.field_name == "resolution_due" and event.ticket_id in ids
    ]
    assert len(due_moves) == 2 and all("retired" in event.reason for event in due_moves)

    # Once: a restart on the same rules moves nothing again, and `rules check` is content.
    with site.daemon():
        pass
    assert len(_department_events(site)) == 2
    code, out, _ = site.check(capsys)
    assert code == 0, out
    assert "open tickets: each belongs to a department of these rules" in out
    assert "retired department" not in out


def test_rules_check_does_not_pass_when_the_tickets_cannot_be_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in config_variables():
        monkeypatch.delenv(name)
    rules = tmp_path / "rules.yaml"
    rules.write_text(WITHOUT_GUDANG, encoding="utf-8")
    with socket.socket() as closed:
        # Bound, never listening: connections to it are refused for the whole test.
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        path = write_config(
            tmp_path,
            database_url=f"postgresql+psycopg://care@127.0.0.1:{port}/caredesk",
            mailbox_url=f"maildir:{tmp_path / 'mail'}",
            smtp_url=f"file:{tmp_path / 'outbox'}",
            rules=rules,
        )
        capsys.readouterr()
        code = main(["--config", str(path), "rules", "check"])
    captured = capsys.readouterr()
    assert code == 69
    assert f"{rules}: the file is valid, 1 rules, 2 departments" in captured.out
    assert ": ok" not in captured.out
    assert "unreachable" in captured.err and "open tickets were not checked" in captured.err


def test_rules_check_on_a_new_installation_has_no_tickets_to_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in config_variables():
        monkeypatch.delenv(name)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RETIRED, encoding="utf-8")
    path = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'not-yet' / 'caredesk.db'}",
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
        rules=rules,
    )
    capsys.readouterr()
    assert main(["--config", str(path), "rules", "check"]) == 0
    out = capsys.readouterr().out
    assert f"{rules}: ok, 1 rules, 2 departments" in out
    assert "open tickets: none yet (no caredesk database at" in out
    assert not (tmp_path / "not-yet").exists()
