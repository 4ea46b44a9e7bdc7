"""The router: where a complaint goes, and why.

This module owns how the outcomes of several matching rules combine into one
`Decision` (see docs/rules.md, "How matching rules combine"): rules are tried
in file order, the first to set department, product, category or SLA class wins,
severity only rises, and what no rule chose is filled in by product detection,
the product's department and the defaults.

Everything here is pure. `route()` reads an `InboundMail`, a loaded `Rules`
value and a `RouteContext` (the clock and the customer's earlier complaints,
passed in by the store) and returns a value: no I/O, no clock, no globals.
What one condition means for a mail is `daemon.route.conditions`' job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from daemon.route.decision import (
    BY_DEFAULT,
    BY_DETECTION,
    BY_PRODUCT,
    Decision,
    RouteContext,
    RuleHit,
    RuleMiss,
)
from daemon.route.facts import MailFacts
from daemon.route.words import show

if TYPE_CHECKING:
    from daemon.parse.message import InboundMail
    from daemon.route.rules import Rule, Rules, Severity


@dataclass
class _Outcome:
    """The decision while rules are still being applied, in rule order."""

    department: str | None = None
    product: str | None = None
    category: str | None = None
    severity: Severity | None = None
    escalate: bool = False
    tags: dict[str, None] = field(default_factory=dict)
    sla_class: str | None = None
    hits: list[RuleHit] = field(default_factory=list)
    decided_by: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def apply(self, rule: Rule, matched: list[str]) -> None:
        then = rule.then
        self.hits.append(RuleHit(rule.name, rule.description, tuple(matched)))
        # First rule to set department, product, category or SLA wins; later ones are ignored.
        if then.department is not None and self.department is None:
            self.department = then.department
            self.decided_by["department"] = rule.name
        if then.product is not None and self.product is None:
            self.product = then.product
            self.decided_by["product"] = rule.name
        if then.category is not None and self.category is None:
            self.category = then.category
            self.decided_by["category"] = rule.name
        if then.sla is not None and self.sla_class is None:
            self.sla_class = then.sla
            self.decided_by["sla"] = rule.name
        # Severity only ever rises: one major rule makes the complaint major.
        if then.severity is not None and (self.severity is None or then.severity == "major"):
            if self.severity != then.severity:
                self.decided_by["severity"] = rule.name
            self.severity = then.severity
        if then.escalate:
            self.escalate = True
            self.decided_by.setdefault("escalate", rule.name)
        for tag in then.tags:
            self.tags.setdefault(tag, None)

    def fill_gaps(self, facts: MailFacts) -> None:
        """Product detection, the product's department, then the default route."""
        rules = facts.rules
        if self.product is None:
            product_id, term = facts.detected_product()
            if product_id is not None and term is not None:
                self.product = product_id
                self.decided_by["product"] = BY_DETECTION
                self.notes.append(f"product {show(product_id)} detected by the word {show(term)}")
        if self.department is None and self.product is not None:
            self.department = rules.products[self.product].department
            self.decided_by["department"] = BY_PRODUCT
            self.notes.append(f"department owns product {show(self.product)}")
        mailbox_default = facts.context.default_department
        if self.department is None and mailbox_default is not None and mailbox_default in rules.departments:
            self.department = mailbox_default
            self.decided_by["department"] = BY_DEFAULT
            self.notes.append("no rule or product chose a department: the mailbox's default route")
        if self.department is None:
            self.department = rules.default_department
            self.decided_by["department"] = BY_DEFAULT
            self.notes.append("no rule or product chose a department: default route")
        if self.severity is None:
            self.severity = rules.default_severity
            self.decided_by["severity"] = BY_DEFAULT
        # A major complaint always goes to the general manager (procedure 6.4).
        if self.severity == "major" and not self.escalate:
            self.escalate = True
            self.decided_by["escalate"] = self.decided_by["severity"]


def _escalation_target(rules: Rules, department_id: str) -> tuple[str, ...]:
    manager = rules.general_manager_for(department_id)
    return (manager,) if manager else ()


_NO_CONTEXT = RouteContext()


def route(
    mail: InboundMail,
    rules: Rules,
    context: RouteContext = _NO_CONTEXT,
    *,
    trace: bool = False,
) -> Decision:
    """Decide department, product, category, severity, escalation, tags and SLA for `mail`.

    The decision also names the sender's organisation (`organisations:`).

    Rules are tried in file order (see docs/rules.md for how their actions
    combine). With `trace=True` every rule is explained, and the ones that did
    not match are listed in `Decision.misses`; routing itself is unchanged.
    """
    facts = MailFacts(mail, rules, context)
    outcome = _Outcome()
    misses: list[RuleMiss] = []
    # Tracing explains every rule, so it skips the index on purpose.
    positions = range(len(rules.rules)) if trace else rules.index.candidates(facts)
    for position in positions:
        rule = rules.rules[position]
        reasons: list[str] = []
        matched = rule.when.explain(facts, reasons) if trace else rule.when.test(facts)
        if not matched:
            if trace:
                misses.append(RuleMiss(rule.name, rule.description, tuple(reasons)))
            continue
        if not trace:
            # Explaining costs more than testing, so do it only for rules that hit.
            rule.when.explain(facts, reasons)
        outcome.apply(rule, reasons)
        if outcome.product is not None:
            facts.rule_product = outcome.product
        if rule.then.stop:
            if trace:
                misses.extend(_skipped(rules.rules[position + 1 :], rule.name))
            break
    outcome.fill_gaps(facts)
    return _decision(outcome, facts, misses)


def _skipped(rules: Sequence[Rule], stopper: str) -> list[RuleMiss]:
    reason = (f'not evaluated: rule "{stopper}" has stop: true',)
    return [RuleMiss(rule.name, rule.description, reason) for rule in rules]


def _decision(outcome: _Outcome, facts: MailFacts, misses: list[RuleMiss]) -> Decision:
    rules = facts.rules
    organisation = rules.organisation_for(facts.mail.from_address)
    department = outcome.department or rules.default_department
    severity: Severity = outcome.severity or rules.default_severity
    return Decision(
        department=department,
        product=outcome.product,
        severity=severity,
        escalate=outcome.escalate,
        tags=tuple(outcome.tags),
        sla_class=outcome.sla_class,
        hits=tuple(outcome.hits),
        decided_by=MappingProxyType(dict(outcome.decided_by)),
        rules_version=rules.version,
        escalate_to=_escalation_target(rules, department) if outcome.escalate else (),
        notes=tuple(outcome.notes),
        misses=tuple(misses),
        category=outcome.category,
        organisation=organisation.name if organisation is not None else "",
    )
