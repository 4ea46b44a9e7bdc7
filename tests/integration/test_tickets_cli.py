"""`caredesk tickets show`: the routing decision of the `routed` entry, as data and as lines.

A mail ingested from a file and a branch recap row each make a ticket, on SQLite
and PostgreSQL; `--json` gives each history entry's `data`, the text view the
decision one line per matched condition, and entries without data as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlmodel import col

from daemon.recap.receive import ReceivedFile, receive_recap
from daemon.recap.store import ImportTerms
from daemon.route.loader import load_rules
from daemon.store import db
from daemon.store.models import Ticket, TicketEvent
from tests import mailfactory
from tests.clockpin import config_variables
from tests.integration.helpers import PROJECT, run_cli, tickets, write_config
from tests.recapfiles import csv_bytes, recap_rules

pytestmark = pytest.mark.integration

DECISION_KEYS = {
    "department",
    "product",
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
