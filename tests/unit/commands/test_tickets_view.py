"""`caredesk tickets show`, text view: how a history entry prints, the routing decision as lines."""

from __future__ import annotations

from typing import Any

from daemon.commands.tickets import history_lines, routing_lines
from daemon.route.decision import BY_DEFAULT, BY_DETECTION, Decision, RuleHit

AT = "2026-07-21T03:00:00+00:00"


def _decision(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "department": "keuangan",
        "product": "epaper",
        "severity": "major",
        "escalate": True,
        "tags": ("legal", "billing"),
        "sla_class": "urgent",
        "hits": (
            RuleHit("legal-threat", "The customer threatens legal action", ('body has word "somasi"',)),
            RuleHit(
                "billing",
                "Invoices go to finance",
                ('subject has word "tagihan"', 'body has word "ganda"'),
            ),
        ),
        "decided_by": {
            "department": "billing",
            "product": BY_DETECTION,
            "severity": "legal-threat",
            "escalate": "legal-threat",
        },
        "rules_version": "b552efb06946",
        "escalate_to": ("gm.keuangan@example.co.id",),
        "notes": ('product "epaper" detected by the word "e-paper"',),
    }
    return Decision(**(fields | changes)).as_dict()


def _event(action: str, data: dict[str, Any] | None, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "at": AT,
        "actor": "caredesk",
        "action": action,
        "field": "department",
        "old": None,
        "new": "keuangan",
        "reason": "rules b552efb06946: department: keuangan; ...",
        "data": data,
    }
    return entry | fields


def test_one_line_per_matched_condition_with_what_the_rule_decided() -> None:
    assert routing_lines(_decision(), "keuangan") == [
        'routed to keuangan: rule "legal-threat" matched body has word "somasi" (decided severity, escalate)',
        'routed to keuangan: rule "billing" matched subject has word "tagihan" (decided department)',
        'routed to keuangan: rule "billing" matched body has word "ganda" (decided department)',
        'major because rule "legal-threat" (The customer threatens legal action): body has word "somasi"',
        'note: product "epaper" detected by the word "e-paper"',
    ]


def test_no_rule_matched_says_how_the_department_was_chosen() -> None:
    default = _decision(
        department="customer-care",
        product=None,
        severity="minor",
        escalate=False,
        hits=(),
        decided_by={"department": BY_DEFAULT},
        notes=(),
    )
    assert routing_lines(default) == ["routed to customer-care: no rule matched (the default route)"]
    detected = default | {"decided_by": {"department": BY_DETECTION}}
    assert routing_lines(detected) == [
        "routed to customer-care: no rule matched (detected from the mail's words)"
    ]


def test_a_department_other_than_the_routed_one_is_said() -> None:
    lines = routing_lines(_decision(hits=(), severity="minor", notes=()), "koran")
    assert lines == [
        "routed to keuangan: no rule matched (the default route)",
        "department set to koran in place of the routed keuangan",
    ]


def test_a_routed_entry_with_data_prints_the_version_then_the_decision() -> None:
    lines = history_lines(_event("routed", _decision()))
    assert lines[0] == f"  {AT}  {'caredesk':<28} routed department:  -> keuangan  rules b552efb06946"
    assert lines[1] == "      " + routing_lines(_decision())[0]
    assert len(lines) == 6
    assert all("department: keuangan; ..." not in line for line in lines)


def test_entries_without_data_print_as_before() -> None:
    reason = "rules b552efb06946: department: keuangan; ..."
    before = f"  {AT}  {'caredesk':<28} routed department:  -> keuangan  {reason}"
    assert history_lines(_event("routed", None)) == [before]
    created = _event("created", None, actor="dewi@example.net", field="status", new="new", reason="by email")
    assert history_lines(created) == [f"  {AT}  {'dewi@example.net':<28} created status:  -> new  by email"]
    note = _event("note", None, field=None, reason="called the customer")
    assert history_lines(note) == [f"  {AT}  {'caredesk':<28} note  called the customer"]
