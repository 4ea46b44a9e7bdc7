"""A mailbox's `default_department`: where its mail goes when no rule and no product chooses."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.app.polling import check_departments
from daemon.config import ConfigError, load_config
from daemon.parse.parser import parse
from daemon.route.decision import BY_DEFAULT, RouteContext
from daemon.route.loader import load_rules
from daemon.route.router import route
from daemon.route.rules import Rules
from tests import mailfactory

ROOT = Path(__file__).resolve().parents[3]
PLAIN = "Selamat siang. Saya ingin menanyakan sesuatu, mohon dihubungi kembali. Terima kasih."


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(ROOT / "rules.yaml")


def test_unrouted_mail_goes_to_the_mailbox_default_else_the_rules_default(rules: Rules) -> None:
    mail = parse(mailfactory.complaint(1, subject="Pertanyaan", body=PLAIN))
    assert route(mail, rules).department == rules.default_department == "customer-care"
    decision = route(mail, rules, RouteContext(default_department="keuangan"))
    assert decision.department == "keuangan" and decision.decided_by["department"] == BY_DEFAULT
    assert "the mailbox's default route" in " ".join(decision.notes)


def test_a_rule_or_product_still_wins_over_the_mailbox_default(rules: Rules) -> None:
    mail = parse(mailfactory.complaint(0))  # a late newspaper: the print-delivery rule routes it
    assert route(mail, rules).decided_by["department"] == "print-delivery"
    assert route(mail, rules, RouteContext(default_department="keuangan")).department == "koran"


def test_a_department_gone_from_the_rules_falls_back_to_the_rules_default(rules: Rules) -> None:
    mail = parse(mailfactory.complaint(1, subject="Pertanyaan", body=PLAIN))
    assert route(mail, rules, RouteContext(default_department="gone")).department == "customer-care"


def test_start_up_refuses_a_default_department_the_rules_do_not_have(rules: Rules, tmp_path: Path) -> None:
    path = tmp_path / "caredesk.toml"
    care = "[[mailbox]]\nname = 'care'\nurl = 'maildir:c'\n"
    path.write_text(care + "[[mailbox]]\nname = 'recap'\nurl = 'maildir:m'\ndefault_department = 'keuangn'\n")
    with pytest.raises(
        ConfigError, match=r"mailbox\[recap\]\.default_department 'keuangn' is not a department"
    ):
        check_departments(load_config(path, environ={}), rules)
    path.write_text("[mailbox]\nurl = 'maildir:m'\ndefault_department = 'keuangan'\n")
    check_departments(load_config(path, environ={}), rules)
