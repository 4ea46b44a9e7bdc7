"""`caredesk rules replay` on SQLite and PostgreSQL: past tickets are routed again as the
pipeline routed them (history included), a candidate's changes are counted, and not
one row in any table changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from daemon.store import db
from tests import mailfactory
from tests.integration.helpers import run_cli, tickets, write_config

pytestmark = pytest.mark.integration

RULES = """\
departments:
  - {id: customer-care, name: Customer Care, email: customercare@example.co.id,
     general_manager: gm.care@example.co.id}
  - {id: keuangan, name: Keuangan, email: keuangan@example.co.id, general_manager: gm.keuangan@example.co.id}
default: {department: customer-care}
rules:
  - name: billing
    description: Invoices go to finance
    when: {subject_or_body: {words: [tagihan]}}
    then: {department: keuangan, tags: [billing]}
  - name: repeat-complaint
    description: The same customer's third complaint within 30 days
    when: {history: {at_least: 2, within_days: 30}}
    then: {severity: major, tags: [repeat]}
"""
# The candidate drops the repeat rule and sends refrigerators (kulkas) to finance.
CANDIDATE = (
    RULES.split("  - name: repeat-complaint")[0]
    + """\
  - name: kulkas
    description: Refrigerators go to finance
    when: {subject_or_body: {words: [kulkas]}}
    then: {department: keuangan}
"""
)
SENDER = "pelanggan.setia@example.net"


def _tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(select(table).order_by(*table.primary_key.columns))
                ]
                for table in SQLModel.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _replay(config: Path, capsys: Any, *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert run_cli("--config", str(config), "rules", "replay", "--since", "2000-01-01", "--json", *args) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def test_replay_routes_past_mail_again_and_changes_nothing(
    tmp_path: Path, database_url: str, capsys: Any
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE, encoding="utf-8")
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
        rules=rules,
    )
    # complaint(n): 0 late delivery, 1 broken refrigerator (kulkas), 2 double charge (tagihan).
    for n in range(3):
        mail = tmp_path / f"complaint-{n}.eml"
        mail.write_bytes(mailfactory.complaint(n, sender=SENDER))
        assert run_cli("--config", str(config), "ingest", str(mail)) == 0
    made = tickets(database_url)
    assert [(t.department, t.severity) for t in made] == [
        ("customer-care", "minor"),
        ("customer-care", "minor"),
        ("keuangan", "major"),  # the third complaint in 30 days
    ]
    before = _tables(database_url)

    same = _replay(config, capsys)
    assert (same["examined"], same["unchanged"]) == (3, 3)

    report = _replay(config, capsys, "--rules", str(candidate))
    changes = report["changes"]
    assert (report["examined"], report["unchanged"]) == (3, 1)
    assert [(e["reference"], e["old"], e["new"], e["why"]) for e in changes["department"]["examples"]] == [
        (made[1].reference, "customer-care", "keuangan", 'rule "kulkas"')
    ]
    assert [(e["reference"], e["old"], e["new"]) for e in changes["severity"]["examples"]] == [
        (made[2].reference, "major", "minor")
    ]
    assert changes["escalate"]["count"] == 1
    assert _tables(database_url) == before
