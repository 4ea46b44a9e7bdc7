"""Reply commands: what a department's (or customer care's) reply asks of a ticket.

This module owns the command vocabulary that docs/departments.md documents —
every command, its Indonesian aliases, the values `#status`, `#effective`
and `#severity` take, and what to tell a sender who misspelt one — and
`parse_reply`, which splits the new text of a reply (quoted history already
removed by `daemon.parse.quoting.strip_quoted`) into:

* the commands at the top, one per line (`#status resolved`, `#akar-masalah ...`);
* command-like lines that are not commands, so the sender can be told;
* the part after `#reply` (`#balas`), which goes to the customer, without the
  sender's signature: department addresses and names are never shown;
* everything else, which stays internal.

It decides nothing about a ticket; `daemon.tickets.lifecycle` applies the commands.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# Every command with the spellings docs/departments.md lists for it, the
# canonical English name first. Hyphens and underscores are optional when
# matching (`#root_cause`, `#rootcause`, `#akarmasalah` all work), so only one
# spelling of each is listed here.
COMMAND_ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "status": ("status",),
        "root-cause": ("root-cause", "akar-masalah", "akar-penyebab", "penyebab"),
        "action": ("action", "tindakan", "tindakan-perbaikan"),
        "target": ("target", "tenggat"),
        "preventive": ("preventive", "pencegahan", "tindakan-pencegahan"),
        "effective": ("effective", "efektif"),
        "severity": ("severity", "tingkat", "keparahan"),
        "department": ("department", "departemen", "dept"),
        "category": ("category", "kategori"),
        "organisation": ("organisation", "organization", "organisasi", "instansi"),
        "note": ("note", "catatan"),
        "reply": ("reply", "balas"),
    }
)

# The values of `#status`, `#effective` and `#severity`, canonical first.
# Matching ignores case, hyphens, underscores and spaces ("In Progress").
STATUS_VALUES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "in-progress": ("in-progress", "proses", "diproses"),
        "resolved": ("resolved", "selesai"),
        "closed": ("closed", "ditutup", "tutup"),
    }
)
EFFECTIVE_VALUES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"yes": ("yes", "ya"), "no": ("no", "tidak")}
)
SEVERITY_VALUES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"major": ("major", "mayor"), "minor": ("minor",)}
)


def _key(word: str) -> str:
    return re.sub(r"[-_\s]+", "", word.casefold())


def _index(table: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    return {_key(alias): canonical for canonical, aliases in table.items() for alias in aliases}


_COMMAND_BY_KEY = _index(COMMAND_ALIASES)
_STATUS_BY_KEY = _index(STATUS_VALUES)
_EFFECTIVE_BY_KEY = _index(EFFECTIVE_VALUES)
_SEVERITY_BY_KEY = _index(SEVERITY_VALUES)


def command_name(word: str) -> str | None:
    """The canonical command `word` (without `#`) spells, or None."""
    return _COMMAND_BY_KEY.get(_key(word))


_COMMAND_WORD = re.compile(r"\s*#([^\W\d_][\w-]*)")


def unknown_command_reason(raw: str) -> str:
    """Why a `#word ...` line did nothing: `unknown command '#stauts'; did you mean '#status'?`."""
    match = _COMMAND_WORD.match(raw)
    word = match[1] if match else raw
    spellings = [alias for aliases in COMMAND_ALIASES.values() for alias in aliases]
    close = difflib.get_close_matches(word.casefold(), spellings, n=1, cutoff=0.7)
    hint = f"; did you mean '#{close[0]}'?" if close else ""
    return f"unknown command '#{word}'{hint}"


def status_value(text: str) -> str | None:
    """The canonical status `text` names (`selesai` -> `resolved`), or None."""
    return _STATUS_BY_KEY.get(_key(text.strip().rstrip(".")))


def effective_value(word: str) -> str | None:
    """`yes` or `no` for `word` (`ya`, `Tidak,` ...), or None."""
    return _EFFECTIVE_BY_KEY.get(_key(word.strip().rstrip(".,:;")))


def severity_value(text: str) -> str | None:
    """`major` or `minor` for `text` (`mayor` ...), or None."""
    return _SEVERITY_BY_KEY.get(_key(text.strip().rstrip(".")))


@dataclass(frozen=True)
class Command:
    """One command line from the top of a reply."""

    name: str
    """The canonical name: a key of `COMMAND_ALIASES`."""
    argument: str
    """The rest of the line; '' for `reply`, whose text is `ParsedReply.reply_text`."""
    line: int
    """1-based line in the text given to `parse_reply`."""
    raw: str
    """The line as written, surrounding whitespace removed."""


@dataclass(frozen=True)
class ParsedReply:
    """A reply's new text, split into commands, the customer's part and the internal rest."""

    commands: tuple[Command, ...]
    unknown: tuple[tuple[int, str], ...]
    """Lines in the command block that look like commands (`#word ...`) but are not: (line, raw)."""
    reply_text: str
    """The text after `#reply`, for the customer, signature removed; '' without `#reply`."""
    note_text: str
    """The rest of the new text (not commands, not the customer's part): stays internal."""
    misplaced: tuple[tuple[int, str], ...] = ()
    """Known commands written below the command block or inside the `#reply` text: not applied."""


# `#name`, an optional colon, the argument. Leading whitespace, a byte-order
# mark or zero-width space (Outlook's HTML-to-text leaves those) are tolerated.
# The argument is stripped in code: a trailing `\s*$` after a lazy group
# would make a long run of spaces quadratic.
_COMMAND_LINE = re.compile(r"[\s\ufeff\u200b]*#([^\W\d_][\w-]*)[ \t\xa0]*:?(.*)")

# A signature starts at the conventional "-- " line (strip_quoted has already
# trimmed its trailing space). Mobile clients add a line of their own instead.
_SIGNATURE_SEPARATOR = re.compile(r"^\s*--\s*$")
_CLIENT_SIGNATURE = re.compile(
    r"^\s*(?:Sent from my\b|Sent from Outlook\b|Sent from Mail\b|Get Outlook for\b"
    r"|Dikirim dari\b|Dapatkan Outlook untuk\b)",
    re.IGNORECASE,
)


def parse_reply(text: str) -> ParsedReply:
    """Split a reply's new text into its commands, the customer's part and the internal rest.

    Commands are read from the top, one per line, skipping blank lines, until
    the first line that is neither blank nor `#word ...`. `#reply` ends the
    block and can also stand on its own line further down, after an internal
    note: everything below it (and any text on the `#reply` line itself) is
    the customer's part.
    """
    lines = text.splitlines()
    block = _command_block(lines)
    commands, reply_at = block.commands, block.reply_at
    if reply_at is None:
        reply_at = _reply_marker_below(lines, block.end)
        if reply_at is not None:
            commands.append(Command("reply", "", reply_at + 1, lines[reply_at].strip()))
    note_end = len(lines) if reply_at is None else reply_at
    note_lines, misplaced = _without_commands(lines, block.end, note_end)
    reply_text = ""
    if reply_at is not None:
        reply_text, misplaced_in_reply = _reply_part(lines, reply_at)
        misplaced += misplaced_in_reply
    return ParsedReply(
        commands=tuple(commands),
        unknown=tuple(block.unknown),
        reply_text=reply_text,
        note_text=_trimmed(note_lines),
        misplaced=tuple(misplaced),
    )


@dataclass
class _Block:
    """The command block at the top of a reply, as read so far."""

    commands: list[Command] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)
    end: int = 0
    """The index of the first line after the block."""
    reply_at: int | None = None
    """The index of the `#reply` line that ended the block, if one did."""


def _command_block(lines: list[str]) -> _Block:
    """Read commands from the top until the first line of text, or a `#reply`."""
    block = _Block()
    while block.end < len(lines) and block.reply_at is None:
        line = lines[block.end]
        if not line.strip():
            block.end += 1
            continue
        match = _COMMAND_LINE.match(line)
        if match is None:
            break
        block.end += 1
        name = command_name(match[1])
        if name is None:
            block.unknown.append((block.end, line.strip()))
            continue
        argument = "" if name == "reply" else match[2].strip()
        block.commands.append(Command(name, argument, block.end, line.strip()))
        if name == "reply":
            block.reply_at = block.end - 1
    return block


def _reply_part(lines: list[str], reply_at: int) -> tuple[str, list[tuple[int, str]]]:
    """The customer's text from the `#reply` line on, and the commands misplaced in it."""
    first = _COMMAND_LINE.match(lines[reply_at])
    same_line = first[2].strip() if first else ""
    body, misplaced = _without_commands(lines, reply_at + 1, len(lines))
    return _trimmed(_without_signature([same_line, *body])), misplaced


def _reply_marker_below(lines: list[str], start: int) -> int | None:
    """The index of the first `#reply` line at or after `start`, or None."""
    for index in range(start, len(lines)):
        match = _COMMAND_LINE.match(lines[index])
        if match and command_name(match[1]) == "reply":
            return index
    return None


def _without_commands(lines: list[str], start: int, end: int) -> tuple[list[str], list[tuple[int, str]]]:
    """lines[start:end] without known command lines, and those lines as (line number, raw).

    A command there is a mistake (commands go at the top); it is reported
    rather than applied, and kept out of the text so a stray `#status closed`
    never reaches the customer. Unknown `#words` are ordinary text here.
    """
    kept: list[str] = []
    misplaced: list[tuple[int, str]] = []
    for index in range(start, end):
        match = _COMMAND_LINE.match(lines[index])
        if match and command_name(match[1]) is not None:
            misplaced.append((index + 1, lines[index].strip()))
        else:
            kept.append(lines[index])
    return kept, misplaced


def _without_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if _SIGNATURE_SEPARATOR.match(line):
            lines = lines[:index]
            break
    end = len(lines)
    while end and (not lines[end - 1].strip() or _CLIENT_SIGNATURE.match(lines[end - 1])):
        end -= 1
    return lines[:end]


def _trimmed(lines: list[str]) -> str:
    return "\n".join(line.rstrip() for line in lines).strip("\n")
