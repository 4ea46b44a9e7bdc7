"""The shipped rules.yaml routes its own kind of complaints where they belong.

`tests/data/routing/` holds labelled example complaints, written the way the
mail clients customers use send them: `labels.tsv` gives, per file, the
department, product (empty for none) and severity the shipped rules must
decide. Each mail is parsed as the daemon parses it and routed by the pure
router, with no earlier complaints assumed; no server and no database is
involved. A failure lists every mismatch at once, each with the router's own
explanation, so a change to the rules that breaks several examples shows all
of them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from daemon.parse.parser import parse
from daemon.route.decision import Decision, explain
from daemon.route.loader import load_rules
from daemon.route.router import route
from daemon.route.rules import Rules

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "tests" / "data" / "routing"
LABELS = EXAMPLES / "labels.tsv"


@dataclass(frozen=True)
class Label:
    file: str
    department: str
    product: str | None
    severity: str

    def expected(self) -> tuple[str, str | None, str]:
        return (self.department, self.product, self.severity)


def _labels() -> list[Label]:
    with LABELS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [Label(r["file"], r["department"], r["product"] or None, r["severity"]) for r in rows]


@pytest.fixture(scope="module")
def shipped() -> Rules:
    return load_rules(ROOT / "rules.yaml")


def _route(rules: Rules, name: str) -> Decision:
    return route(parse((EXAMPLES / name).read_bytes()), rules)


def _mismatch(label: Label, decision: Decision) -> str:
    got = (decision.department, decision.product, decision.severity)
    wanted = " / ".join(str(part or "-") for part in label.expected())
    found = " / ".join(str(part or "-") for part in got)
    lines = [f"{label.file}: expected {wanted}, routed {found}"]
    lines.extend(f"    {line}" for line in explain(decision))
    return "\n".join(lines)


def test_the_labels_cover_every_example_once_and_there_are_at_least_forty() -> None:
    labels = _labels()
    names = [label.file for label in labels]
    assert len(names) == len(set(names)), "a file is labelled twice"
    assert sorted(names) == sorted(path.name for path in EXAMPLES.glob("*.eml"))
    assert len(names) >= 40


def test_the_labels_name_only_departments_and_products_the_rules_have(shipped: Rules) -> None:
    for label in _labels():
        assert label.department in shipped.departments, label
        assert label.product is None or label.product in shipped.products, label
        assert label.severity in ("major", "minor"), label


def test_every_department_and_product_of_the_example_has_an_example(shipped: Rules) -> None:
    labels = _labels()
    assert set(shipped.departments) == {label.department for label in labels}
    assert set(shipped.products) == {label.product for label in labels if label.product}


def test_every_example_complaint_goes_to_its_department_and_product(shipped: Rules) -> None:
    mismatches = []
    for label in _labels():
        decision = _route(shipped, label.file)
        if (decision.department, decision.product, decision.severity) != label.expected():
            mismatches.append(_mismatch(label, decision))
    assert not mismatches, f"{len(mismatches)} example(s) routed wrong:\n" + "\n".join(mismatches)


# --- the three cases the issue reported, by name --------------------------------------------


def test_a_paper_not_delivered_although_the_bill_is_paid_goes_to_circulation(shipped: Rules) -> None:
    decision = _route(shipped, "delivery_id_not_delivered_bill_paid.eml")
    assert (decision.department, decision.product) == ("koran", "koran-harian")
    assert decision.decided_by["department"] == "print-delivery"
    # The bill is mentioned, so the billing rule matches too: it tags, it does not route.
    assert [hit.rule for hit in decision.hits] == ["print-delivery", "billing"]


def test_a_book_that_arrived_wet_goes_to_the_publisher_not_circulation(shipped: Rules) -> None:
    decision = _route(shipped, "book_id_order_arrived_wet_and_torn.eml")
    assert (decision.department, decision.product) == ("penerbitan", "buku")
    assert "delivery" not in decision.tags


def test_a_correction_to_a_printed_page_is_about_the_print_edition(shipped: Rules) -> None:
    decision = _route(shipped, "editorial_id_printed_page_correction.eml")
    assert (decision.department, decision.product) == ("redaksi", "koran-harian")
    assert decision.sla_class == "editorial"


def test_a_printed_page_or_a_yard_is_no_web_page(shipped: Rules) -> None:
    # "halaman" is a page of the paper, or the yard the paper is thrown into.
    for name in ("print_id_sunday_edition_pages_missing.eml", "delivery_id_wet_paper_thrown_in_yard.eml"):
        assert _route(shipped, name).product == "koran-harian", name
