"""`caredesk tickets show`: the routing decision, the text view's values, the archive form.

A mail ingested from a file and a branch recap row each make a ticket, on SQLite
and PostgreSQL; `--json` gives each history entry's `data`, the text view the
decision one line per matched condition, and entries without data as before.
The text view prints local times, yes/no and plain lists while `--json` keeps
ISO times and real values; the archive form (`--format html`) carries the
survey answer, the internal notes' text and the linked complaints, escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlmodel import col

from daemon.recap.receive import ReceivedFile, receive_recap
from daemon.recap.store import ImportTerms
from daemon.route.loader import load_rules
from daemon.store import db, queries
from daemon.store.models import Ticket, TicketEvent
from daemon.store.vocabulary import Action
from tests import mailfactory
from tests.clockpin import config_variables
from tests.integration.helpers import PROJECT, run_cli, tickets, write_config
from tests.integration.seeding import RECEIVED, seeded, ticket
from tests.recapfiles import csv_bytes, recap_rules

pytestmark = pytest.mark.integration

DECISION_KEYS = {
    "department",
    "product",
    "category",
    "organisation",
    "severity",
    "escalate",
    "escalate_to",
    "tags",
    "sla_class",
    "decided_by",
    "major_reason",
    "hits",
    "notes",
    "rules_version",
}
"""The keys of `Decision.as_dict()`."""


@pytest.fixture
def config(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in config_variables():
        monkeypatch.delenv(name)
    yield write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
    )


def _show(capsys: Any, config: Path, reference: str, *options: str) -> str:
    capsys.readouterr()
    assert run_cli("--config", str(config), "tickets", "show", reference, *options) == 0
    return str(capsys.readouterr().out)


def _ingest_billing_complaint(tmp_path: Path, config: Path, database_url: str) -> Ticket:
    mail = tmp_path / "complaint.eml"
    mail.write_bytes(mailfactory.complaint(2, sender="dewi.lestari@example.net"))  # double charge (tagihan)
    assert run_cli("--config", str(config), "ingest", str(mail)) == 0
    (ticket,) = tickets(database_url)
    return ticket


def test_show_json_gives_the_routing_decision_as_the_routed_entry_data(
    tmp_path: Path, config: Path, database_url: str, capsys: Any
) -> None:
    rules = load_rules(PROJECT / "rules.yaml")
    ticket = _ingest_billing_complaint(tmp_path, config, database_url)

    shown = json.loads(_show(capsys, config, ticket.reference, "--json"))

    assert all("data" in entry for entry in shown["history"])
    (routed,) = [entry for entry in shown["history"] if entry["action"] == "routed"]
    decision = routed["data"]
    assert set(decision) == DECISION_KEYS
    assert (decision["department"], decision["severity"]) == (ticket.department, ticket.severity)
    assert decision["rules_version"] == rules.version
    assert decision["hits"], "a rule matched the double charge"
    assert all(set(hit) == {"rule", "description", "matched"} and hit["matched"] for hit in decision["hits"])
    assert decision["decided_by"]["department"] in {hit["rule"] for hit in decision["hits"]}
    assert routed["reason"].startswith(f"rules {rules.version}: department: {ticket.department}")
    assert [entry["data"] for entry in shown["history"] if entry["action"] != "routed"] == [None] * (
        len(shown["history"]) - 1
    )


def test_show_prints_the_routing_decision_one_line_per_matched_condition(
    tmp_path: Path, config: Path, database_url: str, capsys: Any
) -> None:
    ticket = _ingest_billing_complaint(tmp_path, config, database_url)
    decision = json.loads(_show(capsys, config, ticket.reference, "--json"))
    routed = next(entry for entry in decision["history"] if entry["action"] == "routed")
    hits = routed["data"]["hits"]

    text = _show(capsys, config, ticket.reference)

    history = text.split("\nhistory:\n", 1)[1].split("\nmessages:\n", 1)[0].splitlines()
    (head,) = [line for line in history if " routed department: " in line]
    assert head.endswith(f"-> {ticket.department}  rules {routed['data']['rules_version']}")
    start = history.index(head) + 1
    matched = [
        f'      routed to {ticket.department}: rule "{hit["rule"]}" matched {condition}'
        for hit in hits
        for condition in hit["matched"]
    ]
    shown = history[start : start + len(matched)]
    assert [line[: len(expected)] for line, expected in zip(shown, matched, strict=True)] == matched
    assert routed["reason"] not in text
    # The other entries print their reason as before.
    assert any(line.endswith("  complaint received by email") for line in history)


def test_a_routed_entry_without_data_shows_its_reason_as_before(
    tmp_path: Path, config: Path, database_url: str, capsys: Any
) -> None:
    ticket = _ingest_billing_complaint(tmp_path, config, database_url)
    engine = db.make_engine(database_url)
    try:
        with engine.begin() as connection:  # as a ticket routed before the decision was stored
            connection.execute(
                update(TicketEvent).where(col(TicketEvent.action) == "routed").values(data=None)
            )
    finally:
        engine.dispose()

    shown = json.loads(_show(capsys, config, ticket.reference, "--json"))
    routed = next(entry for entry in shown["history"] if entry["action"] == "routed")
    assert routed["data"] is None
    text = _show(capsys, config, ticket.reference)
    assert f"routed department:  -> {ticket.department}  {routed['reason']}" in text
    assert "routed to " not in text


def test_a_ticket_from_a_recap_row_stores_its_routing_decision_too(database_url: str) -> None:
    rules = recap_rules()
    header = ["No", "Tanggal", "Produk", "Uraian"]
    row = ["1", "2026-03-02", "", "Aplikasi e-paper tidak bisa dibuka, kami akan kirim somasi"]
    engine = db.make_engine(database_url)
    db.create_schema(engine)
    try:
        with db.session(engine) as session:
            receive_recap(
                session,
                ReceivedFile(
                    branch=rules.branches["biro-jatim"],
                    filename="rekap-2026-03.csv",
                    data=csv_bytes([header, row]),
                    inbound_id=None,
                ),
                ImportTerms(
                    rules=rules, clock=lambda: datetime(2026, 4, 3, 2, 0, tzinfo=UTC), reference_prefix="CC"
                ),
            )
            session.commit()
        with db.session(engine) as session:
            events = list(session.execute(select(TicketEvent).order_by(col(TicketEvent.id))).scalars())
            nulls = session.execute(text("SELECT count(*) FROM ticket_event WHERE data IS NULL")).scalar_one()
    finally:
        engine.dispose()

    assert [(event.action, event.data is None) for event in events] == [("created", True), ("routed", False)]
    assert nulls == 1  # the created entry's: SQL NULL, as on entries written before the column
    decision = events[1].data
    assert decision is not None
    assert set(decision) == DECISION_KEYS
    assert (decision["department"], decision["product"], decision["severity"]) == (
        "digital",
        "epaper",
        "major",
    )
    assert decision["rules_version"] == rules.version
    assert "legal-threat" in [hit["rule"] for hit in decision["hits"]]
    assert decision["decided_by"]["severity"] == "legal-threat"


def test_tickets_show_prints_local_times_and_plain_values(
    config: Path, database_url: str, capsys: Any
) -> None:
    with seeded(database_url) as session:
        categorised = ticket(
            7,
            category="pengiriman",
            escalated=True,
            tags="vip,langganan",
            watchers="adi@example.net,sari@example.net",
            action_target=date(2026, 7, 31),
        )
        session.add_all([categorised, ticket(8, customer_organisation="PT Sinar Jaya")])
        session.flush()
        queries.add_event(
            session,
            categorised,
            queries.History(
                actor="caredesk",
                action=Action.CREATED,
                at=RECEIVED + timedelta(minutes=5),
                field_name="status",
                new_value="new",
                reason="complaint received by email",
            ),
        )

    text = _show(capsys, config, "CC-2026-000007")

    head = text.split("\ndescription:\n", 1)[0].splitlines()
    for line in (
        "category           pengiriman",
        "customer organisation -",
        "escalated          yes",
        "tags               vip, langganan",
        "watchers           adi@example.net, sari@example.net",
        "received at        2026-07-20 10:00",
        "first response breached no",
        "action target      2026-07-31",
    ):
        assert line in head, line
    assert "  2026-07-20 10:05  caredesk" in text  # the history, in WIB
    for python in ("True", "False", "['", "+00:00", "T03:"):
        assert python not in text, python
    other = _show(capsys, config, "CC-2026-000008").splitlines()
    assert "category           -" in other and "customer organisation PT Sinar Jaya" in other

    shown = json.loads(_show(capsys, config, "CC-2026-000007", "--json"))
    assert (shown["category"], shown["customer_organisation"]) == ("pengiriman", "")
    assert shown["escalated"] is True and shown["first_response_breached"] is False
    assert shown["tags"] == ["vip", "langganan"]
    assert shown["received_at"] == "2026-07-20T03:00:00+00:00"
    assert shown["action_target"] == "2026-07-31"
    assert shown["history"][0]["at"] == "2026-07-20T03:05:00+00:00"


def _section(page: str, heading: str) -> str:
    """The part of the form from `heading` to the next heading."""
    return page.split(heading, 1)[1].split("<h2>", 1)[0]


def test_archive_form_shows_survey_notes_and_link(config: Path, database_url: str, capsys: Any) -> None:
    comment = 'Lambat <b>sekali</b> & "tidak" ramah'
    with seeded(database_url) as session:
        earlier = ticket(1, status="closed", survey_score=2, survey_comment=comment)
        session.add(earlier)
        session.flush()
        session.add(ticket(2, related_ticket_id=earlier.id, subject="Survei CC-2026-000001: nilai 2"))
        for entry in (
            queries.History(
                actor="rina@example.co.id",
                action=Action.NOTE,
                at=RECEIVED + timedelta(hours=1),
                reason="internal note",
                new_value="Sudah ditelepon <script>alert(1)</script>\nBaris kedua",
            ),
            queries.History(
                actor=earlier.customer_email,
                action=Action.SURVEY,
                at=RECEIVED + timedelta(days=1),
                field_name="survey_score",
                new_value="2",
                reason=comment,
            ),
        ):
            queries.add_event(session, earlier, entry)

    page = _show(capsys, config, "CC-2026-000001", "--format", "html")

    survey = _section(page, "Survei kepuasan")
    assert "<strong>2</strong> / 5" in survey
    assert "Lambat &lt;b&gt;sekali&lt;/b&gt; &amp; &#34;tidak&#34; ramah" in survey
    assert "21-07-2026 10:00" in survey  # answered, in WIB
    notes = _section(page, "Catatan internal")
    assert "internal notes (1)" in notes and "rina@example.co.id" in notes
    assert "Sudah ditelepon &lt;script&gt;alert(1)&lt;/script&gt;\nBaris kedua" in notes
    assert "<script" not in page
    assert "this complaint's survey opened <strong>CC-2026-000002</strong>" in page

    later = _show(capsys, config, "CC-2026-000002", "--format", "html")
    assert "opened from the survey of <strong>CC-2026-000001</strong>" in later
    assert "belum dijawab / not answered" in _section(later, "Survei kepuasan")
    assert "Tidak ada catatan internal." in _section(later, "Catatan internal")
