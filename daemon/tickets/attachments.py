"""Customer attachments for staff: which ride along with a notice, how they are listed and named on disk.

Pure decisions, unit-tested without a database or a file system:

- `forwarding` picks, in the order the customer attached them, the attachments
  that fit within the notice's total size limit (never a program or script,
  which mail gateways refuse), and lists every one of them for the notice text
  (name, type, size, attached or why not);
- `notice_context` is what the notice template reads about them, and
  `outgoing_files` the files themselves, as the mailer takes them;
- `size_text` is a size as people read it (`283 B`, `1.5 KB`, `10 MB`);
- `safe_filename` turns an attachment's display name into a file name that is
  safe on Linux, macOS and Windows alike: a single name, never a path, without
  control characters, leading dots or reserved device names, capped in bytes;
- `name_candidates` gives that name and then `name (2).ext`, `name (3).ext`,
  ... for the writer to try until one is free.

An attachment's name comes from the mail: whatever a customer wrote there is
only ever used as text to show or, through `safe_filename`, as one file name
inside a folder the operator chose.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from daemon.parse.message import Attachment

NAME_BYTES_LIMIT = 200
"""Most bytes (UTF-8) of a written file name: room for ` (9999)` within any file system's 255."""

ATTACHMENTS_COMMAND = "caredesk tickets attachments {reference} --out DIR"
"""The command that writes a ticket's attachments out, as the notice names it."""

_EXTENSION_LIMIT = 16
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_UNSAFE = re.compile(r'[<>:"/\\|?*]')
_SPACES = re.compile(r"\s+")
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "clock$", "conin$", "conout$"}
    | {f"com{n}" for n in "0123456789¹²³"}
    | {f"lpt{n}" for n in "0123456789¹²³"}
)
"""Names Windows reserves for devices, with or without an extension (`nul.txt` too)."""


HELD_BY_LIMIT = "limit"
"""Why an attachment is not attached: it does not fit within what is left of the limit."""
HELD_AS_PROGRAM = "program"
"""Why an attachment is not attached: a program or script, which mail gateways refuse or strip."""

PROGRAM_EXTENSIONS = frozenset(
    {"exe", "dll", "scr", "com", "pif", "cpl", "msi", "msp", "bat", "cmd", "vbs", "vbe"}
    | {"js", "jse", "wsf", "wsh", "ps1", "hta", "jar", "lnk", "reg", "inf", "sys"}
)
"""Extensions of the files a notice never carries: a gateway would refuse the whole mail for one."""


@dataclass(frozen=True, slots=True)
class Listed:
    """One attachment as the notice lists it."""

    name: str
    type: str
    size: str
    """The size as people read it (`size_text`)."""
    held: str = ""
    """'' when the notice carries it, else why not: `HELD_BY_LIMIT` or `HELD_AS_PROGRAM`."""

    @property
    def attached(self) -> bool:
        return not self.held


@dataclass(frozen=True)
class Forwarding:
    """The attachments a notice carries, and the list of all of them for its text."""

    attached: tuple[Attachment, ...]
    listed: tuple[Listed, ...]

    @property
    def left_out(self) -> int:
        """How many attachments the notice does not carry."""
        return sum(1 for item in self.listed if not item.attached)


def forwarding(attachments: Sequence[Attachment], limit: int) -> Forwarding:
    """Which of `attachments` fit, in order, within `limit` bytes in total; every one listed.

    An attachment too large for what is left of the limit is left out, and a
    smaller one after it may still fit. A limit of 0 attaches nothing. Programs
    and scripts (`PROGRAM_EXTENSIONS`) are never attached: a mail gateway that
    refuses them would refuse the whole notice.
    """
    attached: list[Attachment] = []
    listed: list[Listed] = []
    total = 0
    for attachment in attachments:
        held = ""
        if is_program(attachment.filename):
            held = HELD_AS_PROGRAM
        elif total + attachment.size > limit:
            held = HELD_BY_LIMIT
        else:
            attached.append(attachment)
            total += attachment.size
        size = size_text(attachment.size)
        listed.append(Listed(attachment.filename, attachment.content_type, size, held))
    return Forwarding(tuple(attached), tuple(listed))


def is_program(filename: str) -> bool:
    """Whether `filename` names a program or script by its extension (`invoice.pdf.exe` does)."""
    stem, dot, extension = filename.strip(" .").rpartition(".")
    return bool(dot and stem) and extension.casefold() in PROGRAM_EXTENSIONS


def notice_context(forwarded: Forwarding, reference: str, limit: int) -> dict[str, object]:
    """What `department_notice.txt` reads about the attachments.

    `attachments` lists every one (name, type, size, `held`: '' when attached,
    else `limit` or `program`); when some were left out, `attachments_left_out`
    counts them and `attachments_command` is the command that writes them all
    out; `attachment_limit` is the limit as text and `attachments_by_mail` False
    when the limit is 0 (nothing is ever attached).
    """
    return {
        "attachments": [
            {"name": item.name, "type": item.type, "size": item.size, "held": item.held}
            for item in forwarded.listed
        ],
        "attachments_left_out": forwarded.left_out,
        "attachments_command": ATTACHMENTS_COMMAND.format(reference=reference),
        "attachment_limit": size_text(limit),
        "attachments_by_mail": limit > 0,
    }


def outgoing_files(forwarded: Forwarding) -> list[tuple[str, str, bytes]]:
    """The attached files as the mailer takes them: (name, MIME type, bytes).

    A type that is not a plain `type/subtype`, or that is `message/*` or
    `multipart/*` (which may not be sent base64-encoded), goes as
    `application/octet-stream`: the bytes and the name are what matter.
    """
    return [(item.filename, sendable_type(item.content_type), item.payload) for item in forwarded.attached]


def sendable_type(content_type: str) -> str:
    """`content_type` when it can label a base64 attachment, else `application/octet-stream`."""
    kind = content_type.strip().lower()
    if not _MIME_TYPE.fullmatch(kind) or kind.split("/", 1)[0] in ("message", "multipart"):
        return "application/octet-stream"
    return kind


def size_text(size: int) -> str:
    """A size in bytes as people read it: `283 B`, `1.5 KB`, `12 MB` (1 KB = 1024 B)."""
    if size < 1024:
        return f"{size} B"
    for unit, scale in (("KB", 1024), ("MB", 1024**2), ("GB", 1024**3)):
        value = size / scale
        if value < 1024 or unit == "GB":
            shown = f"{value:.1f}".removesuffix(".0")
            return f"{shown} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def safe_filename(name: str) -> str:
    """A file name made from an attachment's name, safe to create inside any folder.

    Path separators and the characters Windows refuses become `_`; control,
    format (bidi, zero-width) and line-separator characters are dropped; runs of
    white space become one space; leading dots and spaces and trailing dots and
    spaces go; a reserved device name (`CON`, `nul.txt`, `COM1`, ...) gets a `_`
    in front; the result is at most `NAME_BYTES_LIMIT` bytes of UTF-8, keeping a
    short extension. What is left of nothing is `attachment`.
    """
    text = unicodedata.normalize("NFC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _INVISIBLE or ch in "\t\n\r")
    text = _UNSAFE.sub("_", text)
    text = _SPACES.sub(" ", text).strip(" .")
    if text.split(".", 1)[0].rstrip(" ").casefold() in _RESERVED:
        text = "_" + text
    text = _capped(text, NAME_BYTES_LIMIT).strip(" .")
    return text or "attachment"


def name_candidates(name: str) -> Iterator[str]:
    """`name`, then `stem (2).ext`, `stem (3).ext`, ...: the names to try until one is free."""
    yield name
    stem, extension = _split_extension(name)
    number = 2
    while True:
        yield f"{stem} ({number}){extension}"
        number += 1


def _split_extension(name: str) -> tuple[str, str]:
    """(`stem`, `.ext`) for a short extension after a non-empty stem, else (`name`, '')."""
    stem, dot, extension = name.rpartition(".")
    if dot and stem and 0 < len(extension) <= _EXTENSION_LIMIT and " " not in extension:
        return stem, "." + extension
    return name, ""


def _capped(name: str, limit: int) -> str:
    """`name` cut to at most `limit` bytes of UTF-8 on a character boundary, its extension kept."""
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, extension = _split_extension(name)
    room = limit - len(extension.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return cut.rstrip(" .") + extension
