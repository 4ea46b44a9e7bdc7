"""Who sent a mail: the sender's address, recovered with the care of a mail client.

This module owns choosing the address a new complaint is answered at and
recorded under, and saying where it came from (`Sender.source`). A well-formed
From, as the parser backend read it, is taken as it is. When the backend finds
no address there, each From field is read again leniently, the way mail
clients read what real mailers write:

* an address without angle brackets after a display name:
  `Test test@example.com`, `"Test" test@example.com`;
* a trailing dot after the domain: `user@example.com.`;
* a stray `;` after the address, an angle bracket never closed
  (`Rina <rina@example.id`), a display name's quote never closed when the
  address is in angle brackets, the whole mailbox inside one encoded-word;
* two From fields: the first one with a usable address.

A value that stays ambiguous is never guessed at: two addresses, a group
without members (`undisclosed-recipients:;`), the null address `<>`, or the
parser-confusing shapes of CVE-2023-27043 (`alice@example.id)<bob@evil.example>`)
give no address. When no From field has a usable address, `Sender`, then
`Reply-To`, then `Return-Path` are tried, in that order.

`Sender.source` is `"from"` for a plain From, `"from (recovered: ...)"` saying
what had to be mended (including the header block repairs of
`daemon.parse.repair`), or the lower-case name of the fallback header;
`describe_source` turns it into the sentence the ticket history shows.
Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from daemon.parse.headers import decode_words, display_text
from daemon.parse.identifiers import first_name, normalise_address

FROM = "from"
"""The source of a sender read from a plain, well-formed From field."""
FALLBACKS = ("sender", "reply-to", "return-path")
"""The fields tried, in this order, when no From field has a usable address."""
NO_ANGLE_BRACKETS = "no angle brackets"
TRAILING_DOT = "trailing dot in the domain"
STRAY_PUNCTUATION = "a stray semicolon or comma after it"
UNCLOSED_BRACKET = "an angle bracket never closed"
UNBALANCED_QUOTE = "a quote never closed"
ENCODED_ADDRESS = "the address inside an encoded-word"

_FIELD_NAMES = {"from": "From", "sender": "Sender", "reply-to": "Reply-To", "return-path": "Return-Path"}

# RFC 5322 atext, with the letters and digits of any script (RFC 6532).
_DOT_ATOM = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*")
_QUOTED_LOCAL = re.compile(r'"(?:[^"\\\x00-\x1f\x7f]|\\[^\x00-\x1f\x7f])+"')
_LABEL = re.compile(r"[^\W_](?:[\w-]{0,61}[^\W_])?")
_NAME_WORD = re.compile(r"[^\s\"(),:;<>@\[\]\\]+")
_ANGLE_ADDRESS = re.compile(r"<[^<>@]+@[^<>@]+>")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[QqBb]\?[^?\s]*\?=")
_NOT_IN_DOMAIN = re.compile(r'[\s<>(),;:@"\\]')
_WORD = re.compile(r'[^\s"(),<>]+')


@dataclass(frozen=True)
class Sender:
    """The chosen sender: address ('' when there is none), display name, and where it came from."""

    address: str
    name: str = ""
    source: str = FROM


@dataclass(frozen=True)
class SenderFields:
    """What the sender is chosen from: the header fields and the backend's reading of From."""

    headers: tuple[tuple[str, str], ...]
    """Every field as (lower-case name, unfolded value not yet decoded), in order."""
    parsed_from: tuple[tuple[str, str], ...] = ()
    """The backend's (display name, address) pairs for From."""
    repaired_from: str | None = None
    """How the header block repair brought the From field back, when it had to."""


@dataclass(frozen=True)
class Mailbox:
    """One mailbox read leniently from a field value: its display name, address, and what was mended."""

    name: str
    address: str
    repairs: tuple[str, ...] = ()


def choose_sender(fields: SenderFields) -> Sender:
    """The sender of a mail: From as the backend read it, else recovered, else a fallback field."""
    froms = [text for key, text in fields.headers if key == "from"]
    repaired = (fields.repaired_from,) if fields.repaired_from else ()
    backend = next((address for _name, address in fields.parsed_from if address), "")
    if len(froms) <= 1 and backend and plausible_address(normalise_address(backend)):
        return Sender(normalise_address(backend), first_name(fields.parsed_from), _source(FROM, repaired))
    for index, value in enumerate(froms):
        mailbox = read_mailbox(value)
        if mailbox is None:
            continue
        counted = (f"From field {index + 1} of {len(froms)}",) if len(froms) > 1 else ()
        name = first_name(fields.parsed_from) if mailbox.address == normalise_address(backend) else ""
        return Sender(
            mailbox.address,
            name or display_text(decode_words(mailbox.name)),
            _source(FROM, counted + mailbox.repairs + repaired),
        )
    for header in FALLBACKS:
        found = next((text for key, text in fields.headers if key == header), None)
        mailbox = read_mailbox(found) if found else None
        if mailbox is not None:
            name = display_text(decode_words(mailbox.name))
            return Sender(mailbox.address, name, _source(header, mailbox.repairs))
    return Sender("", "", "")


def describe_source(source: str) -> str | None:
    """The history's sentence for where the sender came from; None for a plain From or no sender."""
    if source in ("", FROM):
        return None
    header, _, details = source.partition(" (recovered: ")
    details = details.removesuffix(")")
    note = f" ({details})" if details else ""
    if header == FROM:
        return f"sender recovered from From{note}"
    return f"sender taken from {_FIELD_NAMES.get(header, header)}{note}: From was unusable"


def is_recovered(source: str) -> bool:
    """Whether the sender was not read from a plain, well-formed From field."""
    return source not in ("", FROM)


def plausible_address(address: str) -> bool:
    """Whether `address` is one addr-spec: a local part, one `@` outside quotes, a domain."""
    local, domain = _split(address)
    return bool(local and domain) and _local_part_ok(local) and not _NOT_IN_DOMAIN.search(domain)


def read_mailbox(value: str) -> Mailbox | None:
    """The first mailbox of `value` read leniently, or None when no address can be told for sure.

    When the value does not read as it is, each of the mends a mail client
    makes is tried on its own (`_mended`); what is read must still be one
    unambiguous mailbox.
    """
    mailbox = _first_mailbox(value)
    if mailbox is not None:
        return mailbox
    for mended, how in _mended(value):
        mailbox = _first_mailbox(mended)
        if mailbox is not None:
            return Mailbox(mailbox.name, mailbox.address, (how, *mailbox.repairs))
    return None


def _first_mailbox(value: str) -> Mailbox | None:
    tokens = _tokens(value)
    if tokens is None:
        return None
    for group in _split_commas(tokens):
        mailbox = _mailbox(group)
        if mailbox is not None:
            return mailbox
    return None


def _mended(value: str) -> Iterable[tuple[str, str]]:
    """`value` with one of the damages real mailers do undone, and what was undone."""
    stripped = value.strip()
    if stripped.endswith((";", ",")) and ":" not in stripped:
        yield stripped.rstrip(" ;,"), STRAY_PUNCTUATION
    if stripped.count("<") == 1 and ">" not in stripped:
        yield stripped + ">", UNCLOSED_BRACKET
    if _unescaped_quotes(stripped) % 2 and _ANGLE_ADDRESS.search(stripped.replace('"', "")):
        # Only with the address in angle brackets: a lone quote in a local part is no name.
        yield stripped.replace('"', ""), UNBALANCED_QUOTE
    if "=?" in stripped and "@" not in _ENCODED_WORD.sub("", stripped):
        yield decode_words(stripped), ENCODED_ADDRESS


def _unescaped_quotes(value: str) -> int:
    return len(re.findall(r'(?<!\\)"', value))


# --- reading a field value ------------------------------------------------------

_Token = tuple[str, str, bool]
"""(kind, text, follows whitespace); kind is 'word', 'quoted', 'comment', 'angle' or ','."""


def _tokens(value: str) -> list[_Token] | None:
    """The tokens of an address field value; None when a bracket, quote or parenthesis is unmatched."""
    tokens: list[_Token] = []
    position, spaced = 0, True
    while position < len(value):
        char = value[position]
        if char.isspace():
            position, spaced = position + 1, True
            continue
        if char == '"':
            end = _quoted_end(value, position)
            kind = "quoted"
        elif char == "(":
            end = _comment_end(value, position)
            kind = "comment"
        elif char == "<":
            end = value.find(">", position) + 1 or None
            kind = "angle"
            if end is not None and "<" in value[position + 1 : end - 1]:
                return None
        elif char == ",":
            end, kind = position + 1, ","
        elif char in ")>":
            return None
        else:
            match = _WORD.match(value, position)
            assert match is not None
            end, kind = match.end(), "word"
        if end is None:
            return None
        tokens.append((kind, value[position:end], spaced))
        position, spaced = end, False
    return tokens


def _quoted_end(value: str, start: int) -> int | None:
    position = start + 1
    while position < len(value):
        if value[position] == "\\":
            position += 2
        elif value[position] == '"':
            return position + 1
        else:
            position += 1
    return None


def _comment_end(value: str, start: int) -> int | None:
    depth, position = 0, start
    while position < len(value):
        char = value[position]
        if char == "\\":
            position += 2
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        position += 1
        if depth == 0:
            return position
    return None


def _split_commas(tokens: list[_Token]) -> Iterable[list[_Token]]:
    group: list[_Token] = []
    for token in tokens:
        if token[0] == ",":
            yield group
            group = []
        else:
            group.append(token)
    yield group


def _mailbox(tokens: list[_Token]) -> Mailbox | None:
    """One mailbox from its tokens: `name <addr>`, `addr (comment)` or `name addr`."""
    tokens = _join_quoted_local_parts(tokens)
    angles = [index for index, token in enumerate(tokens) if token[0] == "angle"]
    if len(angles) > 1:
        return None
    if angles:
        before, after = tokens[: angles[0]], tokens[angles[0] + 1 :]
        if any(kind != "comment" for kind, _text, _spaced in after):
            return None
        name = _display_name(before)
        checked = _checked(tokens[angles[0]][1][1:-1].strip())
        return None if name is None or checked is None else Mailbox(name, checked[0], checked[1])
    at_words = [index for index, token in enumerate(tokens) if token[0] == "word" and "@" in token[1]]
    if len(at_words) != 1:
        return None
    rest = tokens[: at_words[0]] + tokens[at_words[0] + 1 :]
    name = _display_name(rest)
    checked = _checked(tokens[at_words[0]][1])
    if name is None or checked is None:
        return None
    named = any(kind != "comment" for kind, _text, _spaced in rest)
    repairs = ((NO_ANGLE_BRACKETS,) if named else ()) + checked[1]
    return Mailbox(name, checked[0], repairs)


def _join_quoted_local_parts(tokens: list[_Token]) -> list[_Token]:
    """`"System Administrator"@example.com` is one address, not a name and a word."""
    joined: list[_Token] = []
    for token in tokens:
        if joined and token[0] == "word" and token[1].startswith("@") and not token[2]:
            kind, text, spaced = joined[-1]
            if kind == "quoted":
                joined[-1] = ("word", text + token[1], spaced)
                continue
        joined.append(token)
    return joined


def _display_name(tokens: list[_Token]) -> str | None:
    """The display name of a mailbox's other tokens; None when they cannot be a name."""
    words: list[str] = []
    comments: list[str] = []
    for kind, text, _spaced in tokens:
        if kind == "quoted":
            words.append(re.sub(r"\\(.)", r"\1", text[1:-1]))
        elif kind == "comment":
            comments.append(text[1:-1].strip())
        elif _NAME_WORD.fullmatch(text):
            words.append(text)
        else:
            return None
    return " ".join(words) if words else " ".join(comment for comment in comments if comment)


def _checked(address: str) -> tuple[str, tuple[str, ...]] | None:
    """The normalised address and what was mended, or None when it is no usable addr-spec."""
    local, domain = _split(address)
    if not local or not _local_part_ok(local):
        return None
    repairs: tuple[str, ...] = ()
    if domain.endswith(".") and not domain.endswith(".."):
        domain, repairs = domain[:-1], (TRAILING_DOT,)
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return None
    return normalise_address(f"{local}@{domain}"), repairs


def _split(address: str) -> tuple[str, str]:
    local, at, domain = address.rpartition("@")
    return (local, domain) if at else ("", "")


def _local_part_ok(local: str) -> bool:
    return bool(_DOT_ATOM.fullmatch(local) or _QUOTED_LOCAL.fullmatch(local))


def _source(header: str, repairs: tuple[str, ...]) -> str:
    kept = tuple(dict.fromkeys(repairs))
    return f"{header} (recovered: {', '.join(kept)})" if kept else header
