"""rules.yaml's `categories:` and `organisations:`, and the `category:` action of a rule.

The category a complaint gets comes from the first matching rule that gives
one, as the `categories:` list spells it; the organisation from the sender's
address or mail domain. Mistakes are refused with file, line and column.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.parse.parser import parse
from daemon.route.decision import explain
from daemon.route.loader import check_rules, load_rules, parse_rules
from daemon.route.router import route
from daemon.route.rules import Rules, format_problem
from tests import mailfactory

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "tests" / "data" / "routing"

HEAD = """\
departments:
  - {id: customer-care, name: Customer Care, email: cc@example.co.id}
  - {id: koran, name: Sirkulasi, email: sirkulasi@example.co.id}
default: {department: customer-care}
categories:
  - {name: delivery, aliases: [pengiriman, antar koran]}
  - billing
  - product-quality
organisations:
  - name: PT Koran A
    domains: [koran-a.co.id]
  - name: Budi's own company
    emails: [budi.owner@koran-a.co.id, budi.owner@gmail.com]
"""
RULES = """\
rules:
  - name: late-paper
    description: The paper did not come
    when: {subject_or_body: {words: [tidak datang]}}
    then: {department: koran, category: Pengiriman}
  - name: money
    description: Invoices
    when: {subject_or_body: {words: [tagihan]}}
    then: {category: billing}
"""


def _rules(text: str = HEAD + RULES) -> Rules:
    return parse_rules(text, "rules.yaml")


def _errors(text: str) -> list[str]:
    rules, problems = check_rules(text, "rules.yaml")
    assert rules is None, "expected the file to be refused"
    return [format_problem(problem) for problem in problems if problem.severity == "error"]


def _mail(sender: str, body: str) -> bytes:
    return mailfactory.complaint(sender=sender, subject="Keluhan", body=body)


# --- categories -------------------------------------------------------------------


def test_a_rule_gives_its_category_as_the_list_spells_it() -> None:
    decision = route(parse(_mail("ani@example.net", "Koran tidak datang lagi.")), _rules())
    assert decision.category == "delivery"  # the rule wrote the alias "Pengiriman"
    assert decision.decided_by["category"] == "late-paper"
    assert 'category:   delivery  (rule "late-paper")' in explain(decision)
    assert decision.as_dict()["category"] == "delivery"


def test_the_first_matching_rule_with_a_category_decides_it() -> None:
    decision = route(parse(_mail("ani@example.net", "Koran tidak datang, tagihan jalan terus.")), _rules())
    assert [hit.rule for hit in decision.hits] == ["late-paper", "money"]
    assert decision.category == "delivery"


def test_no_matching_rule_with_a_category_leaves_none() -> None:
    decision = route(parse(_mail("ani@example.net", "Halo, saya mau bertanya.")), _rules())
    assert decision.category is None
    assert "category:   -" in explain(decision)


def test_an_unknown_category_in_a_rule_is_refused_with_its_place_and_the_allowed_list() -> None:
    text = HEAD + RULES.replace("category: billing", "category: biling")
    assert _errors(text) == [
        "rules.yaml:22:22: error: rule money: unknown category 'biling' (did you mean 'billing'?); "
        "the categories are: delivery, billing, product-quality"
    ]


def test_a_rule_category_without_a_categories_list_is_refused() -> None:
    text = (HEAD + RULES).replace(
        "categories:\n  - {name: delivery, aliases: [pengiriman, antar koran]}\n", ""
    )
    text = text.replace("  - billing\n  - product-quality\n", "")
    errors = _errors(text)
    assert len(errors) == 2
    assert all("the categories are: none (rules.yaml lists no categories)" in error for error in errors)


def test_a_category_name_or_alias_listed_twice_is_refused() -> None:
    text = HEAD.replace(
        "  - billing\n", "  - billing\n  - {name: Billing}\n  - {name: shipping, aliases: [pengiriman]}\n"
    )
    errors = _errors(text + RULES)
    assert errors == [
        "rules.yaml:8:12: error: category 'Billing' is listed twice (first at line 7)",
        "rules.yaml:9:32: error: category 'pengiriman' is listed twice (first at line 6)",
    ]


def test_categories_longer_than_the_ticket_column_or_without_letters_are_refused() -> None:
    text = HEAD.replace("  - billing\n", f"  - {'x' * 65}\n  - '--'\n")
    errors = _errors(text + RULES)
    assert "longer than 64 characters" in errors[0]
    assert "category '--' has no letters or digits" in errors[1]


def test_categories_find_names_and_aliases_in_any_case_and_spacing() -> None:
    categories = _rules().categories
    assert categories.names == ("delivery", "billing", "product-quality")
    assert categories.find("ANTAR-KORAN") == "delivery"
    assert categories.find("Product Quality") == "product-quality"
    assert categories.find("cuaca") is None
    assert categories.closest("pengirimn") == "delivery"


# --- organisations -------------------------------------------------------------------


def test_a_sender_of_a_listed_domain_or_its_subdomain_gets_the_organisation() -> None:
    rules = _rules()
    for sender in ("redaksi@koran-a.co.id", "Ani@Mail.Koran-A.co.id"):
        decision = route(parse(_mail(sender, "Koran tidak datang.")), rules)
        assert decision.organisation == "PT Koran A", sender
    assert "organisation: PT Koran A" in explain(decision)
    assert decision.as_dict()["organisation"] == "PT Koran A"


def test_an_exact_address_beats_its_domain_and_free_mail_senders_have_none() -> None:
    rules = _rules()
    assert rules.organisation_for("budi.owner@koran-a.co.id").name == "Budi's own company"  # type: ignore[union-attr]
    assert rules.organisation_for("budi.owner@gmail.com").name == "Budi's own company"  # type: ignore[union-attr]
    assert rules.organisation_for("someone.else@gmail.com") is None
    decision = route(parse(_mail("someone.else@gmail.com", "Koran tidak datang.")), rules)
    assert decision.organisation == ""


def test_a_free_mail_domain_cannot_be_given_an_organisation() -> None:
    text = HEAD.replace(
        "    domains: [koran-a.co.id]\n", "    domains: [koran-a.co.id, Gmail.com, yahoo.co.id]\n"
    )
    errors = _errors(text + RULES)
    assert len(errors) == 2
    assert errors[0].startswith("rules.yaml:11:30: error: 'gmail.com' is a free-mail domain: every sender")
    assert "'PT Koran A'; list its people's addresses under 'emails' instead" in errors[0]
    assert "'yahoo.co.id' is a free-mail domain" in errors[1]


def test_organisation_mistakes_are_refused_with_their_place() -> None:
    text = HEAD.replace(
        "organisations:\n",
        "organisations:\n  - {name: No senders}\n  - {name: Bad domain, domains: [not a domain]}\n"
        "  - {name: Twice, domains: [koran-a.co.id]}\n",
    )
    errors = _errors(text + RULES)
    assert errors == [
        "rules.yaml:10:5: error: an organisation needs 'domains' or 'emails': the senders who belong to it",
        "rules.yaml:11:34: error: 'not a domain' is not a mail domain (write it like example.co.id)",
        "rules.yaml:14:15: error: 'koran-a.co.id' already belongs to an organisation (line 12)",
    ]


# --- the shipped rules ---------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> Rules:
    return load_rules(ROOT / "rules.yaml")


@pytest.mark.parametrize(
    ("example", "category"),
    [
        ("delivery_id_not_delivered_bill_paid.eml", "delivery"),
        ("billing_id_double_charge_epaper.eml", "billing"),
        ("editorial_id_right_of_reply_online_article.eml", "editorial"),
        ("ads_id_campaign_impressions_short.eml", "advertising"),
        ("account_id_otp_never_arrives.eml", "technical"),
        ("outage_id_website_unreachable.eml", "technical"),
        ("print_id_ink_smudged.eml", "product-quality"),
        ("service_id_rude_counter_staff.eml", "service"),
        ("internal_id_staff_test_mail.eml", None),
    ],
)
def test_the_shipped_rules_give_labelled_examples_their_category(
    shipped: Rules, example: str, category: str | None
) -> None:
    decision = route(parse((EXAMPLES / example).read_bytes()), shipped)
    assert decision.category == category, explain(decision)


def test_the_shipped_rules_name_known_customers_organisations(shipped: Rules) -> None:
    ministry = route(parse((EXAMPLES / "delivery_id_vip_ministry_reading_room.eml").read_bytes()), shipped)
    assert ministry.organisation == "Kementerian Komunikasi"
    assert shipped.organisation_for("pembaca@gmail.com") is None
    every_category = {rule.then.category for rule in shipped.rules} - {None}
    assert every_category <= set(shipped.categories.names)
