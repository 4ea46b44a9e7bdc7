"""The rule values: what a loaded rules.yaml is, once validated.

This module owns the frozen values the rest of the daemon reads: `Rules`, with
its departments, products, branches, customers, categories, organisations and
compiled `Rule`s, the `calendar:`, `sla:`, `reports:` and `retired_departments:` settings, and the
lookup tables routing uses (built once here, so routing never scans a list);
and `Problem` and `RulesError`, what is wrong with a rules file.

Reading and validating the file is `daemon.route.loader`'s job; what a rule's
condition means for a mail is `daemon.route.conditions`', and how the actions
of several matching rules combine is `daemon.route.router`'s.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, TypeVar

from daemon.route.index import RuleIndex, build_index
from daemon.route.words import WordSet, word_tokens
from daemon.sla.calendar import CalendarConfig
from daemon.sla.policy import SlaPolicy

if TYPE_CHECKING:
    from daemon.route.conditions import Condition

Severity = Literal["major", "minor"]
SEVERITIES: tuple[Severity, ...] = ("major", "minor")


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
    """A department that owns complaints, with who may act on its tickets."""

    id: str
    name: str
    email: str
    members: tuple[str, ...] = ()
    """Addresses allowed to update this department's tickets by replying."""
    manager: str | None = None
    general_manager: str | None = None


@dataclass(frozen=True, slots=True)
class Product:
    """A product, the department that owns its complaints, and the words that name it."""

    id: str
    name: str
    department: str
    aliases: tuple[str, ...] = ()
    """Names of the product; any of them in a mail names the product outright."""
    keywords: tuple[str, ...] = ()
    """Words that hint at the product; used when no alias of any product appears."""


@dataclass(frozen=True, slots=True)
class Branch:
    """A provincial branch, known by the addresses it mails from."""

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
    category: str | None = None
    """A name from the `categories:` list, as the list spells it."""


@dataclass(frozen=True, slots=True)
class Category:
    """One entry of `categories:`: the name tickets store, and other words staff may use for it."""

    name: str
    aliases: tuple[str, ...] = ()


def category_key(text: str) -> str:
    """What category names compare by: their folded words (`Product-Quality` is `product quality`)."""
    return " ".join(word_tokens(text))


@dataclass(frozen=True)
class Categories:
    """The `categories:` list: the only values a ticket's category may take."""

    entries: tuple[Category, ...] = ()
    _by_key: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key = {
            category_key(word): entry.name
            for entry in reversed(self.entries)
            for word in (*entry.aliases, entry.name)
        }
        object.__setattr__(self, "_by_key", MappingProxyType(by_key))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(entry.name for entry in self.entries)

    def find(self, text: str) -> str | None:
        """The listed name `text` spells (a name or an alias, in any case), or None."""
        return self._by_key.get(category_key(text)) if text.strip() else None

    def closest(self, text: str) -> str | None:
        """The listed name `text` nearly spells (a typo of a name or an alias), or None."""
        close = difflib.get_close_matches(category_key(text), list(self._by_key), n=1, cutoff=0.7)
        return self._by_key[close[0]] if close else None

    def refusal(self, text: str) -> str:
        """Why `text` is no category, in English: the near miss, and every name allowed."""
        near = self.closest(text)
        hint = f" (did you mean '{near}'?)" if near else ""
        return f"unknown category '{text}'{hint}; the categories are: {self.allowed()}"

    def allowed(self) -> str:
        """The names, for messages: `delivery, billing, ...`; a note when the list is empty."""
        return ", ".join(self.names) or "none (rules.yaml lists no categories)"

    def __bool__(self) -> bool:
        return bool(self.entries)


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation its senders belong to: by exact address, or by domain (subdomains included)."""

    name: str
    domains: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


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
class Retirement:
    """The `retired_departments:` section: where the open tickets of a department no longer listed go."""

    moves: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Retired department id -> the listed department its open tickets move to."""
    departments_line: int = 0
    """The line of `departments:`: where a problem about a department gone from the list points."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One entry of `rules:`: a compiled condition, its actions, and its line in the file."""

    name: str
    description: str
    when: Condition
    then: Actions
    line: int = 0


def _frozen(mapping: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping))


_Found = TypeVar("_Found")


def _by_address(
    address: str, by_email: Mapping[str, _Found], by_domain: Mapping[str, _Found]
) -> _Found | None:
    """What an address is listed under: the exact address, else its domain or the nearest parent."""
    address = address.strip().lower()
    if not address:
        return None
    found = by_email.get(address)
    domain = address.rpartition("@")[2]
    # `budi@mail.example.co.id` belongs to what is listed as `example.co.id`.
    while found is None and domain:
        found = by_domain.get(domain)
        domain = domain.partition(".")[2]
    return found


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
    categories: Categories = field(default_factory=Categories)
    """The `categories:` list: what a rule, a `#category` command or a recap row may set."""
    organisations: tuple[Organisation, ...] = ()
    """The `organisations:` section: the organisation a sender's address or domain belongs to."""
    retired: Retirement = field(default_factory=Retirement)
    """The `retired_departments:` section: departments gone from the file, and where their tickets go."""
    # Lookup tables derived from the fields above, built once here so that
    # routing never scans a list.
    product_words: tuple[tuple[str, WordSet, WordSet], ...] = field(init=False, repr=False, compare=False)
    _customer_by_email: Mapping[str, Customer] = field(init=False, repr=False, compare=False)
    _customer_by_domain: Mapping[str, Customer] = field(init=False, repr=False, compare=False)
    _branch_by_email: Mapping[str, Branch] = field(init=False, repr=False, compare=False)
    _organisation_by_email: Mapping[str, Organisation] = field(init=False, repr=False, compare=False)
    _organisation_by_domain: Mapping[str, Organisation] = field(init=False, repr=False, compare=False)
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
        organisations = tuple(reversed(self.organisations))
        object.__setattr__(
            self,
            "_organisation_by_email",
            {email.lower(): org for org in organisations for email in org.emails},
        )
        object.__setattr__(
            self,
            "_organisation_by_domain",
            {domain.lower(): org for org in organisations for domain in org.domains},
        )
        object.__setattr__(self, "index", build_index(self.rules))

    def department(self, department_id: str) -> Department:
        """The department with this id; KeyError when there is none."""
        return self.departments[department_id]

    def general_manager_for(self, department_id: str) -> str | None:
        """Who hears of a major complaint of this department: its GM, else the default department's."""
        department = self.departments.get(department_id)
        if department is not None and department.general_manager:
            return department.general_manager
        return self.departments[self.default_department].general_manager

    def customer_care_address(self) -> str:
        """Where Customer Care reads caredesk's reports: `reports.address`, else the default department's."""
        return self.reports_config.address or self.department(self.default_department).email

    def product(self, product_id: str) -> Product:
        """The product with this id; KeyError when there is none."""
        return self.products[product_id]

    def customer_for(self, address: str) -> Customer | None:
        """The customer an address belongs to: exact address first, then its domain."""
        return _by_address(address, self._customer_by_email, self._customer_by_domain)

    def organisation_for(self, address: str) -> Organisation | None:
        """The organisation a sender belongs to: exact address first, then the nearest domain."""
        return _by_address(address, self._organisation_by_email, self._organisation_by_domain)

    def branch_for(self, address: str) -> Branch | None:
        """The branch that mails from this address, if any."""
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
