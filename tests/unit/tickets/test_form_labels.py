"""`#category` and `#organisation` in a staff reply: what they set, clear and refuse."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from daemon.route.rules import Categories, Category
from daemon.tickets.commands import parse_reply
from daemon.tickets.form_labels import Known
from daemon.tickets.lifecycle import Change, Outcome, TicketView, apply_commands

TODAY = date(2026, 7, 21)
CATEGORIES = Categories(
    (Category("delivery", ("pengiriman",)), Category("billing", ("tagihan",)), Category("service"))
)
KNOWN = Known(("customer-care", "koran"), CATEGORIES)
TICKET = TicketView(
    status="assigned",
    severity="minor",
    department="koran",
    root_cause=None,
    corrective_action=None,
    action_target=None,
    preventive_action=None,
    effectiveness=None,
    category="delivery",
    customer_organisation="",
)


def run(text: str, view: TicketView = TICKET, known: Known = KNOWN) -> Outcome:
    return apply_commands(view, parse_reply(text), role="department", known=known, today=TODAY)


@pytest.mark.parametrize("line", ["#category billing", "#kategori Tagihan", "#Kategori: BILLING"])
def test_category_takes_a_listed_name_or_alias_and_stores_the_name(line: str) -> None:
    outcome = run(line)
    assert outcome.changes == (Change("category", "delivery", "billing"),)
    assert outcome.refusals == ()


def test_an_unknown_category_is_refused_with_the_allowed_list() -> None:
    outcome = run("#category pengirimn")
    assert outcome.changes == ()
    [refusal] = outcome.refusals
    assert refusal.command == "#category pengirimn"
    assert refusal.reason == (
        "unknown category 'pengirimn' (did you mean 'delivery'?); "
        "the categories are: delivery, billing, service"
    )


def test_a_category_without_a_name_is_refused_and_one_already_set_changes_nothing() -> None:
    assert [r.reason for r in run("#category").refusals] == [
        "missing category; the categories are: delivery, billing, service"
    ]
    same = run("#kategori pengiriman")
    assert same.changes == () and same.refusals == ()
    assert same.unchanged == ("#kategori pengiriman: the category is already delivery",)


def test_without_a_categories_list_every_category_is_refused() -> None:
    outcome = run("#category billing", known=Known(("koran",)))
    assert outcome.changes == ()
    assert "the categories are: none (rules.yaml lists no categories)" in outcome.refusals[0].reason


def test_a_dash_clears_the_category_and_the_organisation() -> None:
    view = replace(TICKET, customer_organisation="PT Koran A")
    outcome = run("#category -\n#organisasi -", view)
    assert outcome.changes == (
        Change("category", "delivery", None),
        Change("customer_organisation", "PT Koran A", ""),
    )


def test_organisation_is_free_text_with_its_spacing_tidied() -> None:
    outcome = run("#organisation   PT  Koran Mitra   Daerah \n#instansi PT Koran Mitra Daerah")
    assert outcome.changes == (Change("customer_organisation", "", "PT Koran Mitra Daerah"),)
    assert outcome.unchanged == (
        "#instansi PT Koran Mitra Daerah: the organisation is already PT Koran Mitra Daerah",
    )


def test_organisation_too_long_for_the_form_or_empty_is_refused() -> None:
    outcome = run(f"#organisation {'x' * 321}\n#organization")
    assert outcome.changes == ()
    assert [r.reason for r in outcome.refusals] == [
        "the organisation is 321 characters long; at most 320",
        "missing text after #organisation (write '#organisation -' to clear it)",
    ]


def test_labels_apply_in_order_with_the_other_commands_and_not_on_a_closed_ticket() -> None:
    outcome = run("#root-cause Loper sakit\n#category service\n#organisation CV Maju")
    assert [change.field for change in outcome.changes] == [
        "root_cause",
        "status",
        "category",
        "customer_organisation",
    ]
    closed = replace(TICKET, status="closed")
    refused = run("#category billing\n#organisation CV Maju", closed)
    assert refused.changes == ()
    assert [r.reason for r in refused.refusals] == ["ticket is closed: only #note is accepted"] * 2
