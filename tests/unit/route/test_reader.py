"""The node reader under the loader: shapes, scalars and where each problem is reported."""

from __future__ import annotations

import yaml
from yaml.nodes import Node

from daemon.route.reader import NodeReader, is_null, node_kind, suggest


def node(text: str) -> Node:
    found = yaml.compose(text, Loader=yaml.SafeLoader)
    assert found is not None
    return found


def messages(reader: NodeReader) -> list[str]:
    return [f"{p.line}:{p.column}: {p.severity}: {p.message}" for p in reader.problems]


def test_node_kind_names_what_a_node_is_for_messages() -> None:
    assert node_kind(node("{a: 1}")) == "a mapping"
    assert node_kind(node("[1, 2]")) == "a list"
    assert node_kind(node("a: ~").value[0][1]) == "nothing"
    assert node_kind(node("42")) == "42"
    assert node_kind(node("yes")) == "yes"
    assert node_kind(node("hello")) == "'hello'"
    assert is_null(node("a: ~").value[0][1])
    assert not is_null(node("a: ''").value[0][1])


def test_suggest_offers_a_near_miss_or_else_the_few_choices() -> None:
    assert suggest("departmnt", ["department", "product"]) == "; did you mean 'department'?"
    assert suggest("zzz", ["major", "minor"]) == "; expected one of: major, minor"
    assert suggest("zzz", [f"key{i}" for i in range(9)]) == ""
    assert suggest("zzz", []) == ""


def test_record_reports_duplicates_unknown_and_missing_keys_at_their_lines() -> None:
    reader = NodeReader("rules.yaml")
    fields = reader.record(
        node("id: a\nnmae: b\nid: c\n"), "department", ("id", "name", "email"), ("name", "email")
    )
    assert fields is not None and set(fields) == {"id", "nmae"}
    assert messages(reader) == [
        "3:1: error: duplicate key 'id' (first at line 1)",
        "2:1: error: unknown key 'nmae' in department; did you mean 'name'?",
        # `name` was misspelt, which has been said; only `email` is reported missing.
        "1:1: error: department is missing required key 'email'",
    ]
    assert reader.errors == 3


def test_scalars_are_checked_and_problems_carry_the_rule_being_read() -> None:
    reader = NodeReader("rules.yaml")
    reader.rule = "vip"
    assert reader.email(node("Care@Example.co.id"), "email") == "care@example.co.id"
    assert reader.email(node("nobody"), "email") is None
    assert reader.flag(node("maybe"), "stop") is None
    assert reader.count(node("0"), "at_least") is None
    assert reader.severity(node("MAJOR"), "severity") == "major"
    assert reader.severity(node("majr"), "severity") is None
    assert [p.rule for p in reader.problems] == ["vip"] * 4
    assert messages(reader) == [
        "1:1: error: email 'nobody' is not an email address",
        "1:1: error: stop must be true or false, not 'maybe'",
        "1:1: error: at_least must be a whole number of at least 1, not 0",
        "1:1: error: severity must be 'major' or 'minor', not 'majr'; did you mean 'major'?",
    ]


def test_ids_are_defined_once_and_references_must_name_one() -> None:
    reader = NodeReader("rules.yaml")
    assert reader.new_id(node("care"), "department") == "care"
    assert reader.new_id(node("\ncare"), "department") is None
    assert reader.reference(node("care"), "department") == "care"
    assert reader.reference(node("cares"), "department") is None
    assert messages(reader) == [
        "2:1: error: duplicate department id 'care' (first at line 1)",
        "1:1: error: unknown department 'cares'; did you mean 'care'?",
    ]


def test_compose_reports_yaml_syntax_errors_with_their_position() -> None:
    reader = NodeReader("rules.yaml")
    assert reader.compose("a: [1, 2\n") is None
    [problem] = reader.problems
    assert problem.message.startswith("YAML syntax: ")
    assert (problem.line, problem.severity, reader.errors) == (2, "error", 1)
    assert reader.compose("") is None and reader.errors == 1
