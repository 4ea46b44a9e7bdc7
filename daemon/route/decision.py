"""The values at the router's boundary: what routing takes besides the mail, what it gives, and why.

This module owns `RouteContext`, the clock and the sender's earlier
complaints that `route()` takes; `Decision`, what it returns, with the rules
that matched (`RuleHit`) and, when traced, those that did not (`RuleMiss`),
and the markers `decided_by` uses for choices no rule made; and `explain`, the
lines saying what was decided and why, for `caredesk rules test` and the
ticket history. `Decision.as_dict()` is the JSON form stored in the ticket
history and printed by `--json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from daemon.route.rules import Severity

# Markers used in `Decision.decided_by` for choices no rule made. The loader
# refuses them as rule names so the two can never be confused.
BY_DEFAULT = "default"
BY_DETECTION = "detected"
BY_PRODUCT = "product"
RESERVED_NAMES = frozenset({BY_DEFAULT, BY_DETECTION, BY_PRODUCT})


@dataclass(frozen=True, slots=True)
class RouteContext:
    """What routing needs beyond the mail: the time, the sender's history, the mailbox's default.

    `now` defaults to the mail's Date header; `prior_complaints` are the
    creation times of the sender's earlier tickets, supplied by the store;
    `default_department` is the `default_department` of the mailbox the mail
    came in through, used before rules.yaml's `default` when no rule chooses.
    """

    now: datetime | None = None
    prior_complaints: tuple[datetime, ...] = ()
    default_department: str | None = None


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that matched, and the conditions that made it match."""

    rule: str
    description: str
    matched: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RuleMiss:
    """A rule that did not match (only recorded with `route(..., trace=True)`)."""

    rule: str
    description: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a complaint goes, and which rule decided each part of that."""

    department: str
    product: str | None
    severity: Severity
    escalate: bool
    tags: tuple[str, ...]
    sla_class: str | None
    hits: tuple[RuleHit, ...]
    decided_by: Mapping[str, str]
    """Field name -> the rule name, or `default`, `detected` (product found by
    its aliases/keywords) or `product` (department owns the product)."""
    rules_version: str
    escalate_to: tuple[str, ...] = ()
    """The general manager(s) to escalate to, when `escalate` is true."""
    notes: tuple[str, ...] = ()
    """Human explanations of choices no rule made (detection, defaults)."""
    misses: tuple[RuleMiss, ...] = ()
    category: str | None = None
    """The category the first rule with a `category:` action gave, as `categories:` spells it."""
    organisation: str = ""
    """The sender's organisation from `organisations:` ('' when the sender is not listed)."""

    @property
    def major_reason(self) -> str | None:
        """Why this complaint is major, in words for the GM and the ticket history."""
        if self.severity != "major":
            return None
        by = self.decided_by.get("severity", BY_DEFAULT)
        for hit in self.hits:
            if hit.rule == by:
                return f'rule "{hit.rule}" ({hit.description}): ' + "; ".join(hit.matched)
        return "the default severity in the rules file is major"

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form, for the ticket history and `--json` output."""
        return {
            "department": self.department,
            "product": self.product,
            "category": self.category,
            "organisation": self.organisation,
            "severity": self.severity,
            "escalate": self.escalate,
            "escalate_to": list(self.escalate_to),
            "tags": list(self.tags),
            "sla_class": self.sla_class,
            "decided_by": dict(self.decided_by),
            "major_reason": self.major_reason,
            "hits": [
                {"rule": hit.rule, "description": hit.description, "matched": list(hit.matched)}
                for hit in self.hits
            ],
            "notes": list(self.notes),
            "rules_version": self.rules_version,
        }


def _by_text(decision: Decision, field_name: str) -> str:
    by = decision.decided_by.get(field_name)
    if by is None:
        return ""
    if by == BY_DEFAULT:
        return "  (default route)"
    if by == BY_DETECTION:
        return "  (detected from the mail's words)"
    if by == BY_PRODUCT:
        return f"  (owner of product {decision.product})"
    return f'  (rule "{by}")'


def explain(decision: Decision) -> list[str]:
    """Lines saying what was decided and why, for the CLI and the ticket history."""
    escalation = "no"
    if decision.escalate:
        target = ", ".join(decision.escalate_to) or "no general manager configured"
        escalation = f"yes, to {target}"
    lines = [
        f"department: {decision.department}{_by_text(decision, 'department')}",
        f"product:    {decision.product or '-'}{_by_text(decision, 'product')}",
        f"category:   {decision.category or '-'}{_by_text(decision, 'category')}",
        f"organisation: {decision.organisation or '-'}",
        f"severity:   {decision.severity}{_by_text(decision, 'severity')}",
        f"escalate:   {escalation}{_by_text(decision, 'escalate')}",
        f"sla:        {decision.sla_class or '-'}{_by_text(decision, 'sla')}",
        f"tags:       {', '.join(decision.tags) or '-'}",
        f"rules:      version {decision.rules_version}",
    ]
    if decision.major_reason:
        lines.append(f"major because {decision.major_reason}")
    lines.extend(f"note: {note}" for note in decision.notes)
    lines.append("matched rules:" if decision.hits else "matched rules: none")
    for hit in decision.hits:
        lines.append(f"  {hit.rule}: {hit.description}")
        lines.extend(f"    - {reason}" for reason in hit.matched)
    if decision.misses:
        lines.append("rules that did not match:")
        for miss in decision.misses:
            lines.append(f"  {miss.rule}: {miss.description}")
            lines.extend(f"    - {reason}" for reason in miss.reasons)
    return lines
