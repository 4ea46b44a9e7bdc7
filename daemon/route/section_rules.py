"""The `rules:` section: each rule's name, description, `when:` and `then:`.

This module owns what a rule entry must look like: a unique name that is not
one of the markers decisions use for choices no rule made, the actions a
`then:` may take (and the ids and categories they must name), and the warnings about rules
that can never match. The `when:` itself is read by `ConditionReader`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from yaml.nodes import Node

from daemon.route.decision import RESERVED_NAMES
from daemon.route.reader import Entry, NodeReader, is_null
from daemon.route.rules import Actions, Rule
from daemon.route.section_conditions import ConditionReader
from daemon.route.section_labels import category_reference

_RULE_KEYS = ("name", "description", "when", "then")
_THEN_KEYS = ("department", "product", "category", "severity", "escalate", "tags", "sla", "stop")
_EMPTY_THEN = "then is empty: say what the rule does (department, severity, ...)"

RuleNodes = Sequence[tuple[Rule, Node]]
"""The valid rules, in file order, each with the node it was read from."""


def read_rules(
    reader: NodeReader, entry: Entry | None, conditions: ConditionReader
) -> list[tuple[Rule, Node]]:
    """The valid rules of the `rules:` list, each with its node; problems go to `reader`."""
    found: list[tuple[Rule, Node]] = []
    first_line: dict[str, int] = {}
    for node in reader.items(entry, "rules"):
        rule = _rule(reader, node, first_line, conditions)
        reader.rule = None
        if rule is not None:
            found.append((rule, node))
    warn_unreachable(reader, found)
    return found


def _rule_name(
    reader: NodeReader, node: Node, fields: Mapping[str, Entry], first_line: dict[str, int]
) -> str | None:
    entry = fields.get("name")
    if entry is None:
        return None
    name = reader.text(entry.value, "rule name")
    if name is None:
        return None
    reader.rule = name
    if name in RESERVED_NAMES:
        reader.error(entry.value, f"'{name}' is reserved (it marks decisions no rule made)")
    elif name in first_line:
        reader.error(entry.value, f"duplicate rule name (first at line {first_line[name]})")
    else:
        first_line[name] = node.start_mark.line + 1
    return name


def _rule(
    reader: NodeReader, node: Node, first_line: dict[str, int], conditions: ConditionReader
) -> Rule | None:
    fields = reader.mapping(node, "rule")
    if fields is None:
        return None
    before = reader.errors
    name = _rule_name(reader, node, fields, first_line)
    reader.check_keys(fields, node, "rule", _RULE_KEYS, _RULE_KEYS)
    description = reader.optional(fields, "description", reader.text)
    when = reader.optional(fields, "when", lambda n, _: conditions.condition(n, "when"))
    then = reader.optional(fields, "then", lambda n, _: read_actions(reader, n))
    if reader.errors > before or not (name and description and when and then):
        return None
    return Rule(name, description, when, then, node.start_mark.line + 1)


def read_actions(reader: NodeReader, node: Node) -> Actions | None:
    """A rule's `then:`, which must do something; ids it names must exist."""
    if is_null(node):
        reader.error(node, _EMPTY_THEN)
        return None
    fields = reader.record(node, "then", _THEN_KEYS)
    if fields is None:
        return None
    if not fields:
        reader.error(node, _EMPTY_THEN)
    before = reader.errors
    tags = reader.optional(fields, "tags", lambda n, w: tuple(t for t, _ in reader.texts(n, w)))
    actions = Actions(
        department=reader.optional(fields, "department", lambda n, _: reader.reference(n, "department")),
        product=reader.optional(fields, "product", lambda n, _: reader.reference(n, "product")),
        category=reader.optional(fields, "category", lambda n, _: category_reference(reader, n)),
        severity=reader.optional(fields, "severity", reader.severity),
        escalate=bool(reader.optional(fields, "escalate", reader.flag)),
        tags=tuple(dict.fromkeys(tags or ())),
        sla=reader.optional(fields, "sla", reader.text),
        stop=bool(reader.optional(fields, "stop", reader.flag)),
    )
    return actions if reader.errors == before and fields else None


def warn_unreachable(reader: NodeReader, rules: RuleNodes) -> None:
    """Warn about rules that can never match; they are almost always mistakes."""
    catch_all: Rule | None = None
    for rule, node in rules:
        reader.rule = rule.name
        if catch_all is not None:
            reader.warning(
                node,
                f"can never match: rule '{catch_all.name}' (line {catch_all.line}) "
                "matches every mail and has stop: true",
            )
            continue
        constant = rule.when.constant()
        if constant is False:
            reader.warning(node, "can never match: its condition is always false")
        elif constant is True and rule.then.stop:
            catch_all = rule
    reader.rule = None
