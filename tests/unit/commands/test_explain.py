"""`caredesk ingest --explain`: the kind, the deciding header or rule, sender, subject, routing.

Without a database: nothing is created, and what needs one is "not checked".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from daemon.commands.explain import EX_DATAERR
from tests.clockpin import config_variables

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration whose SQLite database does not exist: explain must not create it."""
    for name in config_variables():
        monkeypatch.delenv(name)
    path = tmp_path / "caredesk.toml"
    path.write_text(
        f'address = "care@example.co.id"\nrules = "{ROOT / "rules.yaml"}"\n'
        f'[database]\nurl = "sqlite:///{tmp_path}/caredesk.db"\n',
        encoding="utf-8",
    )
    return path


def explain(config: Path, capsys: pytest.CaptureFixture[str], *files: Path | str) -> tuple[int, Any]:
    capsys.readouterr()
    code = main(["--config", str(config), "ingest", "--explain", "--json", *map(str, files)])
    return code, json.loads(capsys.readouterr().out)


def test_a_complaint_says_who_sent_it_and_where_the_rules_route_it(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, [result] = explain(config, capsys, DATA / "complaint_id_plain.eml")

    assert code == 0
    assert result["kind"] == "complaint"
    assert result["sender"] == "budi.santoso@majujaya.co.id"
    assert result["sender_from"] == "the From header"
    assert result["subject"] == "Keluhan: koran langganan tidak diantar sejak Senin"
    assert result["language"] == "id"
    assert result["route"]["department"] == "koran"
    assert {hit["rule"] for hit in result["route"]["hits"]} >= {"billing", "print-delivery"}
    assert any('rule "print-delivery"' in line for line in result["route_explained"])
    assert result["outcome"].startswith("a new ticket")


@pytest.mark.parametrize(
    ("name", "kind", "reason"),
    [
        ("out_of_office_exchange_subject_only.eml", "automated", "out-of-office subject"),
        ("out_of_office_auto_submitted.eml", "automated", "auto-submitted: auto-replied"),
        ("list_mail.eml", "automated", "mailing list"),
        ("bounce_dsn_postfix.eml", "bounce", "delivery report: delivery-status"),
    ],
)
def test_a_robot_says_which_header_decided_and_that_it_is_never_answered(
    config: Path, capsys: pytest.CaptureFixture[str], name: str, kind: str, reason: str
) -> None:
    code, [result] = explain(config, capsys, DATA / name)

    assert code == 0
    assert result["kind"] == kind
    assert reason in result["reason"]
    assert "never answered" in result["outcome"]
    assert result["route"] is None


def test_tying_a_bounce_and_finding_a_thread_need_the_database_and_say_not_checked(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _code, [result] = explain(config, capsys, DATA / "bounce_dsn_postfix.eml")

    assert result["bounce_tied"] == "not checked"
    assert result["thread"] == "not checked"
    assert result["stored"] == "not checked"
    assert result["database"].startswith("not checked")
    assert not (config.parent / "caredesk.db").exists()  # read-only: nothing was created


def test_the_text_form_names_class_reason_sender_subject_and_routing(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--config", str(config), "ingest", "--explain", str(DATA / "complaint_id_plain.eml")]) == 0
    out = capsys.readouterr().out

    assert "  class:       complaint" in out
    assert "  decided by:  new mail from a customer" in out
    assert "budi.santoso@majujaya.co.id (the From header)" in out
    assert '"Keluhan: koran langganan tidak diantar sejak Senin"' in out
    assert "  routing:\n    department: koran" in out
    assert "nothing was stored or sent" in out


def test_a_sender_taken_from_another_header_says_which(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mail = tmp_path / "reply-to.eml"
    mail.write_bytes(
        b"From: Pelanggan Setia\nReply-To: Rina Wulandari <rina.w@telkom.net>\nTo: care@example.co.id\n"
        b"Subject: Koran tidak datang\nMessage-ID: <r1@telkom.net>\nDate: Tue, 14 Jul 2026 09:00:00 +0700\n\n"
        b"Sudah tiga hari koran tidak diantar.\n"
    )
    _code, [result] = explain(config, capsys, mail)

    assert result["sender"] == "rina.w@telkom.net"
    assert "reply-to" in result["sender_from"].lower()


def test_a_file_that_cannot_be_parsed_is_said_so_and_exits_65(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    looping = tmp_path / "looping.eml"
    hops = b"".join(
        b"Received: from hop%d.example.net by hop%d.example.net; Tue, 14 Jul 2026\n" % (n, n + 1)
        for n in range(120)
    )
    looping.write_bytes(hops + b"From: a@example.net\nSubject: x\n\nbody\n")

    capsys.readouterr()
    code = main(["--config", str(config), "ingest", "--explain", str(looping), str(DATA / "list_mail.eml")])
    captured = capsys.readouterr()

    assert code == EX_DATAERR == 65
    assert "looping.eml: cannot be parsed: limit exceeded" in captured.err
    assert "class:       automated" in captured.out  # the other file is still explained


def test_json_without_explain_is_a_user_error(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "ingest", "--json", str(DATA / "list_mail.eml")]) == 1
    assert "--json goes with --explain" in capsys.readouterr().err


def test_a_missing_file_is_a_user_error(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "ingest", "--explain", str(tmp_path / "nope.eml")]) == 1
    assert "cannot read" in capsys.readouterr().err
