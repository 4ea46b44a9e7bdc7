"""The `when:` of a rule: condition mappings compiled into condition nodes and matchers.

This module owns the condition language as written in rules.yaml: which keys a
condition may have, the plain-value shorthand for address fields, the
operators words / regex / equals / glob, and what each of them must look like.
`ConditionReader` reports every problem through a `NodeReader` and returns the
compiled nodes of `daemon.route.conditions`, whose meaning for a mail lives there.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import cast

import regex
from yaml.nodes import MappingNode, Node, SequenceNode

from daemon.route.conditions import (
    AllOf,
    Always,
    AnyOf,
    AttachmentCondition,
    BranchCondition,
    Condition,
    CustomerCondition,
    FieldCondition,
    HistoryCondition,
    Not,
    ProductCondition,
)
from daemon.route.facts import HEADER_PREFIX
from daemon.route.matchers import (
    EqualsMatcher,
    GlobMatcher,
    Matcher,
    PresentMatcher,
    RegexMatcher,
    WordsMatcher,
)
from daemon.route.reader import Entry, NodeReader, is_null, node_kind, suggest
from daemon.route.regexes import RuleRegex, nested_quantifier
from daemon.route.rules import Customer
from daemon.route.words import WordSet

LANGUAGES = ("id", "en")
_WILDCARD = re.compile(r"[*?\[]")
_OPERATORS = ("words", "regex", "equals", "glob")
_MATCHER_KEYS = (*_OPERATORS, "ignore_case")
# Fields whose conditions may be a plain value (or list): a glob, case-insensitive.
_VALUE_FIELDS = {"from": "sender", "from_domain": "sender domain", "to": "recipient"}
_TEXT_FIELDS = {"subject": "subject", "body": "body", "subject_or_body": "subject or body"}
_CONDITION_KEYS = (
    "all",
    "any",
    "not",
    "always",
    *_VALUE_FIELDS,
    *_TEXT_FIELDS,
    "language",
    "header",
    "attachment",
    "product",
    "customer",
    "history",
    "branch",
)


class ConditionReader:
    """Compiles `when:` mappings, reporting through `reader`."""

    def __init__(self, reader: NodeReader, customers: Sequence[Customer]) -> None:
        self.reader = reader
        self.tiers = frozenset(customer.tier for customer in customers)
        """The tiers of the listed customers, to warn about a condition on a tier nobody has."""
        self.builders: dict[str, Callable[[str, Node], Condition | None]] = {
            "all": self.when_group,
            "any": self.when_group,
            "not": self.when_not,
            "always": self.when_always,
            "language": self.when_language,
            "header": self.when_header,
            "attachment": self.when_attachment,
            "product": self.when_product,
            "customer": self.when_customer,
            "history": self.when_history,
            "branch": self.when_branch,
        }
        for key in (*_VALUE_FIELDS, *_TEXT_FIELDS):
            self.builders[key] = self.when_field

    # -- conditions --------------------------------------------------------

    def condition(self, node: Node, what: str) -> Condition | None:
        """A condition mapping; several keys in one mapping must all hold."""
        if is_null(node) or (isinstance(node, MappingNode) and not node.value):
            self.reader.error(node, f"{what} is empty; use 'always: true' for a rule that matches every mail")
            return None
        fields = self.reader.mapping(node, what)
        if fields is None:
            return None
        parts: list[Condition | None] = []
        for key, entry in fields.items():
            builder = self.builders.get(key)
            if builder is None:
                hint = suggest(key, _CONDITION_KEYS)
                self.reader.error(entry.key, f"unknown condition '{key}' in {what}{hint}")
                parts.append(None)
                continue
            parts.append(builder(key, entry.value))
        found = [part for part in parts if part is not None]
        if len(found) != len(parts):
            return None
        return found[0] if len(found) == 1 else AllOf(found)

    def when_group(self, key: str, node: Node) -> Condition | None:
        if not isinstance(node, SequenceNode):
            self.reader.error(node, f"{key} must be a list of conditions, not {node_kind(node)}")
            return None
        if not node.value:
            self.reader.error(node, f"{key} is empty; it needs at least one condition")
            return None
        children = [self.condition(item, f"{key} item") for item in node.value]
        valid = [child for child in children if child is not None]
        if len(valid) != len(children):
            return None
        return AllOf(valid) if key == "all" else AnyOf(valid)

    def when_not(self, key: str, node: Node) -> Condition | None:
        child = self.condition(node, key)
        return Not(child) if child is not None else None

    def when_always(self, key: str, node: Node) -> Condition | None:
        value = self.reader.flag(node, key)
        return Always(value) if value is not None else None

    def when_field(self, key: str, node: Node) -> Condition | None:
        label = _VALUE_FIELDS.get(key) or _TEXT_FIELDS[key]
        matcher = self.matcher(node, key, shorthand=key in _VALUE_FIELDS)
        return FieldCondition(key, label, matcher) if matcher is not None else None

    def when_language(self, key: str, node: Node) -> Condition | None:
        values = self.reader.texts(node, key)
        for value, item in values:
            if value.lower() not in LANGUAGES:
                self.reader.error(item, f"language must be 'id' or 'en', not '{value}'")
                return None
        if not values:
            return None
        return FieldCondition(key, key, EqualsMatcher([value for value, _ in values]))

    def when_header(self, key: str, node: Node) -> Condition | None:
        fields = self.reader.record(node, "header", ("name", *_MATCHER_KEYS), ("name",))
        if fields is None or "name" not in fields:
            return None
        name = self.reader.text(fields["name"].value, "header name")
        operators = {k: v for k, v in fields.items() if k != "name"}
        # A header condition with no operator asks only that the header exists.
        matcher = self.operator(operators, node, "header") if operators else PresentMatcher()
        if name is None or matcher is None:
            return None
        return FieldCondition(HEADER_PREFIX + name.lower(), f"header {name}", matcher)

    def when_attachment(self, key: str, node: Node) -> Condition | None:
        fields = self.reader.record(node, "attachment", ("filename", "content_type"))
        if fields is None:
            return None
        if not fields:
            self.reader.error(node, "attachment needs 'filename' or 'content_type'")
            return None
        labels = {"filename": "attachment name", "content_type": "attachment type"}
        parts = [
            (name, labels[name], self.matcher(entry.value, name, shorthand=True))
            for name, entry in fields.items()
            if name in labels
        ]
        if len(parts) != len(fields) or any(matcher is None for _, _, matcher in parts):
            return None
        return AttachmentCondition([(n, label, cast(Matcher, m)) for n, label, m in parts])

    def when_product(self, key: str, node: Node) -> Condition | None:
        found = self.ids_or_known(node, "product")
        return ProductCondition(*found) if found is not None else None

    def when_branch(self, key: str, node: Node) -> Condition | None:
        found = self.ids_or_known(node, "branch")
        return BranchCondition(*found) if found is not None else None

    def ids_or_known(self, node: Node, kind: str) -> tuple[frozenset[str] | None, bool | None] | None:
        """`kind: id`, `kind: [ids]` or `kind: {known: true|false}`."""
        if isinstance(node, MappingNode):
            fields = self.reader.record(node, kind, ("known",), ("known",))
            known = self.reader.flag(fields["known"].value, "known") if fields and "known" in fields else None
            return (None, known) if known is not None else None
        items = node.value if isinstance(node, SequenceNode) else [node]
        ids = [self.reader.reference(item, kind) for item in items]
        if not ids or None in ids:
            if not ids:
                self.reader.error(node, f"{kind} must name at least one {kind}")
            return None
        return frozenset(cast(list[str], ids)), None

    def when_customer(self, key: str, node: Node) -> Condition | None:
        fields = self.reader.record(node, "customer", ("known", "tier"))
        if fields is None:
            return None
        if not fields:
            self.reader.error(node, "customer needs 'known' or 'tier'")
            return None
        known = self.reader.optional(fields, "known", self.reader.flag)
        tier_values = self.reader.optional(fields, "tier", lambda n, w: self.reader.texts(n, w)) or []
        tiers = frozenset(value.lower() for value, _ in tier_values) if tier_values else None
        if known is False and tiers:
            self.reader.error(fields["tier"].key, "tier cannot be combined with known: false")
            return None
        self.warn_unknown_tiers(tier_values)
        if ("known" in fields and known is None) or ("tier" in fields and tiers is None):
            return None
        return CustomerCondition(known, tiers)

    def warn_unknown_tiers(self, tier_values: Sequence[tuple[str, Node]]) -> None:
        for value, item in tier_values:
            if value.lower() not in self.tiers:
                self.reader.warning(item, f"no customer in the customers list has tier '{value}'")

    def when_history(self, key: str, node: Node) -> Condition | None:
        fields = self.reader.record(node, "history", ("at_least", "within_days"), ("at_least", "within_days"))
        if fields is None:
            return None
        at_least = self.reader.optional(fields, "at_least", self.reader.count)
        within_days = self.reader.optional(fields, "within_days", self.reader.count)
        if at_least is None or within_days is None:
            return None
        return HistoryCondition(at_least, within_days)

    # -- operators ---------------------------------------------------------

    def matcher(self, node: Node, what: str, *, shorthand: bool) -> Matcher | None:
        if not isinstance(node, MappingNode):
            if shorthand:
                # A plain value or list is a glob; without wildcards that is a
                # case-insensitive comparison.
                patterns = [pattern for pattern, _ in self.reader.texts(node, what)]
                if not patterns:
                    return None
                if any(_WILDCARD.search(pattern) for pattern in patterns):
                    return GlobMatcher(patterns)
                return EqualsMatcher(patterns)
            self.reader.error(
                node,
                f"{what} needs an operator: words, regex, equals or glob "
                f"(for example '{what}: {{words: [...]}}'), not {node_kind(node)}",
            )
            return None
        fields = self.reader.record(node, what, _MATCHER_KEYS)
        if fields is None:
            return None
        return self.operator(fields, node, what)

    def operator(self, fields: Mapping[str, Entry], node: Node, what: str) -> Matcher | None:
        operators = [key for key in fields if key in _OPERATORS]
        if not operators:
            # An unknown (likely misspelt) key has been reported already.
            if all(key in _MATCHER_KEYS for key in fields):
                self.reader.error(node, f"{what} needs one operator: words, regex, equals or glob")
            return None
        if len(operators) > 1:
            names = ", ".join(operators)
            self.reader.error(
                fields[operators[1]].key,
                f"{what} has several operators ({names}); combine them with all: or any:",
            )
            return None
        operator = operators[0]
        ignore_case = False
        if "ignore_case" in fields:
            ignore_case = bool(self.reader.flag(fields["ignore_case"].value, "ignore_case"))
            if operator != "regex":
                self.reader.error(
                    fields["ignore_case"].key,
                    "ignore_case applies to regex only; words, equals and glob always ignore case",
                )
                return None
        return self.operand(operator, fields[operator].value, what, ignore_case)

    def operand(self, operator: str, node: Node, what: str, ignore_case: bool) -> Matcher | None:
        label = f"{what} {operator}"
        if operator == "words":
            terms = self.reader.words(node, label)
            return WordsMatcher(WordSet(terms)) if terms else None
        if operator == "regex":
            patterns = self.regexes(node, label, ignore_case)
            return RegexMatcher(patterns) if patterns else None
        values = [value for value, _ in self.reader.texts(node, label)]
        if not values:
            return None
        return EqualsMatcher(values) if operator == "equals" else GlobMatcher(values)

    def regexes(self, node: Node, what: str, ignore_case: bool) -> list[RuleRegex]:
        flags = re.IGNORECASE if ignore_case else 0
        compiled: list[RuleRegex] = []
        failed = False
        for pattern, item in self.reader.texts(node, what, strip=False):
            # The re module reports some dubious patterns as warnings
            # (e.g. FutureWarning for nested sets); surface them as ours.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    re.compile(pattern, flags)
                except re.error as exc:
                    self.reader.error(item, f"bad regex '{pattern}': {exc.msg} at position {exc.pos}")
                    failed = True
                    continue
                nested = nested_quantifier(pattern, flags)
                if nested is not None:
                    self.reader.error(item, nested)
                    failed = True
                    continue
                try:
                    compiled.append(RuleRegex(pattern, ignore_case=ignore_case))
                except regex.error as exc:
                    self.reader.error(item, f"bad regex '{pattern}': {exc}")
                    failed = True
            for caught_warning in caught:
                self.reader.warning(item, f"regex '{pattern}': {caught_warning.message}")
        return [] if failed else compiled
