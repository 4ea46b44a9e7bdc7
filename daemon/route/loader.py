"""Loading and validating rules.yaml, the routing-rules language: the entry points.

`load_rules`, `parse_rules` and `check_rules` turn a file (or its text) into a
frozen `Rules` value, or into the list of every problem in it, each with its
file, line and column, so an admin fixes a file in one round. This module owns
the file as a whole: its top-level keys, which are required, and the order the
sections are read in (later sections refer to ids the earlier ones define).
Each section is read by its own `section_*` module through one `NodeReader`.

A valid file's conditions are compiled once (word lists split into words,
regexes compiled, globs translated): routing a mail parses nothing.
docs/rules.md describes the language.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from daemon.route.reader import NodeReader
from daemon.route.rules import Problem, ReportsConfig, Rules, RulesError
from daemon.route.section_calendar import read_calendar
from daemon.route.section_conditions import ConditionReader
from daemon.route.section_labels import read_categories, read_organisations
from daemon.route.section_records import (
    read_branches,
    read_customers,
    read_default,
    read_departments,
    read_products,
    read_reports,
)
from daemon.route.section_retired import read_retired
from daemon.route.section_rules import read_rules
from daemon.route.section_sla import read_sla

_TOP_KEYS = (
    "departments",
    "retired_departments",
    "products",
    "branches",
    "customers",
    "organisations",
    "categories",
    "default",
    "rules",
    "calendar",
    "sla",
    "reports",
)
_REQUIRED_KEYS = ("departments", "default", "rules")
_EMPTY = "the rules file is empty; it needs departments, default and rules"


def load_rules(path: Path) -> Rules:
    """Read and validate a rules file; RulesError lists every problem found."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problem = Problem(str(path), 0, 0, f"cannot read the rules file: {reason}")
        raise RulesError([problem]) from exc
    return parse_rules(text, str(path))


def parse_rules(text: str, filename: str) -> Rules:
    """Validate rules text; warnings are kept on `Rules.warnings`, errors raise RulesError."""
    rules, problems = check_rules(text, filename)
    if rules is None:
        raise RulesError(problems)
    return rules


def check_rules(
    text: str, filename: str, own_addresses: Iterable[str] = ()
) -> tuple[Rules | None, list[Problem]]:
    """Every problem in the text, in file order; the Rules only when there is no error.

    `own_addresses` are the mailboxes caredesk reads: no address in the rules may be
    one of them, since mail sent there comes back in and is dropped as our own.
    """
    reader = NodeReader(filename, own_addresses)
    rules = _read(reader, text)
    problems = sorted(reader.problems, key=lambda p: (p.line, p.column))
    if reader.errors:
        return None, problems
    return rules, problems


def _read(reader: NodeReader, text: str) -> Rules | None:
    """The whole file, section by section; None when anything is wrong (all of it reported)."""
    root = reader.compose(text)
    if root is None:
        if not reader.errors:
            reader.error_at(1, 1, _EMPTY)
        return None
    top = reader.record(root, "the rules file", _TOP_KEYS, _REQUIRED_KEYS)
    if top is None:
        return None
    departments = read_departments(reader, top.get("departments"))
    retired = read_retired(reader, top.get("retired_departments"), top.get("departments"))
    products = read_products(reader, top.get("products"))
    branches = read_branches(reader, top.get("branches"))
    customers = read_customers(reader, top.get("customers"))
    organisations = read_organisations(reader, top.get("organisations"))
    categories = read_categories(reader, top.get("categories"))
    default = read_default(reader, top.get("default"))
    rule_nodes = read_rules(reader, top.get("rules"), ConditionReader(reader, customers))
    calendar_config = read_calendar(reader, top.get("calendar"))
    sla_config = read_sla(reader, top.get("sla"), rule_nodes)
    reports_config = read_reports(reader, top.get("reports"))
    if reader.errors or default is None or calendar_config is None or sla_config is None or retired is None:
        return None
    return Rules(
        departments=departments,
        products=products,
        branches=branches,
        customers=tuple(customers),
        rules=tuple(rule for rule, _ in rule_nodes),
        default_department=default[0],
        default_severity=default[1],
        version=hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
        source=reader.filename,
        warnings=tuple(p for p in reader.problems if p.severity == "warning"),
        calendar_config=calendar_config,
        sla_config=sla_config,
        reports_config=reports_config or ReportsConfig(),
        categories=categories,
        organisations=tuple(organisations),
        retired=retired,
    )
