"""The customer's contact person (PIC): phone numbers and email addresses in a mail.

This module owns `extract_contact`. The complaint procedure requires a PIC with
a phone number or email on every complaint, and customers leave it in the body
or the signature in every shape Indonesians write phone numbers. Phones are
normalised to `+62` followed by digits only so a ticket can be matched and
dialled; emails are lower-cased. Order of appearance is kept (the first one is
usually the PIC) and duplicates are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from daemon.parse.message import Contact

# A candidate is an area code in brackets, or a +62 / 62 / 0 prefix, followed
# by digit groups joined by spaces, dots or hyphens (never newlines: the next
# line may start with an unrelated number). The look-behinds keep us off the
# tail of a longer token: an order number `INV-0812...` or `#0812...`, an
# amount `1.081.234.567`.
# The leading look-ahead is only for speed: it rejects most positions before
# the look-behinds run.
_PHONE = re.compile(
    r"""
    (?=[(+60])
    (?<![\w+#])(?<![\w.,]-)(?<!\d[.,])
    (?:
        \(\s*0\d{2,3}\s*\)                                 # (021) / (0274)
      | (?:\+\s?62|62|0)[ \t.-]?(?:\(0\)[ \t.-]?)?\(?\d{1,4}\)?  # +62 812 / 0812 / 62(21)
    )
    (?:[ \t.-]{1,2}\d{2,5}|\d{2,5}){1,5}
    (?!\w|[.,-]\d)
    """,
    re.VERBOSE,
)
_GROUP_SPLIT = re.compile(r"[ \t.\-()]+")
_MONEY_BEFORE = re.compile(r"(?:Rp|IDR)\.?\s*$", re.IGNORECASE)

# Indonesian numbers have 9-13 digits after the trunk `0`, and no area or
# mobile prefix starts with 0 or 1; this rejects dates, amounts and most order
# numbers that happen to start with a zero.
_NATIONAL = re.compile(r"[2-9]\d{8,12}")

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,24}\b"
)


def extract_contact(text: str, *, exclude_emails: Iterable[str] = ()) -> Contact:
    """Find the PIC's phone numbers and email addresses in `text`.

    `exclude_emails` are addresses that are never the customer's (the caller
    passes our own addresses, which appear in quoted acknowledgements).
    """
    excluded = {address.strip().lower() for address in exclude_emails}
    return Contact(phones=tuple(_phones(text)), emails=tuple(_emails(text, excluded)))


def normalise_phone(candidate: str) -> str | None:
    """`candidate` as `+62` and digits, or None when it is not an Indonesian number."""
    stripped = candidate.strip()
    digits = re.sub(r"\D", "", stripped)
    if stripped.startswith("+") or (digits.startswith("62") and not stripped.startswith("(")):
        national = digits[2:]
        # `+62 (0)812...`: the trunk zero in brackets is not dialled.
        national = national.removeprefix("0")
        if not stripped.startswith("+") and not national.startswith("8"):
            # A bare `62...` is only taken for mobiles: too many other numbers start with 62.
            return None
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        return None
    return "+62" + national if _NATIONAL.fullmatch(national) else None


def _phones(text: str) -> list[str]:
    found: dict[str, None] = {}
    for match in _PHONE.finditer(text):
        if _MONEY_BEFORE.search(text, max(0, match.start() - 5), match.start()):
            continue
        phone = _shortest_valid_prefix(match.group())
        if phone is not None:
            found.setdefault(phone, None)
    return list(found)


def _shortest_valid_prefix(candidate: str) -> str | None:
    """Normalise `candidate`, dropping trailing digit groups that made it too long.

    `0812 3456 7890 2026` is a phone followed by a year on the same line; the
    regex cannot know where the number ends, so shorten group by group.
    """
    phone = normalise_phone(candidate)
    if phone is not None:
        return phone
    groups = [group for group in _GROUP_SPLIT.split(candidate) if group]
    while len(groups) > 2:
        groups.pop()
        phone = normalise_phone(" ".join(groups) if candidate[0] != "(" else "0" + "".join(groups))
        if phone is not None:
            return phone
    return None


def _emails(text: str, excluded: set[str]) -> list[str]:
    found: dict[str, None] = {}
    # An address never contains whitespace, so only words with an `@` need the
    # (slow, position-by-position) regex.
    for word in text.split():
        if "@" not in word:
            continue
        for match in _EMAIL.finditer(word):
            address = match.group().lower()
            if address not in excluded:
                found.setdefault(address, None)
    return list(found)
