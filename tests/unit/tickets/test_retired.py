"""What is said of the open tickets of a department the rules no longer list (pure)."""

from __future__ import annotations

from daemon.route.loader import parse_rules
from daemon.route.rules import format_problem
from daemon.store.departments import CLOSED, OpenTickets
from daemon.tickets.lifecycle import STATUSES
from daemon.tickets.retired import moving_lines, stranded_problems

RULES = parse_rules(
    """\
# the rules of the warehouse reorganisation
departments:
  - {id: customer-care, name: Customer Care, email: cc@example.co.id}
default: {department: customer-care}
rules: []
""",
    "/etc/caredesk/rules.yaml",
)


def test_a_stranded_department_is_an_error_at_departments_naming_the_way_out() -> None:
    [problem] = stranded_problems(RULES, [OpenTickets("gudang", 5, ("CC-2026-000001", "CC-2026-000004"))])
    assert format_problem(problem) == (
        "/etc/caredesk/rules.yaml:2:1: error: department 'gudang' is not in departments, but 5 open "
        "tickets still belong to it (CC-2026-000001, CC-2026-000004 and 3 more): their follow-ups, "
        "SLA reminders and reports would reach nobody; list the department again, or name the "
        "department to move them to under retired_departments (for example "
        "`retired_departments: {gudang: customer-care}`)"
    )


def test_one_ticket_is_one_ticket() -> None:
    [problem] = stranded_problems(RULES, [OpenTickets("gudang", 1, ("CC-2026-000007",))])
    assert "but 1 open ticket still belongs to it (CC-2026-000007):" in problem.message
    [line] = moving_lines([(OpenTickets("gudang", 1, ("CC-2026-000007",)), "customer-care")])
    assert line == (
        "retired department 'gudang': 1 open ticket (CC-2026-000007) moves to 'customer-care' "
        "when the daemon loads these rules"
    )


def test_nothing_stranded_says_nothing() -> None:
    assert stranded_problems(RULES, []) == []


def test_closed_is_the_lifecycles_one_final_status() -> None:
    assert STATUSES[-1] == CLOSED
