"""No address in rules.yaml may be the mailbox caredesk reads: mail sent there comes back as our own."""

from __future__ import annotations

from daemon.route.loader import check_rules
from daemon.route.rules import format_problem

OURS = ("care@example.co.id",)
RULES = """\
departments:
  - {{id: customer-care, name: Customer Care, email: {care}}}
  - {{id: koran, name: Sirkulasi Koran, email: sirkulasi@example.co.id, general_manager: {gm}}}
default: {{department: customer-care, severity: minor}}
rules: []
"""


def _problems(care: str = "cc@example.co.id", gm: str = "gm@example.co.id") -> list[str]:
    _, problems = check_rules(RULES.format(care=care, gm=gm), "rules.yaml", OURS)
    return [format_problem(problem) for problem in problems if problem.severity == "error"]


def test_rules_with_people_s_addresses_are_accepted() -> None:
    assert _problems() == []


def test_a_department_mailing_the_intake_mailbox_is_refused_with_its_line() -> None:
    [problem] = _problems(care="care@example.co.id")
    assert problem.startswith("rules.yaml:2:")
    assert "care@example.co.id" in problem and "mailbox caredesk reads" in problem


def test_a_plus_addressed_or_capitalised_intake_address_is_the_same_mailbox() -> None:
    [problem] = _problems(gm="Care+GM@Example.co.id")
    assert problem.startswith("rules.yaml:3:")


def test_without_the_mailbox_address_nothing_is_refused_for_it() -> None:
    rules, problems = check_rules(RULES.format(care="care@example.co.id", gm="gm@example.co.id"), "r.yaml")
    assert rules is not None and not [p for p in problems if p.severity == "error"]
