"""`tickets list` and `tickets show` read through the plain driver, and print what the ORM path prints.

One register on SQLite and on PostgreSQL: tickets in every status and in
three departments, with NULL columns, non-ASCII text, breached and met-late
targets, a major complaint, history with a routing decision as JSON, mails in
and out and an attachment. Each command runs twice, once as it runs
(`daemon.store.rawread`) and once made to take the full path (the reader
answers None, as it does for a database it cannot vouch for): the output, the
errors and the exit code must be the same bytes. A database behind the
schema's head gets the full path's words.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from daemon.store import db, rawread
from daemon.store.models import InboundMessage, OutboundMessage, TicketEvent
from tests.clockpin import config_variables
from tests.integration.helpers import run_cli, write_config
from tests.integration.seeding import RECEIVED, seeded, ticket

pytestmark = pytest.mark.integration

STATUSES = ["new", "acknowledged", "assigned", "in-progress", "in_progress", "resolved", "closed"]
DEPARTMENTS = ["customer-care", "keuangan", "teknik"]

LISTINGS: list[tuple[str, ...]] = [
    (),
    ("--status", "open"),
    ("--status", "closed"),
    ("--status", "all"),
    ("--status", "new"),
    ("--status", "in-progress"),
    ("--status", "in_progress"),
    ("--status", "resolved"),
    ("--status", "acknowledged", "--department", "teknik"),
    ("--department", "keuangan"),
    ("--department", "keuangan", "--status", "open"),
    ("--department", "nowhere"),
    ("--department", "nowhere", "--status", "all"),
    ("--limit", "4"),
    ("--limit", "4", "--page", "3"),
    ("--page", "2"),
    ("--page", "9", "--limit", "5"),
    ("--all",),
    ("--all", "--status", "closed"),
    ("--json",),
    ("--json", "--status", "open"),
    ("--json", "--page", "2", "--limit", "3"),
    ("--json", "--limit", "100"),
    ("--json", "--department", "teknik", "--status", "closed", "--all"),
    ("--json", "--department", "nowhere"),
]


def _mail(number: int, *, attachment: bool) -> bytes:
    message = EmailMessage()
    message["From"] = f"Pelanggan {number} <pelanggan{number}@example.net>"
    message["To"] = "care@example.co.id"
    message["Subject"] = f"Keluhan nomor {number}"
    message["Message-ID"] = f"<m{number}@example.net>"
    message["Date"] = "Mon, 20 Jul 2026 10:00:00 +0700"
    message.set_content("Tagihan saya salah, mohon diperiksa. Terima kasih — Budi.")
    if attachment:
        message.add_attachment(
            b"%PDF-1.4 bukti", maintype="application", subtype="pdf", filename="bukti €.pdf"
        )
    return message.as_bytes()


def _seed(url: str) -> None:
    with seeded(url) as session:
        for number in range(1, 31):
            status = STATUSES[number % len(STATUSES)]
            fields: dict[str, Any] = {
                "status": status,
                "department": DEPARTMENTS[number % 3],
                "first_response_due": RECEIVED + timedelta(hours=4),
                "resolution_due": RECEIVED + timedelta(days=number % 4),
            }
            if number % 5 == 0:
                fields |= {"first_response_due": None, "resolution_due": None, "product": None}
            if number % 4 == 1:
                fields["first_responded_at"] = RECEIVED + timedelta(hours=number % 7)
            if status in ("resolved", "closed") and number % 3:
                fields["completed_at"] = RECEIVED + timedelta(days=number % 3, hours=1)
            if number == 7:
                fields |= {
                    "severity": "major",
                    "escalated": True,
                    "customer_name": "Siti Nurhaliza Ñandú",
                    "subject": "Kartu kredit ditolak di kasir — tolong segera 🙏 " + "x" * 70,
                    "tags": "kartu,kasir",
                    "watchers": "a@example.net,b@example.net",
                    "action_target": date(2026, 8, 1),
                    "root_cause": "Limit salah dihitung",
                    "survey_score": 4,
                    "category": "billing",
                    "description": "Baris satu\nBaris dua: ümlaut",
                }
            if number == 8:
                fields["related_ticket_id"] = 7
            session.add(ticket(number, **fields))
            session.flush()
        _history_and_mail(session)


def _history_and_mail(session: Any) -> None:
    decision = {"department": "keuangan", "hits": [{"rule": "tagihan", "matched": ["subject ~ tagihan"]}]}
    decision |= {"decided_by": {"department": "tagihan"}, "rules_version": "v3", "notes": ["catatan é"]}
    at = RECEIVED + timedelta(minutes=5)
    session.add(
        TicketEvent(
            ticket_id=7,
            at=at,
            actor="caredesk",
            action="routed",
            new_value="keuangan",
            field_name="department",
            reason="rules",
            data=decision,
        )
    )
    session.add(
        TicketEvent(
            ticket_id=7,
            at=at,
            actor="ani@example.co.id",
            action="changed",
            field_name="severity",
            old_value="minor",
            new_value="major",
            reason="why ✓",
        )
    )
    for number, attachment in ((1, True), (2, False), (3, True)):
        raw = _mail(number, attachment=attachment)
        session.add(
            InboundMessage(
                source="maildir:x",
                source_key=f"k{number}",
                raw=raw,
                raw_sha256=f"{number:064d}",
                size=len(raw),
                from_address=f"pelanggan{number}@example.net",
                subject=f"Keluhan nomor {number}",
                message_id=f"<m{number}@example.net>",
                state="processed" if number != 3 else "duplicate",
                ticket_id=7,
                received_at=at,
            )
        )
    session.add(
        OutboundMessage(
            kind="reply",
            ticket_id=7,
            recipient="pelanggan7@example.net",
            envelope_from="care@example.co.id",
            message_id="<o1@example.co.id>",
            subject="Re: ✓",
            raw=b"x",
            created_at=at + timedelta(hours=1),
        )
    )


@pytest.fixture
def config(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in config_variables():
        monkeypatch.delenv(name)
    _seed(database_url)
    return write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
    )


@contextlib.contextmanager
def _no_reader(url: str) -> Iterator[None]:
    yield None


def _both(capsys: Any, config: Path, *argv: str) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(exit code, out, err) through the plain reader, and the same through the full path."""
    taken: list[bool] = []
    real = rawread.open_reader

    @contextlib.contextmanager
    def watched(url: str) -> Iterator[rawread.Reader | None]:
        with real(url) as reader:
            taken.append(reader is not None)
            yield reader

    runs = []
    for opener in (watched, _no_reader):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(rawread, "open_reader", opener)
            capsys.readouterr()
            code = run_cli("--config", str(config), *argv)
            captured = capsys.readouterr()
            runs.append((code, captured.out, captured.err))
    assert taken and all(taken), f"{argv}: the plain reader was not used"
    return runs[0], runs[1]


def test_every_listing_prints_what_the_full_path_prints(config: Path, capsys: Any) -> None:
    for options in LISTINGS:
        fast, full = _both(capsys, config, "tickets", "list", *options)
        assert fast == full, options
        assert fast[0] == 0 and fast[1], options
    # The register really holds what the listings are compared on.
    out = _both(capsys, config, "tickets", "list", "--status", "all", "--all")[0][1]
    assert "FR! RES!" in out and " Kartu kredit ditolak di kasir — tolong segera 🙏 xxxxxxxxxxx…\n" in out
    assert _both(capsys, config, "tickets", "list", "--page", "9")[0][1].startswith("no page 9: the ")


def test_every_ticket_shows_what_the_full_path_shows(config: Path, capsys: Any) -> None:
    for number in range(1, 31):
        reference = f"CC-2026-{number:06d}"
        for options in ((), ("--json",)):
            fast, full = _both(capsys, config, "tickets", "show", reference, *options)
            assert fast == full, (reference, options)
            assert fast[0] == 0, fast
    shown = _both(capsys, config, "tickets", "show", "cc-2026-000007")[0][1]
    assert "attachments (1):\n  bukti €.pdf  application/pdf" in shown
    assert "related ticket" not in shown and "rules v3" in shown and "note: catatan é" in shown
    assert (
        "related ticket     CC-2026-000007"
        in _both(capsys, config, "tickets", "show", "CC-2026-000008")[0][1]
    )
    missing = _both(capsys, config, "tickets", "show", "CC-2026-999999")
    assert missing[0] == missing[1] == (1, "", "caredesk: no ticket CC-2026-999999\n")


def test_a_schema_behind_head_gets_the_full_paths_words(config: Path, database_url: str, capsys: Any) -> None:
    from daemon.store import migrations

    engine = db.make_engine(database_url)
    try:
        with engine.begin() as connection:
            previous = migrations.status(connection).head
            below = _parent_of(previous)
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": below})
    finally:
        engine.dispose()
    with rawread.open_reader(database_url) as reader:
        assert reader is None
    for argv in (("tickets", "list"), ("tickets", "show", "CC-2026-000007")):
        capsys.readouterr()
        assert run_cli("--config", str(config), *argv) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (
            f"caredesk: the database at {db.public_database_url(database_url)} is at revision {below}, "
            f"this caredesk needs {previous} (run 'caredesk db upgrade')\n"
        )


def _parent_of(revision: str) -> str:
    from daemon.store import migrations

    parent = migrations.scripts().get_revision(revision).down_revision
    assert isinstance(parent, str)
    return parent


def test_a_missing_file_and_an_unknown_driver_get_todays_words(tmp_path: Path, capsys: Any) -> None:
    missing = tmp_path / "nothing.db"
    for url, code, words in (
        (f"sqlite:///{missing}", 1, f"caredesk: database file {missing} does not exist"),
        ("mysql://root@127.0.0.1/caredesk", 78, "caredesk: configuration error: database_url"),
    ):
        config = write_config(
            tmp_path, database_url=url, mailbox_url=f"maildir:{tmp_path}/m", smtp_url=f"file:{tmp_path}/o"
        )
        capsys.readouterr()
        assert run_cli("--config", str(config), "tickets", "list") == code
        assert capsys.readouterr().err.startswith(words)
        assert not missing.exists()


def test_the_plain_rows_hold_the_orms_values(config: Path, database_url: str) -> None:
    from daemon.store import queries

    engine = db.open_read_only(database_url)
    try:
        with db.session(engine) as session, rawread.open_reader(database_url) as reader:
            assert reader is not None
            for number in (5, 7, 13, 20):
                reference = f"CC-2026-{number:06d}"
                orm = queries.find_ticket(session, reference)
                plain = rawread.ticket_by_reference(reader, reference)
                assert orm is not None and plain is not None
                # The same values of the same types (a SQLite 1 is not True), UTC datetimes alike.
                assert {k: repr(v) for k, v in vars(plain).items()} == {
                    k: repr(v) for k, v in orm.model_dump().items()
                }
            events = rawread.ticket_events(reader, 7)
            assert events[0].data["hits"][0]["matched"] == ["subject ~ tagihan"]
            assert events[1].data is None and events[0].at == RECEIVED + timedelta(minutes=5)
            assert events[0].at.tzinfo is UTC
    finally:
        engine.dispose()
