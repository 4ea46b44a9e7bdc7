"""Condition nodes: the compiled `when:` tree of a rule.

Each node answers for one mail (`test`, the fast path), says why (`explain`,
for `caredesk rules test` and the ticket history), and tells the loader and the
rule index what holds for every mail (`constant`, `triggers`). The loader in
`daemon.route.section_conditions` builds these nodes from rules.yaml.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING

from daemon.route.facts import AttachmentFacts, MailFacts, Triggers
from daemon.route.matchers import Matcher
from daemon.route.words import show

if TYPE_CHECKING:
    from daemon.parse.message import Attachment


class Condition(ABC):
    """A compiled `when:` node. `test` is the fast path; `explain` also says why.

    `explain` appends to `reasons` human-readable descriptions of the facts that
    decided the result (what matched when true, what did not when false).
    """

    __slots__ = ()

    @abstractmethod
    def test(self, facts: MailFacts) -> bool: ...

    @abstractmethod
    def explain(self, facts: MailFacts, reasons: list[str]) -> bool: ...

    def constant(self) -> bool | None:
        """True/False when the condition is the same for every mail, else None."""
        return None

    def triggers(self) -> Triggers | None:
        """Words (per field) a mail must contain one of to match; None if any mail may."""
        return None


class FieldCondition(Condition):
    __slots__ = ("field", "label", "matcher")

    def __init__(self, field: str, label: str, matcher: Matcher) -> None:
        self.field = field
        self.label = label
        self.matcher = matcher

    def test(self, facts: MailFacts) -> bool:
        return self.matcher.test(facts, self.field)

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        hit = self.matcher.hit(facts, self.field, self.label)
        reasons.append(hit if hit is not None else self.matcher.miss(self.label))
        return hit is not None

    def constant(self) -> bool | None:
        return self.matcher.constant(self.field)

    def triggers(self) -> Triggers | None:
        return self.matcher.triggers(self.field)


class AllOf(Condition):
    __slots__ = ("children",)

    def __init__(self, children: Sequence[Condition]) -> None:
        self.children = tuple(children)

    def test(self, facts: MailFacts) -> bool:
        return all(child.test(facts) for child in self.children)

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        collected: list[str] = []
        for child in self.children:
            part: list[str] = []
            if not child.explain(facts, part):
                # The first failing part is the whole story of why `all` failed.
                reasons.extend(part)
                return False
            collected.extend(part)
        reasons.extend(collected)
        return True

    def constant(self) -> bool | None:
        results = [child.constant() for child in self.children]
        if False in results:
            return False
        return True if all(result is True for result in results) else None

    def triggers(self) -> Triggers | None:
        # Every child must hold, so any one child's trigger words will do;
        # the smallest set keeps the fewest mails as candidates.
        known = [found for child in self.children if (found := child.triggers()) is not None]
        if not known:
            return None
        return min(known, key=lambda found: sum(len(words) for words in found.values()))


class AnyOf(Condition):
    __slots__ = ("children",)

    def __init__(self, children: Sequence[Condition]) -> None:
        self.children = tuple(children)

    def test(self, facts: MailFacts) -> bool:
        return any(child.test(facts) for child in self.children)

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        misses: list[str] = []
        for child in self.children:
            part: list[str] = []
            if child.explain(facts, part):
                reasons.extend(part)
                return True
            misses.extend(part)
        reasons.extend(misses)
        return False

    def constant(self) -> bool | None:
        results = [child.constant() for child in self.children]
        if True in results:
            return True
        return False if all(result is False for result in results) else None

    def triggers(self) -> Triggers | None:
        # One child suffices, so the mail needs a trigger of some child; a
        # child without triggers makes the whole group untriggered.
        merged: dict[str, frozenset[str]] = {}
        for child in self.children:
            found = child.triggers()
            if found is None:
                return None
            for field_name, words in found.items():
                merged[field_name] = merged.get(field_name, frozenset()) | words
        return merged


class Not(Condition):
    __slots__ = ("child",)

    def __init__(self, child: Condition) -> None:
        self.child = child

    def test(self, facts: MailFacts) -> bool:
        return not self.child.test(facts)

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        # The child's reasons already describe the mail as it is ("sender
        # matches none of ..."), so they read correctly under `not` as well.
        return not self.child.explain(facts, reasons)

    def constant(self) -> bool | None:
        inner = self.child.constant()
        return None if inner is None else not inner


class Always(Condition):
    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def test(self, facts: MailFacts) -> bool:
        return self.value

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        reasons.append("always" if self.value else "never (always: false)")
        return self.value

    def constant(self) -> bool | None:
        return self.value


class AttachmentCondition(Condition):
    """Some single attachment satisfies every given part (file name and type)."""

    __slots__ = ("parts",)

    def __init__(self, parts: Sequence[tuple[str, str, Matcher]]) -> None:
        self.parts = tuple(parts)
        """(field, label, matcher) with field `filename` or `content_type`."""

    def _fits(self, attachment: Attachment) -> bool:
        view = AttachmentFacts(attachment)
        return all(matcher.test(view, name) for name, _, matcher in self.parts)

    def test(self, facts: MailFacts) -> bool:
        return any(self._fits(attachment) for attachment in facts.mail.attachments)

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        for attachment in facts.mail.attachments:
            if self._fits(attachment):
                view = AttachmentFacts(attachment)
                for name, label, matcher in self.parts:
                    reasons.append(matcher.hit(view, name, label) or label)
                return True
        wanted = " and ".join(matcher.describe(label) for _, label, matcher in self.parts)
        reasons.append(f"no attachment where {wanted}")
        return False


class CustomerCondition(Condition):
    """The sender is (or is not) on the customer list, optionally with a tier."""

    __slots__ = ("known", "tiers")

    def __init__(self, known: bool | None, tiers: frozenset[str] | None) -> None:
        self.known = known
        self.tiers = tiers

    def test(self, facts: MailFacts) -> bool:
        customer = facts.customer
        if self.known is not None and (customer is not None) != self.known:
            return False
        return self.tiers is None or (customer is not None and customer.tier in self.tiers)

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        customer = facts.customer
        if customer is None:
            reasons.append("sender is not a known customer")
        elif self.tiers is not None:
            reasons.append(f"sender is customer {show(customer.name)} with tier {show(customer.tier)}")
        else:
            reasons.append(f"sender is known customer {show(customer.name)}")
        return self.test(facts)


class HistoryCondition(Condition):
    """The sender already complained at least `at_least` times in `within_days` days."""

    __slots__ = ("at_least", "within_days")

    def __init__(self, at_least: int, within_days: int) -> None:
        self.at_least = at_least
        self.within_days = within_days

    def test(self, facts: MailFacts) -> bool:
        return facts.complaints_within(self.within_days) >= self.at_least

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        count = facts.complaints_within(self.within_days)
        reasons.append(
            f"sender has {count} earlier complaint{'s' if count != 1 else ''} within "
            f"{self.within_days} days (the rule asks for at least {self.at_least})"
        )
        return count >= self.at_least


class _IdCondition(Condition):
    """Shared shape of `product:` and `branch:`: one of some ids, or known at all."""

    __slots__ = ("ids", "known")
    noun = ""

    def __init__(self, ids: frozenset[str] | None, known: bool | None) -> None:
        self.ids = ids
        self.known = known

    @abstractmethod
    def current(self, facts: MailFacts) -> str | None: ...

    def _judge(self, found: str | None) -> bool:
        if self.ids is not None:
            return found in self.ids
        return (found is not None) == bool(self.known)

    def test(self, facts: MailFacts) -> bool:
        return self._judge(self.current(facts))

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        found = self.current(facts)
        reasons.append(f"{self.noun} is {show(found)}" if found else f"no {self.noun}")
        return self._judge(found)


class ProductCondition(_IdCondition):
    """The product set by an earlier rule, or else the one detected by its words."""

    __slots__ = ()
    noun = "product"

    def current(self, facts: MailFacts) -> str | None:
        return facts.current_product()


class BranchCondition(_IdCondition):
    """The sender is one of a provincial branch's addresses."""

    __slots__ = ()
    noun = "sender branch"

    def current(self, facts: MailFacts) -> str | None:
        branch = facts.branch
        return branch.id if branch is not None else None
