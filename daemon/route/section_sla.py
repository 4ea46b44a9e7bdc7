"""The `sla:` section: response and resolution targets by severity, department and class.

This module owns what the section may say and how each setting is checked:
working times like 2d / 4h / 30m, the settings `false` switches off, the
departments it names, and the SLA classes rules refer to. The built-in targets
stay unless overridden key by key; the resulting `SlaPolicy`, and what a
working time is, belong to `daemon.sla.policy` and `daemon.sla.calendar`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from yaml.nodes import MappingNode, Node, ScalarNode

from daemon.route.reader import BOOL_TAG, FLOAT_TAG, INT_TAG, Entry, NodeReader, is_null, suggest
from daemon.route.rules import SEVERITIES
from daemon.route.section_rules import RuleNodes
from daemon.sla.calendar import WorkingTime
from daemon.sla.policy import Overrides, SlaPolicy

_SLA_KEYS = ("default", "severity", "departments", "classes")
_TARGET_KEYS = ("first_response", "resolution", "update_interval", "reminder_before", "escalation")
_ESCALATION_KEYS = ("second_level_after",)
# Settings that `false` switches off; the two targets themselves always apply.
_SWITCHABLE = ("update_interval", "reminder_before", "second_level_after")

Settings = dict[str, WorkingTime | None]
"""Setting name -> working time, or None for a setting switched off."""
ByDepartment = tuple[dict[str, Overrides], dict[tuple[str, str], Overrides]]
"""Overrides by department, and by (department, severity)."""


def read_sla(reader: NodeReader, entry: Entry | None, rules: RuleNodes) -> SlaPolicy | None:
    """The `sla:` section (the built-in policy when absent); warns of SLA classes rules name but it lacks."""
    policy: SlaPolicy | None = SlaPolicy()
    if entry is not None and not is_null(entry.value):
        policy = _policy(reader, entry.value)
    if policy is not None:
        _warn_undefined_classes(reader, policy, rules)
    return policy


def _policy(reader: NodeReader, node: Node) -> SlaPolicy | None:
    fields = reader.record(node, "sla", _SLA_KEYS)
    if fields is None:
        return None
    before = reader.errors
    default = reader.optional(fields, "default", lambda n, _: _overrides(reader, n, "sla default")) or {}
    severities = reader.optional(fields, "severity", lambda n, _: _by_severity(reader, n, "sla severity"))
    departments = reader.optional(fields, "departments", lambda n, _: _by_department(reader, n)) or ({}, {})
    classes = reader.optional(fields, "classes", lambda n, _: _by_class(reader, n)) or {}
    if reader.errors > before:
        return None
    built_in = SlaPolicy()
    # The built-in severity layer (major: resolution 2d) stays unless overridden key by key.
    merged = {
        severity: {**built_in.severities.get(severity, {}), **(severities or {}).get(severity, {})}
        for severity in SEVERITIES
    }
    return SlaPolicy(
        default=built_in.default.apply(default, "default"),
        severities=MappingProxyType({key: MappingProxyType(value) for key, value in merged.items()}),
        departments=MappingProxyType(departments[0]),
        department_severities=MappingProxyType(departments[1]),
        classes=MappingProxyType(classes),
    )


def _overrides(reader: NodeReader, node: Node, what: str) -> Settings | None:
    fields = reader.record(node, what, _TARGET_KEYS)
    return None if fields is None else _settings(reader, fields, what)


def _settings(reader: NodeReader, fields: Mapping[str, Entry], what: str) -> Settings | None:
    """The settings among `fields`, with `escalation:` flattened; None on any error."""
    before = reader.errors
    found: Settings = {}
    for key, entry in fields.items():
        if key == "escalation":
            escalation = reader.record(entry.value, f"{what} escalation", _ESCALATION_KEYS)
            for inner_key, inner in (escalation or {}).items():
                if inner_key in _ESCALATION_KEYS:
                    found[inner_key] = _span(reader, inner.value, inner_key)
        elif key in _TARGET_KEYS:
            found[key] = _span(reader, entry.value, key)
    return found if reader.errors == before else None


def _span(reader: NodeReader, node: Node, what: str) -> WorkingTime | None:
    """A working time like 2d / 4h / 30m; `false` switches an optional setting off."""
    if isinstance(node, ScalarNode) and node.tag == BOOL_TAG:
        if what in _SWITCHABLE and reader.flag(node, what) is False:
            return None
        switch = ", or false to switch it off" if what in _SWITCHABLE else "; it cannot be switched off"
        reader.error(node, f"{what} must be a working time like 1d or 4h{switch}")
        return None
    if isinstance(node, ScalarNode) and node.tag in (INT_TAG, FLOAT_TAG):
        reader.error(node, f"{what} needs a unit: write {node.value}d (working days) or {node.value}h")
        return None
    text = reader.text(node, what)
    if text is None:
        return None
    try:
        return WorkingTime.parse(text)
    except ValueError as exc:
        reader.error(node, f"{what}: {exc}")
        return None


def _by_severity(reader: NodeReader, node: Node, what: str) -> dict[str, Overrides] | None:
    fields = reader.record(node, what, SEVERITIES)
    if fields is None:
        return None
    # Unknown severities have been reported by `record` already.
    found = {
        key: _overrides(reader, entry.value, f"{what} {key}")
        for key, entry in fields.items()
        if key in SEVERITIES
    }
    valid: dict[str, Overrides] = {
        key: MappingProxyType(value) for key, value in found.items() if value is not None
    }
    return valid if len(valid) == len(found) else None


def _by_department(reader: NodeReader, node: Node) -> ByDepartment | None:
    fields = reader.mapping(node, "sla departments")
    if fields is None:
        return None
    departments: dict[str, Overrides] = {}
    department_severities: dict[tuple[str, str], Overrides] = {}
    failed = False
    for key, entry in fields.items():
        what = f"sla for department {key}"
        department = reader.reference(entry.key, "department")
        settings = reader.record(entry.value, what, (*_TARGET_KEYS, "severity"))
        overrides = _settings(reader, settings, what) if settings is not None else None
        inner = (settings or {}).get("severity")
        severities = _by_severity(reader, inner.value, f"{what} severity") if inner else {}
        if department is None or overrides is None or severities is None:
            failed = True
            continue
        departments[department] = MappingProxyType(overrides)
        for severity, values in severities.items():
            department_severities[(department, severity)] = values
    return None if failed else (departments, department_severities)


def _by_class(reader: NodeReader, node: Node) -> dict[str, Overrides] | None:
    fields = reader.mapping(node, "sla classes")
    if fields is None:
        return None
    found = {key: _overrides(reader, entry.value, f"sla class {key}") for key, entry in fields.items()}
    valid: dict[str, Overrides] = {
        key: MappingProxyType(value) for key, value in found.items() if value is not None
    }
    return valid if len(valid) == len(found) else None


def _warn_undefined_classes(reader: NodeReader, policy: SlaPolicy, rules: RuleNodes) -> None:
    for rule, node in rules:
        if rule.then.sla is None or rule.then.sla in policy.classes:
            continue
        reader.rule = rule.name
        hint = suggest(rule.then.sla, policy.classes)
        reader.warning(
            _find(node, "then", "sla") or node,
            f"SLA class '{rule.then.sla}' is not defined under sla: classes, "
            f"so the default targets apply{hint}",
        )
    reader.rule = None


def _find(node: Node | None, *keys: str) -> Node | None:
    """The value node at a path of mapping keys, if every step is there."""
    for key in keys:
        if not isinstance(node, MappingNode):
            return None
        node = next((value for name, value in node.value if name.value == key), None)
    return node
