"""Reading rules.yaml's node tree, with every problem tied to its file, line and column.

This module owns the YAML side of the loader. It walks PyYAML's composed node
tree rather than the constructed Python objects, so that every problem can
name where it is; `NodeReader` collects every problem instead of stopping at
the first, so an admin fixes a file in one round. It reads shapes (mappings
with a fixed set of keys, lists) and scalars (text, addresses, flags, counts,
severities, ids and references to them); the `section_*` modules use it to
read each section of the file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal, NamedTuple, TypeVar, cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from daemon.route.rules import SEVERITIES, Categories, Problem, Severity
from daemon.route.words import word_tokens

# The C loader is the same safe loader, only faster; both give node marks.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class Entry(NamedTuple):
    """One key of a mapping node and its value, both with their positions."""

    key: Node
    value: Node


_T = TypeVar("_T")


def is_null(node: Node) -> bool:
    """Whether the node is YAML's null (an empty value, `~` or `null`)."""
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def node_kind(node: Node) -> str:
    """What a node is, for messages: `a mapping`, `a list`, `nothing`, or its value."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == NULL_TAG:
        return "nothing"
    if node.tag in (INT_TAG, FLOAT_TAG, BOOL_TAG):
        return f"{node.value}"
    return f"'{node.value}'"


def suggest(wrong: str, choices: Iterable[str]) -> str:
    """`; did you mean 'x'?` for a near miss, else the valid choices when few."""
    options = list(choices)
    close = difflib.get_close_matches(wrong, options, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    if 0 < len(options) <= 8:
        return "; expected one of: " + ", ".join(options)
    return ""


class NodeReader:
    """One validation pass over one file: reads nodes and collects problems as it goes."""

    def __init__(self, filename: str, own_addresses: Iterable[str] = ()) -> None:
        self.filename = filename
        self.own_addresses = frozenset(_mailbox(address) for address in own_addresses if address)
        """The mailboxes caredesk reads: never a recipient in the rules."""
        self.problems: list[Problem] = []
        self.errors = 0
        self.rule: str | None = None
        """The rule being read, so its problems carry its name."""
        # Ids seen so far -> line, kept even when the record itself was bad, so
        # one broken department does not also make every reference to it fail.
        self.ids: dict[str, dict[str, int]] = {"department": {}, "product": {}, "branch": {}}
        self.categories = Categories()
        """The `categories:` list once read, for the rules' `category:` actions."""

    # -- reporting ---------------------------------------------------------

    def error(self, node: Node, message: str) -> None:
        """An error at the node's position: the file cannot be used."""
        self.errors += 1
        self._report(node, message, "error")

    def warning(self, node: Node, message: str) -> None:
        """A warning at the node's position: the file loads, but the admin should look."""
        self._report(node, message, "warning")

    def _report(self, node: Node, message: str, severity: Literal["error", "warning"]) -> None:
        mark = node.start_mark
        self.problems.append(
            Problem(self.filename, mark.line + 1, mark.column + 1, message, self.rule, severity)
        )

    # -- shapes ------------------------------------------------------------

    def mapping(self, node: Node, what: str) -> dict[str, Entry] | None:
        """The entries of a mapping node by key; duplicates are errors, not overwrites."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping of keys to values, not {node_kind(node)}")
            return None
        entries: dict[str, Entry] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.error(key_node, f"keys in {what} must be plain names")
                continue
            first = entries.get(key_node.value)
            if first is not None:
                line = first.key.start_mark.line + 1
                self.error(key_node, f"duplicate key '{key_node.value}' (first at line {line})")
                continue
            entries[key_node.value] = Entry(key_node, value_node)
        return entries

    def record(
        self, node: Node, what: str, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> dict[str, Entry] | None:
        """A mapping with a fixed set of keys: unknown keys and missing ones are errors."""
        entries = self.mapping(node, what)
        if entries is not None:
            self.check_keys(entries, node, what, allowed, required)
        return entries

    def check_keys(
        self,
        entries: Mapping[str, Entry],
        node: Node,
        what: str,
        allowed: Sequence[str],
        required: Sequence[str],
    ) -> None:
        """Unknown keys (with a "did you mean") and missing required ones are errors."""
        suggested: set[str] = set()
        for key, entry in entries.items():
            if key not in allowed:
                hint = suggest(key, allowed)
                suggested.update(difflib.get_close_matches(key, allowed, n=1, cutoff=0.6))
                self.error(entry.key, f"unknown key '{key}' in {what}{hint}")
        for key in required:
            # A misspelt key already got "did you mean"; saying it is also
            # missing would report one typo twice.
            if key not in entries and key not in suggested:
                self.error(node, f"{what} is missing required key '{key}'")

    def items(self, entry: Entry | None, section: str) -> list[Node]:
        """The items of a list section; an absent or empty section has none."""
        if entry is None:
            return []
        if is_null(entry.value):
            return []
        if not isinstance(entry.value, SequenceNode):
            self.error(entry.value, f"{section} must be a list (items start with '- ')")
            return []
        return list(entry.value.value)

    def optional(
        self, entries: Mapping[str, Entry], key: str, parse: Callable[[Node, str], _T | None]
    ) -> _T | None:
        """`parse` applied to the value under `key`; None when the key is absent."""
        entry = entries.get(key)
        return None if entry is None else parse(entry.value, key)

    # -- scalars -----------------------------------------------------------

    def text(self, node: Node, what: str) -> str | None:
        """Non-empty text, stripped."""
        if isinstance(node, ScalarNode) and node.tag != NULL_TAG:
            if node.value.strip():
                return cast(str, node.value).strip()
            self.error(node, f"{what} must not be empty")
            return None
        self.error(node, f"{what} must be text, not {node_kind(node)}")
        return None

    def email(self, node: Node, what: str) -> str | None:
        """An email address, lower-cased."""
        value = self.text(node, what)
        if value is not None and not _EMAIL.fullmatch(value):
            self.error(node, f"{what} '{value}' is not an email address")
            return None
        if value and _mailbox(value) in self.own_addresses:
            self.error(
                node,
                f"{what} '{value}' is the mailbox caredesk reads: mail sent there comes back in and is "
                "dropped as our own, so nobody would see it; name the address of a person or a team",
            )
            return None
        return value.lower() if value else None

    def flag(self, node: Node, what: str) -> bool | None:
        """A YAML boolean (true/false, yes/no, ...)."""
        if isinstance(node, ScalarNode) and node.tag == BOOL_TAG:
            return bool(yaml.constructor.SafeConstructor.bool_values[node.value.lower()])
        self.error(node, f"{what} must be true or false, not {node_kind(node)}")
        return None

    def count(self, node: Node, what: str) -> int | None:
        """A whole number of at least 1."""
        is_count = isinstance(node, ScalarNode) and node.tag == INT_TAG and node.value.isdigit()
        if is_count and int(node.value) >= 1:
            return int(node.value)
        self.error(node, f"{what} must be a whole number of at least 1, not {node_kind(node)}")
        return None

    def texts(self, node: Node, what: str, *, strip: bool = True) -> list[tuple[str, Node]]:
        """A value or a list of values, each with its node; empty on error."""
        if isinstance(node, MappingNode):
            self.error(node, f"{what} must be a value or a list of values, not a mapping")
            return []
        nodes = node.value if isinstance(node, SequenceNode) else [node]
        if isinstance(node, SequenceNode) and not nodes:
            self.error(node, f"{what} must not be an empty list")
        found: list[tuple[str, Node]] = []
        for item in nodes:
            value = self.text(item, what)
            if value is not None:
                found.append((item.value if not strip else value, item))
        return found if len(found) == len(nodes) else []

    def emails(self, node: Node, what: str) -> tuple[str, ...] | None:
        """One address or a list of them; None if any is not an address."""
        values = [self.email(item, what) for _, item in self.texts(node, what)]
        if not values or None in values:
            return None
        return tuple(cast(list[str], values))

    def words(self, node: Node, what: str) -> tuple[str, ...] | None:
        """Word terms; each must contain at least one letter or digit to be findable."""
        terms = self.texts(node, what)
        for term, item in terms:
            if not word_tokens(term):
                self.error(item, f"{what} '{term}' has no letters or digits to match")
                return None
        return tuple(term for term, _ in terms) or None

    def reference(self, node: Node, kind: str) -> str | None:
        """An id that must name an existing department, product or branch."""
        value = self.text(node, kind)
        known = self.ids[kind]
        if value is not None and value not in known:
            self.error(node, f"unknown {kind} '{value}'{suggest(value, known)}")
            return None
        return value

    def new_id(self, node: Node, kind: str) -> str | None:
        """The id a department, product or branch defines; each id only once per kind."""
        value = self.text(node, f"{kind} id")
        if value is None:
            return None
        seen = self.ids[kind]
        if value in seen:
            self.error(node, f"duplicate {kind} id '{value}' (first at line {seen[value]})")
            return None
        seen[value] = node.start_mark.line + 1
        return value

    def severity(self, node: Node, what: str) -> Severity | None:
        """'major' or 'minor', in any case."""
        value = self.text(node, what)
        if value is None:
            return None
        if value.lower() not in SEVERITIES:
            hint = suggest(value.lower(), SEVERITIES)
            self.error(node, f"{what} must be 'major' or 'minor', not '{value}'{hint}")
            return None
        return cast(Severity, value.lower())

    # -- the file ----------------------------------------------------------

    def error_at(self, line: int, column: int, message: str) -> None:
        """An error about the file as a whole, or a place no node marks."""
        self.errors += 1
        self.problems.append(Problem(self.filename, line, column, message))

    def compose(self, text: str) -> Node | None:
        """The file's root node; None for an empty file or a YAML syntax error (reported)."""
        try:
            return cast(Node | None, yaml.compose(text, Loader=_YAML_LOADER))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            detail = f"{exc.context}: {exc.problem}" if exc.context else f"{exc.problem}"
            line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            self.error_at(line, column, f"YAML syntax: {detail}")
        except yaml.YAMLError as exc:
            self.error_at(0, 0, f"YAML syntax: {exc}")
        return None


def _mailbox(address: str) -> str:
    """`Care+x@Example.co.id` -> `care@example.co.id`: plus-addressed variants reach the same mailbox."""
    local, _, domain = address.strip().lower().partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"
