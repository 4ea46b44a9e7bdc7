"""Loading and validating rules.yaml, the routing-rules language.

This module owns the file format. It walks PyYAML's composed node tree rather
than the constructed Python objects, so that every problem can name the file,
line and column it is about; it collects every problem instead of stopping at
the first, so an admin fixes a file in one round. A valid file becomes a
frozen `Rules` value whose conditions are compiled once (word lists split into
words, regexes compiled, globs translated): routing a mail parses nothing.

What a compiled condition means for a mail, and how the actions of several
matching rules combine, is `daemon.route.router`'s job; docs/rules.md describes both.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from types import MappingProxyType
from typing import Literal, NamedTuple, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from daemon.route.router import (
    HEADER_PREFIX,
    RESERVED_NAMES,
    AllOf,
    Always,
    AnyOf,
    AttachmentCondition,
    BranchCondition,
    Condition,
    CustomerCondition,
    EqualsMatcher,
    FieldCondition,
    GlobMatcher,
    HistoryCondition,
    Matcher,
    Not,
    PresentMatcher,
    ProductCondition,
    RegexMatcher,
    RuleIndex,
    WordSet,
    WordsMatcher,
    build_index,
    word_tokens,
)
from daemon.sla.calendar import DEFAULT_HOURS, DEFAULT_TIMEZONE, CalendarConfig, WorkCalendar, WorkingTime
from daemon.sla.policy import Overrides, SlaPolicy

Severity = Literal["major", "minor"]
SEVERITIES: tuple[Severity, ...] = ("major", "minor")
LANGUAGES = ("id", "en")

# The C loader is the same safe loader, only faster; both give node marks.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_WILDCARD = re.compile(r"[*?\[]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or suspicious) in a rules file; lines and columns are 1-based."""

    file: str
    line: int
    column: int
    message: str
    rule: str | None = None
    severity: Literal["error", "warning"] = "error"


def format_problem(problem: Problem) -> str:
    """`file:line:column: error|warning: [rule NAME:] message`, like a compiler."""
    where = problem.file
    if problem.line:
        where += f":{problem.line}:{problem.column}"
    rule = f"rule {problem.rule}: " if problem.rule else ""
    return f"{where}: {problem.severity}: {rule}{problem.message}"


class RulesError(Exception):
    """A rules file that cannot be used; `.problems` holds errors and warnings."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        errors = [format_problem(p) for p in self.problems if p.severity == "error"]
        super().__init__("\n".join(errors) or "invalid rules")


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    name: str
    email: str
    members: tuple[str, ...] = ()
    """Addresses allowed to update this department's tickets by replying."""
    manager: str | None = None
    general_manager: str | None = None


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    department: str
    aliases: tuple[str, ...] = ()
    """Names of the product; any of them in a mail names the product outright."""
    keywords: tuple[str, ...] = ()
    """Words that hint at the product; used when no alias of any product appears."""


@dataclass(frozen=True, slots=True)
class Branch:
    id: str
    name: str
    province: str | None = None
    emails: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Customer:
    """A known customer, by exact address or by mail domain (subdomains included)."""

    name: str
    tier: str = "regular"
    email: str | None = None
    domain: str | None = None


@dataclass(frozen=True, slots=True)
class Actions:
    """A rule's `then:`; None / False / () mean the rule leaves that part alone."""

    department: str | None = None
    product: str | None = None
    severity: Severity | None = None
    escalate: bool = False
    tags: tuple[str, ...] = ()
    sla: str | None = None
    stop: bool = False


@dataclass(frozen=True, slots=True)
class ReportsConfig:
    """The `reports:` section: when the monthly report and the reminder before it go out."""

    day: int = 5
    """The day of the month the previous month's report is mailed (DOMAIN.md §8: by the 5th)."""
    reminder_day: int = 1
    """The day departments are reminded to record the results of the complaints they resolved."""
    address: str | None = None
    """Customer Care's address for the full report; None: the `default:` department's email."""
    general_managers: bool = True
    """Mail each general manager the part of the report about their own departments."""


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    description: str
    when: Condition
    then: Actions
    line: int = 0


def _frozen(mapping: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Rules:
    """A loaded, validated rules file, ready for `daemon.route.router.route`."""

    departments: Mapping[str, Department]
    products: Mapping[str, Product]
    branches: Mapping[str, Branch]
    customers: tuple[Customer, ...]
    rules: tuple[Rule, ...]
    default_department: str
    default_severity: Severity
    version: str
    """First 12 hex digits of the SHA-256 of the file text; stored on tickets."""
    source: str
    warnings: tuple[Problem, ...] = ()
    calendar_config: CalendarConfig = field(default_factory=CalendarConfig)
    """The `calendar:` section; `calendar_config.build(config.timezone)` makes the calendar."""
    sla_config: SlaPolicy = field(default_factory=SlaPolicy)
    """The `sla:` section: targets by severity, department and SLA class."""
    reports_config: ReportsConfig = field(default_factory=ReportsConfig)
    """The `reports:` section: the monthly report's day and recipients."""
    # Lookup tables derived from the fields above, built once here so that
    # routing never scans a list.
    product_words: tuple[tuple[str, WordSet, WordSet], ...] = field(init=False, repr=False, compare=False)
    _customer_by_email: Mapping[str, Customer] = field(init=False, repr=False, compare=False)
    _customer_by_domain: Mapping[str, Customer] = field(init=False, repr=False, compare=False)
    _branch_by_email: Mapping[str, Branch] = field(init=False, repr=False, compare=False)
    index: RuleIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("departments", "products", "branches"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        words = tuple(
            (product.id, WordSet(product.aliases), WordSet(product.keywords))
            for product in self.products.values()
        )
        object.__setattr__(self, "product_words", words)
        by_email = {c.email.lower(): c for c in reversed(self.customers) if c.email}
        by_domain = {c.domain.lower(): c for c in reversed(self.customers) if c.domain}
        branch_by_email = {
            address.lower(): branch
            for branch in reversed(tuple(self.branches.values()))
            for address in branch.emails
        }
        object.__setattr__(self, "_customer_by_email", by_email)
        object.__setattr__(self, "_customer_by_domain", by_domain)
        object.__setattr__(self, "_branch_by_email", branch_by_email)
        object.__setattr__(self, "index", build_index(self.rules))

    def department(self, department_id: str) -> Department:
        """The department with this id; KeyError when there is none."""
        return self.departments[department_id]

    def product(self, product_id: str) -> Product:
        return self.products[product_id]

    def customer_for(self, address: str) -> Customer | None:
        """The customer an address belongs to: exact address first, then its domain."""
        address = address.strip().lower()
        if not address:
            return None
        found = self._customer_by_email.get(address)
        domain = address.rpartition("@")[2]
        # `budi@mail.example.co.id` belongs to a customer listed as `example.co.id`.
        while found is None and domain:
            found = self._customer_by_domain.get(domain)
            domain = domain.partition(".")[2]
        return found

    def branch_for(self, address: str) -> Branch | None:
        return self._branch_by_email.get(address.strip().lower())

    def departments_of_member(self, address: str) -> tuple[str, ...]:
        """Ids of the departments whose members (or managers) include `address`."""
        address = address.strip().lower()
        return tuple(
            department.id
            for department in self.departments.values()
            if address in department.members
            or address in (department.email, department.manager, department.general_manager)
        )


# ---------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------


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


def check_rules(text: str, filename: str) -> tuple[Rules | None, list[Problem]]:
    """Every problem in the text, in file order; the Rules only when there is no error."""
    loader = _Loader(filename)
    rules = loader.load(text)
    problems = sorted(loader.problems, key=lambda p: (p.line, p.column))
    if loader.errors:
        return None, problems
    return rules, problems


# ---------------------------------------------------------------------------
# Node helpers
# ---------------------------------------------------------------------------


class _Entry(NamedTuple):
    key: Node
    value: Node


_T = TypeVar("_T")


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == _NULL:
        return "nothing"
    if node.tag in (_INT, _FLOAT, _BOOL):
        return f"{node.value}"
    return f"'{node.value}'"


def _suggest(wrong: str, choices: Iterable[str]) -> str:
    """`; did you mean 'x'?` for a near miss, else the valid choices when few."""
    options = list(choices)
    close = difflib.get_close_matches(wrong, options, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    if 0 < len(options) <= 8:
        return "; expected one of: " + ", ".join(options)
    return ""


_TOP_KEYS = (
    "departments",
    "products",
    "branches",
    "customers",
    "default",
    "rules",
    "calendar",
    "sla",
    "reports",
)
_DEPARTMENT_KEYS = ("id", "name", "email", "members", "manager", "general_manager")
_PRODUCT_KEYS = ("id", "name", "department", "aliases", "keywords")
_BRANCH_KEYS = ("id", "name", "province", "emails")
_CUSTOMER_KEYS = ("email", "domain", "name", "tier")
_DEFAULT_KEYS = ("department", "severity")
_REPORTS_KEYS = ("day", "reminder_day", "address", "general_managers")
_RULE_KEYS = ("name", "description", "when", "then")
_THEN_KEYS = ("department", "product", "severity", "escalate", "tags", "sla", "stop")
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


class _Loader:
    """One validation pass over one file; collects problems as it goes."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []
        self.errors = 0
        self.rule: str | None = None
        """The rule being read, so its problems carry its name."""
        # Ids seen so far -> line, kept even when the record itself was bad, so
        # one broken department does not also make every reference to it fail.
        self.ids: dict[str, dict[str, int]] = {"department": {}, "product": {}, "branch": {}}
        self.departments: dict[str, Department] = {}
        self.products: dict[str, Product] = {}
        self.branches: dict[str, Branch] = {}
        self.customers: list[Customer] = []
        self.rule_nodes: list[tuple[Rule, Node]] = []
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

    # -- reporting ---------------------------------------------------------

    def error(self, node: Node, message: str) -> None:
        self.errors += 1
        self._report(node, message, "error")

    def warning(self, node: Node, message: str) -> None:
        self._report(node, message, "warning")

    def _report(self, node: Node, message: str, severity: Literal["error", "warning"]) -> None:
        mark = node.start_mark
        self.problems.append(
            Problem(self.filename, mark.line + 1, mark.column + 1, message, self.rule, severity)
        )

    # -- shapes ------------------------------------------------------------

    def mapping(self, node: Node, what: str) -> dict[str, _Entry] | None:
        """The entries of a mapping node by key; duplicates are errors, not overwrites."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping of keys to values, not {_kind(node)}")
            return None
        entries: dict[str, _Entry] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.error(key_node, f"keys in {what} must be plain names")
                continue
            first = entries.get(key_node.value)
            if first is not None:
                line = first.key.start_mark.line + 1
                self.error(key_node, f"duplicate key '{key_node.value}' (first at line {line})")
                continue
            entries[key_node.value] = _Entry(key_node, value_node)
        return entries

    def record(
        self, node: Node, what: str, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> dict[str, _Entry] | None:
        """A mapping with a fixed set of keys: unknown keys and missing ones are errors."""
        entries = self.mapping(node, what)
        if entries is not None:
            self.check_keys(entries, node, what, allowed, required)
        return entries

    def check_keys(
        self,
        entries: Mapping[str, _Entry],
        node: Node,
        what: str,
        allowed: Sequence[str],
        required: Sequence[str],
    ) -> None:
        suggested: set[str] = set()
        for key, entry in entries.items():
            if key not in allowed:
                hint = _suggest(key, allowed)
                suggested.update(difflib.get_close_matches(key, allowed, n=1, cutoff=0.6))
                self.error(entry.key, f"unknown key '{key}' in {what}{hint}")
        for key in required:
            # A misspelt key already got "did you mean"; saying it is also
            # missing would report one typo twice.
            if key not in entries and key not in suggested:
                self.error(node, f"{what} is missing required key '{key}'")

    def items(self, entry: _Entry | None, section: str) -> list[Node]:
        if entry is None:
            return []
        if _is_null(entry.value):
            return []
        if not isinstance(entry.value, SequenceNode):
            self.error(entry.value, f"{section} must be a list (items start with '- ')")
            return []
        return list(entry.value.value)

    def optional(
        self, entries: Mapping[str, _Entry], key: str, parse: Callable[[Node, str], _T | None]
    ) -> _T | None:
        entry = entries.get(key)
        return None if entry is None else parse(entry.value, key)

    # -- scalars -----------------------------------------------------------

    def text(self, node: Node, what: str) -> str | None:
        if isinstance(node, ScalarNode) and node.tag != _NULL:
            if node.value.strip():
                return cast(str, node.value).strip()
            self.error(node, f"{what} must not be empty")
            return None
        self.error(node, f"{what} must be text, not {_kind(node)}")
        return None

    def email(self, node: Node, what: str) -> str | None:
        value = self.text(node, what)
        if value is not None and not _EMAIL.fullmatch(value):
            self.error(node, f"{what} '{value}' is not an email address")
            return None
        return value.lower() if value else None

    def flag(self, node: Node, what: str) -> bool | None:
        if isinstance(node, ScalarNode) and node.tag == _BOOL:
            return bool(yaml.constructor.SafeConstructor.bool_values[node.value.lower()])
        self.error(node, f"{what} must be true or false, not {_kind(node)}")
        return None

    def count(self, node: Node, what: str) -> int | None:
        is_count = isinstance(node, ScalarNode) and node.tag == _INT and node.value.isdigit()
        if is_count and int(node.value) >= 1:
            return int(node.value)
        self.error(node, f"{what} must be a whole number of at least 1, not {_kind(node)}")
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
            self.error(node, f"unknown {kind} '{value}'{_suggest(value, known)}")
            return None
        return value

    def new_id(self, node: Node, kind: str) -> str | None:
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
        value = self.text(node, what)
        if value is None:
            return None
        if value.lower() not in SEVERITIES:
            hint = _suggest(value.lower(), SEVERITIES)
            self.error(node, f"{what} must be 'major' or 'minor', not '{value}'{hint}")
            return None
        return cast(Severity, value.lower())

    # -- the file ----------------------------------------------------------

    def compose(self, text: str) -> Node | None:
        try:
            return cast(Node | None, yaml.compose(text, Loader=_YAML_LOADER))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            detail = f"{exc.context}: {exc.problem}" if exc.context else f"{exc.problem}"
            line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            self.errors += 1
            self.problems.append(Problem(self.filename, line, column, f"YAML syntax: {detail}"))
        except yaml.YAMLError as exc:
            self.errors += 1
            self.problems.append(Problem(self.filename, 0, 0, f"YAML syntax: {exc}"))
        return None

    def load(self, text: str) -> Rules | None:
        root = self.compose(text)
        if root is None:
            if not self.errors:
                self.errors += 1
                message = "the rules file is empty; it needs departments, default and rules"
                self.problems.append(Problem(self.filename, 1, 1, message))
            return None
        top = self.record(root, "the rules file", _TOP_KEYS, ("departments", "default", "rules"))
        if top is None:
            return None
        self.load_departments(top.get("departments"))
        for node in self.items(top.get("products"), "products"):
            self.load_product(node)
        for node in self.items(top.get("branches"), "branches"):
            self.load_branch(node)
        for node in self.items(top.get("customers"), "customers"):
            self.load_customer(node)
        default = self.load_default(top.get("default"))
        rules = self.load_rule_list(top.get("rules"))
        service_levels = _ServiceLevels(self)
        calendar_config = service_levels.calendar(top.get("calendar"))
        sla_config = service_levels.sla(top.get("sla"), self.rule_nodes)
        reports_config = self.load_reports(top.get("reports"))
        if self.errors or default is None or calendar_config is None or sla_config is None:
            return None
        return Rules(
            departments=self.departments,
            products=self.products,
            branches=self.branches,
            customers=tuple(self.customers),
            rules=tuple(rules),
            default_department=default[0],
            default_severity=default[1],
            version=hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
            source=self.filename,
            warnings=tuple(p for p in self.problems if p.severity == "warning"),
            calendar_config=calendar_config,
            sla_config=sla_config,
            reports_config=reports_config or ReportsConfig(),
        )

    def load_departments(self, entry: _Entry | None) -> None:
        if entry is None:
            return
        nodes = self.items(entry, "departments")
        if not nodes and isinstance(entry.value, SequenceNode | ScalarNode):
            self.error(entry.value, "departments must list at least one department")
        for node in nodes:
            self.load_department(node)

    def load_department(self, node: Node) -> None:
        fields = self.record(node, "department", _DEPARTMENT_KEYS, ("id", "name", "email"))
        if fields is None:
            return
        before = self.errors
        department_id = self.optional(fields, "id", lambda n, _: self.new_id(n, "department"))
        name = self.optional(fields, "name", self.text)
        email = self.optional(fields, "email", self.email)
        members = self.optional(fields, "members", self.emails) or ()
        manager = self.optional(fields, "manager", self.email)
        general_manager = self.optional(fields, "general_manager", self.email)
        if self.errors == before and department_id and name and email:
            self.departments[department_id] = Department(
                department_id, name, email, members, manager, general_manager
            )

    def load_product(self, node: Node) -> None:
        fields = self.record(node, "product", _PRODUCT_KEYS, ("id", "name", "department"))
        if fields is None:
            return
        before = self.errors
        product_id = self.optional(fields, "id", lambda n, _: self.new_id(n, "product"))
        name = self.optional(fields, "name", self.text)
        department = self.optional(fields, "department", lambda n, _: self.reference(n, "department"))
        aliases = self.optional(fields, "aliases", self.words) or ()
        keywords = self.optional(fields, "keywords", self.words) or ()
        if self.errors == before and product_id and name and department:
            self.products[product_id] = Product(product_id, name, department, aliases, keywords)

    def load_branch(self, node: Node) -> None:
        fields = self.record(node, "branch", _BRANCH_KEYS, ("id", "name", "emails"))
        if fields is None:
            return
        before = self.errors
        branch_id = self.optional(fields, "id", lambda n, _: self.new_id(n, "branch"))
        name = self.optional(fields, "name", self.text)
        province = self.optional(fields, "province", self.text)
        emails = self.optional(fields, "emails", self.emails)
        if self.errors == before and branch_id and name and emails:
            self.branches[branch_id] = Branch(branch_id, name, province, emails)

    def load_customer(self, node: Node) -> None:
        fields = self.record(node, "customer", _CUSTOMER_KEYS, ("name",))
        if fields is None:
            return
        before = self.errors
        email = self.optional(fields, "email", self.email)
        domain = self.optional(fields, "domain", self.text)
        if ("email" in fields) == ("domain" in fields):
            self.error(node, "a customer needs exactly one of 'email' or 'domain'")
        name = self.optional(fields, "name", self.text)
        tier = (self.optional(fields, "tier", self.text) or "regular").lower()
        if domain is not None:
            domain = domain.lower().lstrip("@")
        self.check_customer_unique(node, email or domain)
        if self.errors == before and name:
            self.customers.append(Customer(name, tier, email, domain))

    def check_customer_unique(self, node: Node, key: str | None) -> None:
        if key is None:
            return
        for customer in self.customers:
            if key in (customer.email, customer.domain):
                self.error(node, f"customer '{key}' is listed twice")

    def load_default(self, entry: _Entry | None) -> tuple[str, Severity] | None:
        if entry is None:
            return None
        fields = self.record(entry.value, "default", _DEFAULT_KEYS, ("department",))
        if fields is None:
            return None
        department = self.optional(fields, "department", lambda n, _: self.reference(n, "department"))
        severity: Severity = self.optional(fields, "severity", self.severity) or "minor"
        return (department, severity) if department else None

    def load_reports(self, entry: _Entry | None) -> ReportsConfig | None:
        if entry is None or _is_null(entry.value):
            return ReportsConfig()
        fields = self.record(entry.value, "reports", _REPORTS_KEYS)
        if fields is None:
            return None
        before = self.errors
        defaults = ReportsConfig()
        day = self.optional(fields, "day", self.day_of_month) or defaults.day
        reminder_day = self.optional(fields, "reminder_day", self.day_of_month) or defaults.reminder_day
        address = self.optional(fields, "address", self.email)
        general_managers = self.optional(fields, "general_managers", self.flag)
        if self.errors == before and reminder_day >= day:
            where = fields["reminder_day"].value if "reminder_day" in fields else fields["day"].value
            self.error(where, f"reminder_day ({reminder_day}) must come before the report's day ({day})")
        if self.errors > before:
            return None
        return ReportsConfig(day, reminder_day, address, general_managers is not False)

    def day_of_month(self, node: Node, what: str) -> int | None:
        # Up to the 28th, so that every month has the day.
        value = self.count(node, what)
        if value is not None and value > 28:
            self.error(node, f"{what} must be a day of the month from 1 to 28, not {value}")
            return None
        return value

    # -- rules -------------------------------------------------------------

    def load_rule_list(self, entry: _Entry | None) -> list[Rule]:
        rules: list[Rule] = []
        first_line: dict[str, int] = {}
        for node in self.items(entry, "rules"):
            rule = self.load_rule(node, first_line)
            self.rule = None
            if rule is not None:
                rules.append(rule)
                self.rule_nodes.append((rule, node))
        self.warn_unreachable()
        return rules

    def rule_name(self, node: Node, fields: Mapping[str, _Entry], first_line: dict[str, int]) -> str | None:
        entry = fields.get("name")
        if entry is None:
            return None
        name = self.text(entry.value, "rule name")
        if name is None:
            return None
        self.rule = name
        if name in RESERVED_NAMES:
            self.error(entry.value, f"'{name}' is reserved (it marks decisions no rule made)")
        elif name in first_line:
            self.error(entry.value, f"duplicate rule name (first at line {first_line[name]})")
        else:
            first_line[name] = node.start_mark.line + 1
        return name

    def load_rule(self, node: Node, first_line: dict[str, int]) -> Rule | None:
        fields = self.mapping(node, "rule")
        if fields is None:
            return None
        before = self.errors
        name = self.rule_name(node, fields, first_line)
        self.check_keys(fields, node, "rule", _RULE_KEYS, _RULE_KEYS)
        description = self.optional(fields, "description", self.text)
        when = self.optional(fields, "when", lambda n, _: self.condition(n, "when"))
        then = self.optional(fields, "then", lambda n, _: self.actions(n))
        if self.errors > before or not (name and description and when and then):
            return None
        return Rule(name, description, when, then, node.start_mark.line + 1)

    def actions(self, node: Node) -> Actions | None:
        if _is_null(node):
            self.error(node, "then is empty: say what the rule does (department, severity, ...)")
            return None
        fields = self.record(node, "then", _THEN_KEYS)
        if fields is None:
            return None
        if not fields:
            self.error(node, "then is empty: say what the rule does (department, severity, ...)")
        before = self.errors
        tags = self.optional(fields, "tags", lambda n, w: tuple(t for t, _ in self.texts(n, w)))
        actions = Actions(
            department=self.optional(fields, "department", lambda n, _: self.reference(n, "department")),
            product=self.optional(fields, "product", lambda n, _: self.reference(n, "product")),
            severity=self.optional(fields, "severity", self.severity),
            escalate=bool(self.optional(fields, "escalate", self.flag)),
            tags=tuple(dict.fromkeys(tags or ())),
            sla=self.optional(fields, "sla", self.text),
            stop=bool(self.optional(fields, "stop", self.flag)),
        )
        return actions if self.errors == before and fields else None

    def warn_unreachable(self) -> None:
        """Warn about rules that can never match; they are almost always mistakes."""
        catch_all: Rule | None = None
        for rule, node in self.rule_nodes:
            self.rule = rule.name
            if catch_all is not None:
                self.warning(
                    node,
                    f"can never match: rule '{catch_all.name}' (line {catch_all.line}) "
                    "matches every mail and has stop: true",
                )
                continue
            constant = rule.when.constant()
            if constant is False:
                self.warning(node, "can never match: its condition is always false")
            elif constant is True and rule.then.stop:
                catch_all = rule
        self.rule = None

    # -- conditions --------------------------------------------------------

    def condition(self, node: Node, what: str) -> Condition | None:
        """A condition mapping; several keys in one mapping must all hold."""
        if _is_null(node) or (isinstance(node, MappingNode) and not node.value):
            self.error(node, f"{what} is empty; use 'always: true' for a rule that matches every mail")
            return None
        fields = self.mapping(node, what)
        if fields is None:
            return None
        parts: list[Condition | None] = []
        for key, entry in fields.items():
            builder = self.builders.get(key)
            if builder is None:
                hint = _suggest(key, _CONDITION_KEYS)
                self.error(entry.key, f"unknown condition '{key}' in {what}{hint}")
                parts.append(None)
                continue
            parts.append(builder(key, entry.value))
        found = [part for part in parts if part is not None]
        if len(found) != len(parts):
            return None
        return found[0] if len(found) == 1 else AllOf(found)

    def when_group(self, key: str, node: Node) -> Condition | None:
        if not isinstance(node, SequenceNode):
            self.error(node, f"{key} must be a list of conditions, not {_kind(node)}")
            return None
        if not node.value:
            self.error(node, f"{key} is empty; it needs at least one condition")
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
        value = self.flag(node, key)
        return Always(value) if value is not None else None

    def when_field(self, key: str, node: Node) -> Condition | None:
        label = _VALUE_FIELDS.get(key) or _TEXT_FIELDS[key]
        matcher = self.matcher(node, key, shorthand=key in _VALUE_FIELDS)
        return FieldCondition(key, label, matcher) if matcher is not None else None

    def when_language(self, key: str, node: Node) -> Condition | None:
        values = self.texts(node, key)
        for value, item in values:
            if value.lower() not in LANGUAGES:
                self.error(item, f"language must be 'id' or 'en', not '{value}'")
                return None
        if not values:
            return None
        return FieldCondition(key, key, EqualsMatcher([value for value, _ in values]))

    def when_header(self, key: str, node: Node) -> Condition | None:
        fields = self.record(node, "header", ("name", *_MATCHER_KEYS), ("name",))
        if fields is None or "name" not in fields:
            return None
        name = self.text(fields["name"].value, "header name")
        operators = {k: v for k, v in fields.items() if k != "name"}
        # A header condition with no operator asks only that the header exists.
        matcher = self.operator(operators, node, "header") if operators else PresentMatcher()
        if name is None or matcher is None:
            return None
        return FieldCondition(HEADER_PREFIX + name.lower(), f"header {name}", matcher)

    def when_attachment(self, key: str, node: Node) -> Condition | None:
        fields = self.record(node, "attachment", ("filename", "content_type"))
        if fields is None:
            return None
        if not fields:
            self.error(node, "attachment needs 'filename' or 'content_type'")
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
            fields = self.record(node, kind, ("known",), ("known",))
            known = self.flag(fields["known"].value, "known") if fields and "known" in fields else None
            return (None, known) if known is not None else None
        items = node.value if isinstance(node, SequenceNode) else [node]
        ids = [self.reference(item, kind) for item in items]
        if not ids or None in ids:
            if not ids:
                self.error(node, f"{kind} must name at least one {kind}")
            return None
        return frozenset(cast(list[str], ids)), None

    def when_customer(self, key: str, node: Node) -> Condition | None:
        fields = self.record(node, "customer", ("known", "tier"))
        if fields is None:
            return None
        if not fields:
            self.error(node, "customer needs 'known' or 'tier'")
            return None
        known = self.optional(fields, "known", self.flag)
        tier_values = self.optional(fields, "tier", lambda n, w: self.texts(n, w)) or []
        tiers = frozenset(value.lower() for value, _ in tier_values) if tier_values else None
        if known is False and tiers:
            self.error(fields["tier"].key, "tier cannot be combined with known: false")
            return None
        self.warn_unknown_tiers(tier_values)
        if ("known" in fields and known is None) or ("tier" in fields and tiers is None):
            return None
        return CustomerCondition(known, tiers)

    def warn_unknown_tiers(self, tier_values: Sequence[tuple[str, Node]]) -> None:
        listed = {customer.tier for customer in self.customers}
        for value, item in tier_values:
            if value.lower() not in listed:
                self.warning(item, f"no customer in the customers list has tier '{value}'")

    def when_history(self, key: str, node: Node) -> Condition | None:
        fields = self.record(node, "history", ("at_least", "within_days"), ("at_least", "within_days"))
        if fields is None:
            return None
        at_least = self.optional(fields, "at_least", self.count)
        within_days = self.optional(fields, "within_days", self.count)
        if at_least is None or within_days is None:
            return None
        return HistoryCondition(at_least, within_days)

    # -- operators ---------------------------------------------------------

    def matcher(self, node: Node, what: str, *, shorthand: bool) -> Matcher | None:
        if not isinstance(node, MappingNode):
            if shorthand:
                # A plain value or list is a glob; without wildcards that is a
                # case-insensitive comparison.
                patterns = [pattern for pattern, _ in self.texts(node, what)]
                if not patterns:
                    return None
                if any(_WILDCARD.search(pattern) for pattern in patterns):
                    return GlobMatcher(patterns)
                return EqualsMatcher(patterns)
            self.error(
                node,
                f"{what} needs an operator: words, regex, equals or glob "
                f"(for example '{what}: {{words: [...]}}'), not {_kind(node)}",
            )
            return None
        fields = self.record(node, what, _MATCHER_KEYS)
        if fields is None:
            return None
        return self.operator(fields, node, what)

    def operator(self, fields: Mapping[str, _Entry], node: Node, what: str) -> Matcher | None:
        operators = [key for key in fields if key in _OPERATORS]
        if not operators:
            # An unknown (likely misspelt) key has been reported already.
            if all(key in _MATCHER_KEYS for key in fields):
                self.error(node, f"{what} needs one operator: words, regex, equals or glob")
            return None
        if len(operators) > 1:
            names = ", ".join(operators)
            self.error(
                fields[operators[1]].key,
                f"{what} has several operators ({names}); combine them with all: or any:",
            )
            return None
        operator = operators[0]
        ignore_case = False
        if "ignore_case" in fields:
            ignore_case = bool(self.flag(fields["ignore_case"].value, "ignore_case"))
            if operator != "regex":
                self.error(
                    fields["ignore_case"].key,
                    "ignore_case applies to regex only; words, equals and glob always ignore case",
                )
                return None
        return self.operand(operator, fields[operator].value, what, ignore_case)

    def operand(self, operator: str, node: Node, what: str, ignore_case: bool) -> Matcher | None:
        label = f"{what} {operator}"
        if operator == "words":
            terms = self.words(node, label)
            return WordsMatcher(WordSet(terms)) if terms else None
        if operator == "regex":
            patterns = self.regexes(node, label, ignore_case)
            return RegexMatcher(patterns) if patterns else None
        values = [value for value, _ in self.texts(node, label)]
        if not values:
            return None
        return EqualsMatcher(values) if operator == "equals" else GlobMatcher(values)

    def regexes(self, node: Node, what: str, ignore_case: bool) -> list[re.Pattern[str]]:
        flags = re.IGNORECASE if ignore_case else 0
        compiled: list[re.Pattern[str]] = []
        failed = False
        for pattern, item in self.texts(node, what, strip=False):
            # The re module reports some dubious patterns as warnings
            # (e.g. FutureWarning for nested sets); surface them as ours.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    compiled.append(re.compile(pattern, flags))
                except re.error as exc:
                    self.error(item, f"bad regex '{pattern}': {exc.msg} at position {exc.pos}")
                    failed = True
            for caught_warning in caught:
                self.warning(item, f"regex '{pattern}': {caught_warning.message}")
        return [] if failed else compiled


# ---------------------------------------------------------------------------
# calendar: and sla: — the working-day calendar and the service levels
# ---------------------------------------------------------------------------

_CALENDAR_KEYS = ("timezone", "business_hours", "holidays", "workdays", "collective_leave")
_HOURS_KEYS = ("start", "end")
_HOLIDAY_KEYS = ("date", "name")
_SLA_KEYS = ("default", "severity", "departments", "classes")
_TARGET_KEYS = ("first_response", "resolution", "update_interval", "reminder_before", "escalation")
_ESCALATION_KEYS = ("second_level_after",)
# Settings that `false` switches off; the two targets themselves always apply.
_SWITCHABLE = ("update_interval", "reminder_before", "second_level_after")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _ServiceLevels:
    """Reads the `calendar:` and `sla:` sections for a `_Loader`, reporting through it."""

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader

    # -- calendar ------------------------------------------------------------

    def calendar(self, entry: _Entry | None) -> CalendarConfig | None:
        loader = self.loader
        if entry is None or _is_null(entry.value):
            return CalendarConfig()
        fields = loader.record(entry.value, "calendar", _CALENDAR_KEYS)
        if fields is None:
            return None
        before = loader.errors
        timezone = loader.optional(fields, "timezone", self.timezone)
        hours = loader.optional(fields, "business_hours", self.business_hours)
        holidays = self.holidays(fields.get("holidays"))
        workdays = self.workdays(fields.get("workdays"), holidays)
        collective_leave = bool(loader.optional(fields, "collective_leave", loader.flag))
        if loader.errors > before:
            return None
        config = CalendarConfig(
            timezone=timezone,
            business_hours=hours or DEFAULT_HOURS,
            holidays=MappingProxyType({day: name for day, (name, _) in holidays.items()}),
            workdays=frozenset(workdays),
            collective_leave=collective_leave,
        )
        self.warn_redundant_days(config, holidays, workdays)
        return config

    def timezone(self, node: Node, what: str) -> str | None:
        name = self.loader.text(node, what)
        if name is None:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.loader.error(node, f"unknown time zone '{name}' (write it like Asia/Jakarta)")
            return None
        return name

    def business_hours(self, node: Node, what: str) -> tuple[time, time] | None:
        fields = self.loader.record(node, what, _HOURS_KEYS, _HOURS_KEYS)
        if fields is None or set(fields) != set(_HOURS_KEYS):
            return None
        start = self.clock(fields["start"].value, "start")
        end = self.clock(fields["end"].value, "end")
        if start is None or end is None:
            return None
        if not start < end:
            self.loader.error(node, f"business hours must start before they end ({start:%H:%M}-{end:%H:%M})")
            return None
        return start, end

    def clock(self, node: Node, what: str) -> time | None:
        # YAML 1.1 reads an unquoted 08:00 as the number 480; the node keeps the text.
        found = _CLOCK.fullmatch(node.value.strip()) if isinstance(node, ScalarNode) else None
        if found is None:
            self.loader.error(node, f'{what} must be a time of day like "08:00", not {_kind(node)}')
            return None
        return time(int(found.group(1)), int(found.group(2)))

    def calendar_date(self, node: Node, what: str) -> date | None:
        # An unquoted 2026-12-24 is a YAML timestamp; the node keeps the text.
        text = node.value.strip() if isinstance(node, ScalarNode) and node.tag != _NULL else None
        if text is None or not _ISO_DATE.fullmatch(text):
            self.loader.error(node, f"{what} must be a date like 2026-12-24, not {_kind(node)}")
            return None
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            self.loader.error(node, f"{what} '{text}' is not a date: {exc}")
            return None

    def holidays(self, entry: _Entry | None) -> dict[date, tuple[str, Node]]:
        """Extra days off: date -> (name, the node of its date)."""
        found: dict[date, tuple[str, Node]] = {}
        for node in self.loader.items(entry, "holidays"):
            fields = self.loader.record(node, "holiday", _HOLIDAY_KEYS, _HOLIDAY_KEYS)
            if fields is None or set(fields) != set(_HOLIDAY_KEYS):
                continue
            day = self.calendar_date(fields["date"].value, "date")
            name = self.loader.text(fields["name"].value, "name")
            if day is None or name is None:
                continue
            if day in found:
                first = found[day][1].start_mark.line + 1
                self.loader.error(
                    fields["date"].value, f"holiday {day} is listed twice (first at line {first})"
                )
                continue
            found[day] = (name, fields["date"].value)
        return found

    def workdays(self, entry: _Entry | None, holidays: Mapping[date, tuple[str, Node]]) -> dict[date, Node]:
        found: dict[date, Node] = {}
        for node in self.loader.items(entry, "workdays"):
            day = self.calendar_date(node, "working day")
            if day is None:
                continue
            if day in found:
                first = found[day].start_mark.line + 1
                self.loader.error(node, f"working day {day} is listed twice (first at line {first})")
            elif day in holidays:
                line = holidays[day][1].start_mark.line + 1
                self.loader.error(
                    node, f"{day} is listed both as a holiday (line {line}) and as a working day"
                )
            else:
                found[day] = node
        return found

    def warn_redundant_days(
        self,
        config: CalendarConfig,
        holidays: Mapping[date, tuple[str, Node]],
        workdays: Mapping[date, Node],
    ) -> None:
        """Listing a day that is off (or worked) anyway is harmless, but usually a wrong date."""
        plain = WorkCalendar(
            config.timezone or DEFAULT_TIMEZONE,
            hours=config.business_hours,
            collective_leave=config.collective_leave,
        )
        for day, (_, node) in holidays.items():
            known = plain.day(day)
            if not known.working:
                self.loader.warning(node, f"{day} ({day:%A}) is not a working day anyway: {known.reason}")
        for day, node in workdays.items():
            if plain.is_working_day(day):
                self.loader.warning(node, f"{day} ({day:%A}) is a working day anyway")

    # -- sla -------------------------------------------------------------------

    def sla(self, entry: _Entry | None, rules: Sequence[tuple[Rule, Node]]) -> SlaPolicy | None:
        policy: SlaPolicy | None = SlaPolicy()
        if entry is not None and not _is_null(entry.value):
            policy = self.policy(entry.value)
        if policy is not None:
            self.warn_undefined_classes(policy, rules)
        return policy

    def policy(self, node: Node) -> SlaPolicy | None:
        loader = self.loader
        fields = loader.record(node, "sla", _SLA_KEYS)
        if fields is None:
            return None
        before = loader.errors
        default = loader.optional(fields, "default", lambda n, _: self.overrides(n, "sla default")) or {}
        severities = loader.optional(fields, "severity", lambda n, _: self.by_severity(n, "sla severity"))
        departments = loader.optional(fields, "departments", lambda n, _: self.by_department(n)) or ({}, {})
        classes = loader.optional(fields, "classes", lambda n, _: self.by_class(n)) or {}
        if loader.errors > before:
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

    def overrides(self, node: Node, what: str) -> dict[str, WorkingTime | None] | None:
        fields = self.loader.record(node, what, _TARGET_KEYS)
        return None if fields is None else self.values(fields, what)

    def values(self, fields: Mapping[str, _Entry], what: str) -> dict[str, WorkingTime | None] | None:
        """The settings among `fields`, with `escalation:` flattened; None on any error."""
        loader = self.loader
        before = loader.errors
        found: dict[str, WorkingTime | None] = {}
        for key, entry in fields.items():
            if key == "escalation":
                escalation = loader.record(entry.value, f"{what} escalation", _ESCALATION_KEYS)
                for inner_key, inner in (escalation or {}).items():
                    if inner_key in _ESCALATION_KEYS:
                        found[inner_key] = self.span(inner.value, inner_key)
            elif key in _TARGET_KEYS:
                found[key] = self.span(entry.value, key)
        return found if loader.errors == before else None

    def span(self, node: Node, what: str) -> WorkingTime | None:
        """A working time like 2d / 4h / 30m; `false` switches an optional setting off."""
        if isinstance(node, ScalarNode) and node.tag == _BOOL:
            if what in _SWITCHABLE and self.loader.flag(node, what) is False:
                return None
            switch = ", or false to switch it off" if what in _SWITCHABLE else "; it cannot be switched off"
            self.loader.error(node, f"{what} must be a working time like 1d or 4h{switch}")
            return None
        if isinstance(node, ScalarNode) and node.tag in (_INT, _FLOAT):
            self.loader.error(
                node, f"{what} needs a unit: write {node.value}d (working days) or {node.value}h"
            )
            return None
        text = self.loader.text(node, what)
        if text is None:
            return None
        try:
            return WorkingTime.parse(text)
        except ValueError as exc:
            self.loader.error(node, f"{what}: {exc}")
            return None

    def by_severity(self, node: Node, what: str) -> dict[str, Overrides] | None:
        fields = self.loader.record(node, what, SEVERITIES)
        if fields is None:
            return None
        # Unknown severities have been reported by `record` already.
        found = {
            key: self.overrides(entry.value, f"{what} {key}")
            for key, entry in fields.items()
            if key in SEVERITIES
        }
        valid: dict[str, Overrides] = {
            key: MappingProxyType(value) for key, value in found.items() if value is not None
        }
        return valid if len(valid) == len(found) else None

    def by_department(
        self, node: Node
    ) -> tuple[dict[str, Overrides], dict[tuple[str, str], Overrides]] | None:
        fields = self.loader.mapping(node, "sla departments")
        if fields is None:
            return None
        departments: dict[str, Overrides] = {}
        department_severities: dict[tuple[str, str], Overrides] = {}
        failed = False
        for key, entry in fields.items():
            what = f"sla for department {key}"
            department = self.loader.reference(entry.key, "department")
            settings = self.loader.record(entry.value, what, (*_TARGET_KEYS, "severity"))
            overrides = self.values(settings, what) if settings is not None else None
            inner = (settings or {}).get("severity")
            severities = self.by_severity(inner.value, f"{what} severity") if inner else {}
            if department is None or overrides is None or severities is None:
                failed = True
                continue
            departments[department] = MappingProxyType(overrides)
            for severity, values in severities.items():
                department_severities[(department, severity)] = values
        return None if failed else (departments, department_severities)

    def by_class(self, node: Node) -> dict[str, Overrides] | None:
        fields = self.loader.mapping(node, "sla classes")
        if fields is None:
            return None
        found = {key: self.overrides(entry.value, f"sla class {key}") for key, entry in fields.items()}
        valid: dict[str, Overrides] = {
            key: MappingProxyType(value) for key, value in found.items() if value is not None
        }
        return valid if len(valid) == len(found) else None

    def warn_undefined_classes(self, policy: SlaPolicy, rules: Sequence[tuple[Rule, Node]]) -> None:
        for rule, node in rules:
            if rule.then.sla is None or rule.then.sla in policy.classes:
                continue
            self.loader.rule = rule.name
            hint = _suggest(rule.then.sla, policy.classes)
            self.loader.warning(
                _find(node, "then", "sla") or node,
                f"SLA class '{rule.then.sla}' is not defined under sla: classes, "
                f"so the default targets apply{hint}",
            )
        self.loader.rule = None


def _find(node: Node | None, *keys: str) -> Node | None:
    """The value node at a path of mapping keys, if every step is there."""
    for key in keys:
        if not isinstance(node, MappingNode):
            return None
        node = next((value for name, value in node.value if name.value == key), None)
    return node
