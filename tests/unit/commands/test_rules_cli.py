"""`caredesk rules test` and `caredesk rules replay`: what they print, and that they change nothing."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import SQLModel

from daemon.app.rules_reload import content_version
from daemon.cli import main
from daemon.commands.replay import HistoryChange, ReplayReport, Routing, compare, routed_values
from daemon.route.decision import Decision
from daemon.store import db
from daemon.store.models import Ticket, TicketEvent
from tests import mailfactory

DATA = Path(__file__).resolve().parents[2] / "data"
PLAIN = DATA / "complaint_id_plain.eml"  # koran langganan tidak diantar ... tagihan
ENGLISH = DATA / "complaint_en_html_only.eml"  # charged twice, invoice, refund
BOOKS = DATA / "complaint_with_attachment.eml"  # buku ... basah, photos attached
OUT_OF_OFFICE = DATA / "out_of_office_auto_submitted.eml"

RULES = """\
departments:
  - {id: customer-care, name: Customer Care, email: cc@example.co.id, general_manager: gm.cc@example.co.id}
  - {id: keuangan, name: Keuangan, email: keuangan@example.co.id, general_manager: gm.keuangan@example.co.id}
  - {id: koran, name: Koran, email: koran@example.co.id, general_manager: gm.koran@example.co.id}
products:
  - {id: koran-harian, name: Koran Harian, department: koran, aliases: [koran langganan], keywords: [koran]}
default: {department: customer-care}
rules:
  - name: not-delivered
    description: The paper did not arrive
    when: {subject_or_body: {words: [tidak diantar]}}
    then: {department: koran, severity: major, tags: [delivery], sla: urgent}
  - name: billing
    description: Invoices go to finance
    when: {subject_or_body: {words: [tagihan, invoice]}}
    then: {department: keuangan, tags: [billing]}
  - name: english
    description: Written in English
    when: {language: en}
    then: {tags: [english]}
  - name: repeat-complaint
    description: The third complaint within 30 days
    when: {history: {at_least: 2, within_days: 30}}
    then: {severity: major, tags: [repeat]}
"""

# The candidate: damaged goods ("rusak") become major and go to finance; the
# delivery rule is gone.
CANDIDATE = """\
departments:
  - {id: customer-care, name: Customer Care, email: cc@example.co.id, general_manager: gm.cc@example.co.id}
  - {id: keuangan, name: Keuangan, email: keuangan@example.co.id, general_manager: gm.keuangan@example.co.id}
  - {id: koran, name: Koran, email: koran@example.co.id, general_manager: gm.koran@example.co.id}
products:
  - {id: koran-harian, name: Koran Harian, department: koran, aliases: [koran langganan], keywords: [koran]}
default: {department: customer-care}
rules:
  - name: damaged
    description: Damaged goods are major and go to finance for a refund
    when: {subject_or_body: {words: [rusak]}}
    then: {department: keuangan, severity: major, tags: [damaged]}
  - name: billing
    description: Invoices go to finance
    when: {subject_or_body: {words: [tagihan, invoice]}}
    then: {department: keuangan, tags: [billing]}
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path, rules_file: Path) -> Path:
    path = tmp_path / "caredesk.toml"
    path.write_text(
        f'address = "care@example.co.id"\nrules = "{rules_file}"\n'
        '[mailbox]\nurl = "maildir:mail"\n[smtp]\nurl = "file:outbox"\n'
        '[database]\nurl = "sqlite:///caredesk.db"\n'
    )
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------------------
# rules test
# ---------------------------------------------------------------------------


def test_rules_test_prints_each_part_with_the_rule_and_conditions_that_decided_it(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--config", str(config), "rules", "test", str(PLAIN))
    assert code == 0
    # Compared with runs of spaces squeezed: the columns may be widened.
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert 'department: koran rule "not-delivered": subject or body has phrase "tidak diantar"' in lines
    assert 'product: koran-harian product "koran-harian" detected by the word "koran langganan"' in lines
    assert 'severity: major rule "not-delivered": subject or body has phrase "tidak diantar"' in lines
    assert "escalation: yes, to gm.koran@example.co.id" in lines
    assert 'sla: urgent rule "not-delivered": subject or body has phrase "tidak diantar"' in lines
    assert 'tags: delivery (rule "not-delivered"), billing (rule "billing")' in lines
    assert "history: none assumed (no database read; --history reads it)" in lines
    matched = lines[lines.index("matched rules:") :]
    assert matched[1:5] == [
        "not-delivered: The paper did not arrive",
        '- subject or body has phrase "tidak diantar"',
        "billing: Invoices go to finance",
        '- subject or body has word "tagihan"',
    ]
    assert "rules that did not match:" not in out


def test_verbose_adds_the_rules_that_did_not_match_and_why(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--config", str(config), "rules", "test", "--verbose", str(PLAIN))
    assert code == 0
    missed = [line.strip() for line in out.split("rules that did not match:")[1].splitlines() if line.strip()]
    assert missed == [
        "english: Written in English",
        '- language is not "en"',
        "repeat-complaint: The third complaint within 30 days",
        "- sender has 0 earlier complaints within 30 days (the rule asks for at least 2)",
    ]


def test_json_is_an_array_with_one_decision_per_mail(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys, "--config", str(config), "rules", "test", "--json", "-v", str(PLAIN), str(ENGLISH)
    )
    assert code == 0
    plain, english = json.loads(out)
    assert plain["file"] == str(PLAIN)
    assert plain["from"] == "budi.santoso@majujaya.co.id"
    assert (plain["department"], plain["product"], plain["severity"]) == ("koran", "koran-harian", "major")
    assert plain["escalate"] is True and plain["escalate_to"] == ["gm.koran@example.co.id"]
    assert plain["decided_by"]["department"] == "not-delivered"
    assert plain["decided_by"]["product"] == "detected"
    assert plain["tag_rules"] == {"delivery": "not-delivered", "billing": "billing"}
    assert plain["why"]["escalate"] == (
        'because it is major (rule "not-delivered"): major complaints always go to the general manager'
    )
    assert plain["prior_complaints"] is None
    assert plain["kind"] == "complaint"
    assert [miss["rule"] for miss in plain["misses"]] == ["english", "repeat-complaint"]
    assert (english["department"], english["severity"], english["escalate"]) == ("keuangan", "minor", False)
    assert english["tags"] == ["billing", "english"]
    assert english["why"]["department"] == 'rule "billing": subject or body has word "invoice"'
    assert english["why"]["severity"] == "the default in the rules file"
    assert english["rules_version"] == plain["rules_version"]


def test_another_rules_file_can_be_tried(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE, encoding="utf-8")
    code, out, _ = _run(
        capsys, "--config", str(config), "rules", "test", "--rules", str(candidate), "--json", str(BOOKS)
    )
    assert code == 0
    [books] = json.loads(out)
    assert (books["department"], books["severity"]) == ("keuangan", "major")
    assert books["why"]["severity"] == 'rule "damaged": subject or body has word "rusak"'


def test_automated_mail_is_routed_but_flagged_as_never_routed_by_the_daemon(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--config", str(config), "rules", "test", str(OUT_OF_OFFICE))
    assert code == 0
    assert "note: the daemon would not route this mail: automated: auto-submitted: auto-replied" in out


def test_invalid_rules_are_reported_like_rules_check(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        RULES.replace("department: keuangan, tags", "department: keuangn, tags"), encoding="utf-8"
    )
    code, out, err = _run(
        capsys, "--config", str(config), "rules", "test", "--rules", str(broken), str(PLAIN)
    )
    assert code == 1
    assert out == ""
    assert (
        f"{broken}:16:24: error: rule billing: unknown department 'keuangn'; did you mean 'keuangan'?" in err
    )


def test_an_unreadable_file_fails_but_the_others_are_still_tested(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.eml"
    code, out, err = _run(capsys, "--config", str(config), "rules", "test", str(missing), str(PLAIN))
    assert code == 1
    assert f"cannot read {missing}" in err
    assert str(PLAIN) in out and "department: koran" in out


def test_rules_test_writes_nothing_and_opens_no_database(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = _run(capsys, "--config", str(config), "rules", "test", str(PLAIN), str(ENGLISH))
    assert code == 0
    assert not (tmp_path / "caredesk.db").exists()
    assert not (tmp_path / "outbox").exists()


def test_history_counts_the_senders_earlier_complaints_from_the_database(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sender = "pelanggan.setia@example.net"
    earlier = []
    for n in (0, 1):
        path = tmp_path / f"earlier-{n}.eml"
        path.write_bytes(mailfactory.complaint(n, sender=sender))
        earlier.append(str(path))
    assert main(["--config", str(config), "ingest", *earlier]) == 0
    third = tmp_path / "third.eml"
    third.write_bytes(mailfactory.complaint(2, sender=sender))
    url = f"sqlite:///{tmp_path / 'caredesk.db'}"
    before = _tables(url)

    code, out, _ = _run(capsys, "--config", str(config), "rules", "test", "--json", str(third))
    assert code == 0
    [blind] = json.loads(out)
    assert blind["severity"] == "minor" and blind["prior_complaints"] is None

    code, out, _ = _run(capsys, "--config", str(config), "rules", "test", "--json", "--history", str(third))
    assert code == 0
    [informed] = json.loads(out)
    assert informed["prior_complaints"] == 2
    assert informed["severity"] == "major"
    assert informed["decided_by"]["severity"] == "repeat-complaint"
    assert informed["history"] == "from the database, as if the mail arrived now"

    # A mail already in the database is seen as when it was routed: it does not count itself.
    code, out, _ = _run(capsys, "--config", str(config), "rules", "test", "--json", "--history", earlier[1])
    assert code == 0
    [second] = json.loads(out)
    assert second["prior_complaints"] == 1
    assert second["severity"] == "minor"
    assert second["history"].startswith("from the database, as when this mail made CC-")
    assert _tables(url) == before


# ---------------------------------------------------------------------------
# rules replay: the comparison
# ---------------------------------------------------------------------------

ROUTED = Routing(department="koran", product="koran-harian", severity="minor", escalate=False)


def _decision(routed_to: str, level: str = "minor", **decided_by: str) -> Decision:
    return Decision(
        department=routed_to,
        product="koran-harian",
        severity=level,  # type: ignore[arg-type]
        escalate=level == "major",
        tags=(),
        sla_class=None,
        hits=(),
        decided_by=MappingProxyType(decided_by),
        rules_version="candidate",
    )


def test_routed_values_undo_later_hand_changes() -> None:
    now = Routing(department="redaksi", product="koran-harian", severity="major", escalate=True)
    history = [
        HistoryChange("created", "status", None, "new"),
        HistoryChange("routed", "department", None, "koran"),
        HistoryChange("department-changed", "department", "koran", "keuangan"),
        HistoryChange("department-changed", "department", "keuangan", "redaksi"),
        HistoryChange("severity-changed", "severity", "minor", "major"),
        HistoryChange("escalated-by-hand", "escalated", "false", "true"),
    ]
    assert routed_values(now, history) == ROUTED


def test_routed_values_are_the_ticket_when_nothing_changed_it() -> None:
    history = [HistoryChange("routed", "department", None, "koran")]
    assert routed_values(ROUTED, history) == ROUTED
    assert routed_values(ROUTED, []) == ROUTED


def test_compare_lists_each_changed_part_with_the_rule_that_decided_it() -> None:
    decision = _decision(
        "keuangan", "major", department="billing", severity="legal-threat", escalate="legal-threat"
    )
    changes = compare("CC-2026-000001", ROUTED, ROUTED, decision)
    assert [(c.field, c.old, c.new, c.why) for c in changes] == [
        ("department", "koran", "keuangan", 'rule "billing"'),
        ("severity", "minor", "major", 'rule "legal-threat"'),
        ("escalate", False, True, 'rule "legal-threat"'),
    ]
    assert all(change.by_hand is None for change in changes)
    major = Routing(department="koran", product="koran-harian", severity="major", escalate=True)
    lowered = compare("CC-2026-000001", major, major, _decision("koran", severity="default"))
    assert [(c.field, c.new, c.why) for c in lowered] == [
        ("severity", "minor", "the default in the rules file"),
        ("escalate", False, "no rule escalates"),
    ]
    assert compare("CC-2026-000001", ROUTED, ROUTED, _decision("koran")) == []


def test_compare_against_the_routed_value_notes_a_hand_change_it_agrees_with() -> None:
    moved = Routing(department="keuangan", product="koran-harian", severity="minor", escalate=False)
    [agreeing] = compare("CC-2026-000002", ROUTED, moved, _decision("keuangan", department="billing"))
    assert (agreeing.old, agreeing.new, agreeing.by_hand, agreeing.agrees_with_hand) == (
        "koran",
        "keuangan",
        "keuangan",
        True,
    )
    # The rules now route it where they routed it before: no change, even though
    # a person moved the ticket since.
    assert compare("CC-2026-000002", ROUTED, moved, _decision("koran")) == []
    [default] = compare("CC-2026-000002", ROUTED, moved, _decision("customer-care", department="default"))
    assert (default.why, default.by_hand, default.agrees_with_hand) == ("default route", "keuangan", False)


def test_report_counts_changes_and_keeps_the_first_examples() -> None:
    report = ReplayReport(example_limit=2)
    for n in range(5):
        reference = f"CC-2026-00000{n}"
        decision = _decision("keuangan" if n < 3 else "koran", department="billing")
        report.record(ROUTED, ROUTED, compare(reference, ROUTED, ROUTED, decision), "v1")
    assert report.examined == 5
    assert report.unchanged == 2
    assert report.changed["department"] == 3
    assert [change.reference for change in report.examples["department"]] == [
        "CC-2026-000000",
        "CC-2026-000001",
    ]
    assert report.changed["severity"] == 0
    assert report.routed_by == {"v1": 5}


# ---------------------------------------------------------------------------
# rules replay: the command
# ---------------------------------------------------------------------------


def _tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
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


@pytest.fixture
def past(config: Path, tmp_path: Path) -> str:
    """Three tickets routed by RULES: koran (major), keuangan, customer-care."""
    assert main(["--config", str(config), "ingest", str(PLAIN), str(ENGLISH), str(BOOKS)]) == 0
    return f"sqlite:///{tmp_path / 'caredesk.db'}"


def _replay(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    return _run(capsys, "--config", str(config), "rules", "replay", "--since", "2000-01-01", *args)


def test_replay_under_the_rules_in_force_changes_nothing(
    config: Path, past: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _replay(capsys, config, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["examined"] == 3
    assert report["unchanged"] == 3
    assert {name: part["count"] for name, part in report["changes"].items()} == {
        "department": 0,
        "product": 0,
        "severity": 0,
        "escalate": 0,
    }


def test_replay_reports_what_a_candidate_would_change_and_writes_nothing(
    config: Path, tmp_path: Path, past: str, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE, encoding="utf-8")
    references = {ticket[0]: ticket[1] for ticket in _tickets(past)}
    before = _tables(past)

    code, out, _ = _replay(capsys, config, "--rules", str(candidate), "--json")
    assert code == 0
    report = json.loads(out)
    changes = report["changes"]
    assert report["examined"] == 3
    # The newspaper complaint loses its delivery rule: tagihan sends it to finance, minor.
    # The damaged books become major and go to finance. The invoice stays.
    assert changes["department"]["count"] == 2
    assert [(e["reference"], e["old"], e["new"], e["why"]) for e in changes["department"]["examples"]] == [
        (references[str(PLAIN)], "koran", "keuangan", 'rule "billing"'),
        (references[str(BOOKS)], "customer-care", "keuangan", 'rule "damaged"'),
    ]
    assert [(e["old"], e["new"]) for e in changes["severity"]["examples"]] == [
        ("major", "minor"),
        ("minor", "major"),
    ]
    assert changes["escalate"]["count"] == 2
    assert changes["product"]["count"] == 0
    assert report["unchanged"] == 1
    assert report["rules_version"] == content_version(CANDIDATE)
    assert report["routed_by_rules_versions"] == {content_version(RULES): 3}

    code, text, _ = _replay(capsys, config, "--rules", str(candidate), "--examples", "1")
    assert code == 0
    assert "  department:   2 would change" in text
    assert f'    {references[str(PLAIN)]}  koran -> keuangan  (rule "billing")' in text
    assert "    ... and 1 more" in text
    assert "  escalation:   2 would change" in text
    assert _tables(past) == before


def _tickets(url: str) -> list[tuple[str, str]]:
    """(file the ticket came from, reference), matched through the subject."""
    subjects = {
        "Keluhan: koran langganan tidak diantar sejak Senin": str(PLAIN),
        "Incorrect invoice for October subscription": str(ENGLISH),
        "Buku pesanan rusak saat diterima": str(BOOKS),
    }
    engine = db.make_engine(url)
    try:
        with db.session(engine) as session:
            rows = session.execute(select(Ticket.subject, Ticket.reference)).all()
    finally:
        engine.dispose()
    return [(subjects[subject], reference) for subject, reference in rows]


def test_replay_compares_hand_moved_tickets_with_their_routed_department(
    config: Path, tmp_path: Path, past: str, capsys: pytest.CaptureFixture[str]
) -> None:
    references = dict(_tickets(past))
    books = references[str(BOOKS)]
    # Customer Care moved the damaged books to finance by hand after routing.
    engine = db.make_engine(past)
    try:
        with db.session(engine) as session:
            ticket = session.execute(select(Ticket).where(Ticket.reference == books)).scalar_one()
            session.execute(update(Ticket).where(Ticket.id == ticket.id).values(department="keuangan"))
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    actor="rina.wulandari@example.co.id",
                    action="department-changed",
                    field_name="department",
                    old_value="customer-care",
                    new_value="keuangan",
                )
            )
            session.commit()
    finally:
        engine.dispose()

    code, out, _ = _replay(capsys, config, "--json")
    report = json.loads(out)
    assert (report["changes"]["department"]["count"], report["changed_by_hand"]) == (0, 1)

    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE, encoding="utf-8")
    code, out, _ = _replay(capsys, config, "--rules", str(candidate))
    assert code == 0
    [line] = [line.strip() for line in out.splitlines() if line.strip().startswith(f"{books}  customer-care")]
    assert line == (
        f'{books}  customer-care -> keuangan  (rule "damaged")  '
        "[changed by hand to keuangan since, as the new rules would]"
    )
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert (
        "by hand: 1 ticket changed by hand after routing, compared with what the rules decided then" in lines
    )
    assert "1 proposed change the same as the hand change" in lines


def test_replay_only_looks_at_the_period_asked_for(
    config: Path, past: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys,
        "--config",
        str(config),
        "rules",
        "replay",
        "--since",
        "2001-01-01",
        "--until",
        "2001-12-31",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["examined"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "last week"), "--since wants a day as YYYY-MM-DD"),
        (("--since", "2026-03-01", "--until", "2026-02-01"), "--until is before --since"),
        (
            ("--since", "2026-03-01", "--rules", "/nonexistent/rules.yaml"),
            "cannot read /nonexistent/rules.yaml",
        ),
    ],
)
def test_replay_refuses_bad_arguments(
    config: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = _run(capsys, "--config", str(config), "rules", "replay", *args)
    assert code == 1
    assert message in err


def test_replay_without_a_database_says_so(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _replay(capsys, config)
    assert code == 1
    assert f"caredesk: database file {tmp_path / 'caredesk.db'} does not exist" in err
    # Replay only reads: it must not have made the database it could not find.
    assert not (tmp_path / "caredesk.db").exists()
