"""`retired_departments:`: a department gone from the file, and the listed one its open tickets go to."""

from __future__ import annotations

import pytest

from daemon.route.loader import check_rules, parse_rules
from daemon.route.rules import format_problem

HEAD = """\
departments:
  - {id: customer-care, name: Customer Care, email: cc@example.co.id}
  - {id: logistik, name: Logistik, email: logistik@example.co.id}
default: {department: customer-care}
rules: []
"""


def _errors(text: str) -> list[str]:
    rules, problems = check_rules(text, "rules.yaml")
    assert rules is None
    return [format_problem(problem) for problem in problems if problem.severity == "error"]


def test_a_retired_department_maps_to_a_listed_one() -> None:
    rules = parse_rules(HEAD + "retired_departments:\n  gudang: logistik\n  arsip: customer-care\n", "r")
    assert dict(rules.retired.moves) == {"gudang": "logistik", "arsip": "customer-care"}
    assert rules.retired.departments_line == 1


@pytest.mark.parametrize("section", ["", "retired_departments:\n", "retired_departments: {}\n"])
def test_no_section_or_an_empty_one_retires_nothing(section: str) -> None:
    text = "rules: []\n" + HEAD.replace("rules: []\n", "") + section
    rules = parse_rules(text, "r")
    assert dict(rules.retired.moves) == {}
    # Where a problem about a department gone from the list points: `departments:` itself.
    assert rules.retired.departments_line == 2


def test_a_department_still_listed_cannot_be_retired() -> None:
    errors = _errors(HEAD + "retired_departments:\n  logistik: customer-care\n")
    assert errors == [
        "rules.yaml:7:3: error: department 'logistik' is retired here but still listed under "
        "departments (line 3); take it out of departments, or out of retired_departments"
    ]


def test_the_new_department_must_be_listed() -> None:
    errors = _errors(HEAD + "retired_departments:\n  gudang: logistk\n")
    assert errors == ["rules.yaml:7:11: error: unknown department 'logistk'; did you mean 'logistik'?"]


def test_no_chain_of_retired_departments() -> None:
    # `arsip` is retired itself, so it is no department to move tickets to.
    errors = _errors(HEAD + "retired_departments:\n  gudang: arsip\n  arsip: logistik\n")
    assert len(errors) == 1 and "7:11: error: unknown department 'arsip'" in errors[0]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("retired_departments: [gudang]\n", "6:22: error: retired_departments (retired id: department id) "),
        ("retired_departments:\n  gudang: [logistik]\n", "7:11: error: department must be text, not a list"),
        ("retired_departments:\n  gudang: logistik\n  gudang: customer-care\n", "8:3: error: duplicate key"),
        (f"retired_departments:\n  {'g' * 65}: logistik\n", "7:3: error: retired department id 'ggg"),
    ],
)
def test_a_malformed_section_is_an_error_with_its_place(section: str, expected: str) -> None:
    errors = _errors(HEAD + section)
    assert len(errors) == 1 and expected in errors[0], errors
