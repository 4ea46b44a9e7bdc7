"""The record sections of rules.yaml: departments, products, branches, customers, default, reports.

Each function reads one section through a `NodeReader`, which records every
problem with its position, and returns the valid records; a bad record is left
out (its id is still known to the reader, so references to it do not fail too).
"""

from __future__ import annotations

from yaml.nodes import Node, ScalarNode, SequenceNode

from daemon.route.reader import Entry, NodeReader, is_null
from daemon.route.rules import Branch, Customer, Department, Product, ReportsConfig, Severity

_DEPARTMENT_KEYS = ("id", "name", "email", "members", "manager", "general_manager")
_PRODUCT_KEYS = ("id", "name", "department", "aliases", "keywords")
_BRANCH_KEYS = ("id", "name", "province", "emails")
_CUSTOMER_KEYS = ("email", "domain", "name", "tier")
_DEFAULT_KEYS = ("department", "severity")
_REPORTS_KEYS = ("day", "reminder_day", "address", "general_managers")


def read_departments(reader: NodeReader, entry: Entry | None) -> dict[str, Department]:
    """The `departments:` list, which must name at least one department."""
    found: dict[str, Department] = {}
    if entry is None:
        return found
    nodes = reader.items(entry, "departments")
    if not nodes and isinstance(entry.value, SequenceNode | ScalarNode):
        reader.error(entry.value, "departments must list at least one department")
    for node in nodes:
        department = _department(reader, node)
        if department is not None:
            found[department.id] = department
    return found


def _department(reader: NodeReader, node: Node) -> Department | None:
    fields = reader.record(node, "department", _DEPARTMENT_KEYS, ("id", "name", "email"))
    if fields is None:
        return None
    before = reader.errors
    department_id = reader.optional(fields, "id", lambda n, _: reader.new_id(n, "department"))
    name = reader.optional(fields, "name", reader.text)
    email = reader.optional(fields, "email", reader.email)
    members = reader.optional(fields, "members", reader.emails) or ()
    manager = reader.optional(fields, "manager", reader.email)
    general_manager = reader.optional(fields, "general_manager", reader.email)
    if reader.errors == before and department_id and name and email:
        return Department(department_id, name, email, members, manager, general_manager)
    return None


def read_products(reader: NodeReader, entry: Entry | None) -> dict[str, Product]:
    """The `products:` list; each product's department must exist."""
    found: dict[str, Product] = {}
    for node in reader.items(entry, "products"):
        product = _product(reader, node)
        if product is not None:
            found[product.id] = product
    return found


def _product(reader: NodeReader, node: Node) -> Product | None:
    fields = reader.record(node, "product", _PRODUCT_KEYS, ("id", "name", "department"))
    if fields is None:
        return None
    before = reader.errors
    product_id = reader.optional(fields, "id", lambda n, _: reader.new_id(n, "product"))
    name = reader.optional(fields, "name", reader.text)
    department = reader.optional(fields, "department", lambda n, _: reader.reference(n, "department"))
    aliases = reader.optional(fields, "aliases", reader.words) or ()
    keywords = reader.optional(fields, "keywords", reader.words) or ()
    if reader.errors == before and product_id and name and department:
        return Product(product_id, name, department, aliases, keywords)
    return None


def read_branches(reader: NodeReader, entry: Entry | None) -> dict[str, Branch]:
    """The `branches:` list, each with the addresses it mails from."""
    found: dict[str, Branch] = {}
    for node in reader.items(entry, "branches"):
        branch = _branch(reader, node)
        if branch is not None:
            found[branch.id] = branch
    return found


def _branch(reader: NodeReader, node: Node) -> Branch | None:
    fields = reader.record(node, "branch", _BRANCH_KEYS, ("id", "name", "emails"))
    if fields is None:
        return None
    before = reader.errors
    branch_id = reader.optional(fields, "id", lambda n, _: reader.new_id(n, "branch"))
    name = reader.optional(fields, "name", reader.text)
    province = reader.optional(fields, "province", reader.text)
    emails = reader.optional(fields, "emails", reader.emails)
    if reader.errors == before and branch_id and name and emails:
        return Branch(branch_id, name, province, emails)
    return None


def read_customers(reader: NodeReader, entry: Entry | None) -> list[Customer]:
    """The `customers:` list: each by exactly one of address or domain, none listed twice."""
    found: list[Customer] = []
    for node in reader.items(entry, "customers"):
        customer = _customer(reader, node, found)
        if customer is not None:
            found.append(customer)
    return found


def _customer(reader: NodeReader, node: Node, earlier: list[Customer]) -> Customer | None:
    fields = reader.record(node, "customer", _CUSTOMER_KEYS, ("name",))
    if fields is None:
        return None
    before = reader.errors
    email = reader.optional(fields, "email", reader.email)
    domain = reader.optional(fields, "domain", reader.text)
    if ("email" in fields) == ("domain" in fields):
        reader.error(node, "a customer needs exactly one of 'email' or 'domain'")
    name = reader.optional(fields, "name", reader.text)
    tier = (reader.optional(fields, "tier", reader.text) or "regular").lower()
    if domain is not None:
        domain = domain.lower().lstrip("@")
    key = email or domain
    if key is not None:
        for customer in earlier:
            if key in (customer.email, customer.domain):
                reader.error(node, f"customer '{key}' is listed twice")
    if reader.errors == before and name:
        return Customer(name, tier, email, domain)
    return None


def read_default(reader: NodeReader, entry: Entry | None) -> tuple[str, Severity] | None:
    """The `default:` route: its department (required) and severity (minor unless set)."""
    if entry is None:
        return None
    fields = reader.record(entry.value, "default", _DEFAULT_KEYS, ("department",))
    if fields is None:
        return None
    department = reader.optional(fields, "department", lambda n, _: reader.reference(n, "department"))
    severity: Severity = reader.optional(fields, "severity", reader.severity) or "minor"
    return (department, severity) if department else None


def read_reports(reader: NodeReader, entry: Entry | None) -> ReportsConfig | None:
    """The `reports:` section; the built-in settings when it is absent or empty."""
    if entry is None or is_null(entry.value):
        return ReportsConfig()
    fields = reader.record(entry.value, "reports", _REPORTS_KEYS)
    if fields is None:
        return None
    before = reader.errors
    defaults = ReportsConfig()

    def day_of_month(node: Node, what: str) -> int | None:
        # Up to the 28th, so that every month has the day.
        value = reader.count(node, what)
        if value is not None and value > 28:
            reader.error(node, f"{what} must be a day of the month from 1 to 28, not {value}")
            return None
        return value

    day = reader.optional(fields, "day", day_of_month) or defaults.day
    reminder_day = reader.optional(fields, "reminder_day", day_of_month) or defaults.reminder_day
    address = reader.optional(fields, "address", reader.email)
    general_managers = reader.optional(fields, "general_managers", reader.flag)
    if reader.errors == before and reminder_day >= day:
        where = fields["reminder_day"].value if "reminder_day" in fields else fields["day"].value
        reader.error(where, f"reminder_day ({reminder_day}) must come before the report's day ({day})")
    if reader.errors > before:
        return None
    return ReportsConfig(day, reminder_day, address, general_managers is not False)
