"""Identifiers and addresses read from headers: Message-IDs, threading IDs, mailboxes.

This module owns the normal form of everything a later stage compares or looks
up: Message-IDs (`<id>`, whitespace and controls dropped, capped), the IDs of
In-Reply-To and References (deduplicated, capped at `THREAD_ID_LIMIT`),
addresses (lower case, deduplicated; a quoted local part keeps its spaces),
the first sender's display name, the Return-Path, and the deterministic
Message-ID given to a mail that has none.
Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from daemon.parse import limits
from daemon.parse.headers import decode_words, display_text

SYNTHETIC_DOMAIN = "synthetic.invalid"

_ANGLE_TOKEN = re.compile(r"<([^<>]*)>")
_ID_JUNK = re.compile(r"[\s\x00-\x1f\x7f]+")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")
_QUOTED_LOCAL = re.compile(r'"(?:[^"\\]|\\.)*"')


def normalise_message_id(value: str) -> str | None:
    """The first `<id>` in a Message-ID-like header value, or None when there is none.

    Whitespace and controls inside the brackets are dropped and the result is
    capped at 998 characters. A bare `id@host` without brackets (written by
    some broken mailers) is accepted as a single token.
    """
    match = _ANGLE_TOKEN.search(value)
    if match:
        inner = match.group(1)
    else:
        tokens = value.split()
        inner = tokens[0] if len(tokens) == 1 and "@" in tokens[0] else ""
    inner = _ID_JUNK.sub("", inner)
    return f"<{inner[: limits.HEADER_TEXT_LIMIT - 2]}>" if inner else None


def message_id_tokens(value: str) -> tuple[str, ...]:
    """Every `<id>` in an In-Reply-To or References value, normalised, without repeats."""
    found: dict[str, None] = {}
    for match in _ANGLE_TOKEN.finditer(value):
        normalised = normalise_message_id(match.group())
        if normalised is not None:
            found.setdefault(normalised)
    return tuple(found)


def in_reply_to(value: str) -> tuple[str, ...]:
    """The IDs of an In-Reply-To value, at most `THREAD_ID_LIMIT` of them."""
    return message_id_tokens(value)[: limits.THREAD_ID_LIMIT]


def references(value: str) -> tuple[str, ...]:
    """The IDs of a References value: the root and the nearest ancestors when there are many."""
    tokens = message_id_tokens(value)
    if len(tokens) <= limits.THREAD_ID_LIMIT:
        return tokens
    # The first is the thread's root and the last are the nearest ancestors,
    # where our own acknowledgement sits; the middle adds nothing for threading.
    return tokens[:1] + tokens[-(limits.THREAD_ID_LIMIT - 1) :]


def synthetic_message_id(sender: str, date: str, subject: str, body_sha256: str) -> str:
    """A Message-ID for a mail that has none, the same for every delivered copy of it."""
    key = "|".join((sender, date, subject, body_sha256))
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@{SYNTHETIC_DOMAIN}>"


def addresses(pairs: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The addresses of (display name, address) pairs, normalised (`normalise_address`), without repeats."""
    found: dict[str, None] = {}
    for _name, address in pairs:
        normalised = normalise_address(address or "")
        if normalised:
            found.setdefault(normalised)
    return tuple(found)


def normalise_address(address: str) -> str:
    """An addr-spec in the form every stage compares: lower case, no controls or stray whitespace.

    A quoted local part keeps its quotes and the spaces inside them
    (`"system administrator"@example.com` is a different mailbox from
    `systemadministrator@example.com`); whitespace anywhere else, and the
    trailing dot of a fully qualified domain (`example.com.`), are dropped.
    """
    cleaned = _CONTROLS.sub("", address)
    local, at, domain = cleaned.rpartition("@")
    if not at:
        return _ID_JUNK.sub("", cleaned).lower()
    local = local.strip()
    if not _QUOTED_LOCAL.fullmatch(local):
        local = _ID_JUNK.sub("", local)
    domain = _ID_JUNK.sub("", domain)
    if domain.endswith(".") and not domain.endswith(".."):
        domain = domain[:-1]
    return f"{local}@{domain}".lower()


def first_name(pairs: Iterable[tuple[str, str]]) -> str:
    """The display name of the first pair that has an address, made safe to show."""
    for name, address in pairs:
        if address:
            # mail-parser leaves an encoded-word in an unknown charset as it was.
            return display_text(decode_words(name or ""))
    return ""


def return_path(value: str | None) -> str | None:
    """None when absent, '' for the null reverse path `<>`, else the lower-case address."""
    if value is None:
        return None
    match = _ANGLE_TOKEN.search(value)
    inner = match.group(1) if match else value
    return normalise_address(inner)
