"""Which mails are branch recaps: a pure decision over the parsed mail and the rules' branches.

A mail is a recap when it carries a spreadsheet (.xlsx, .xlsm, .xls, .xlsb, .csv
by name or content type, or one the parser had to drop for its size) and

* its sender is one of a branch's addresses (rules.yaml `branches`); or
* it is addressed to the care address and says `rekap`/`recap` in its
  subject, though its sender is no branch's (the recap is then refused, and
  the sender told why).

This module only recognises; importing the spreadsheets, keeping the forms and
answering the branch is `daemon.recap`'s job. It also owns what a spreadsheet
is, by name and content type, so the recap reader reads the file the way it
was recognised (`reader_name`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from daemon.parse.message import Attachment, InboundMail
from daemon.route.rules import Branch, Rules

SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".xlsb", ".xltx", ".xltm", ".csv"})
_SUFFIX_OF_TYPE: Mapping[str, str] = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template": ".xltx",
    "application/vnd.ms-excel.sheet.macroenabled.12": ".xlsm",
    "application/vnd.ms-excel.template.macroenabled.12": ".xltm",
    "application/vnd.ms-excel.sheet.binary.macroenabled.12": ".xlsb",
    "application/vnd.ms-excel": ".xls",
    "application/excel": ".xls",
    "application/x-excel": ".xls",
    "application/x-msexcel": ".xls",
    "text/csv": ".csv",
    "application/csv": ".csv",
    "text/comma-separated-values": ".csv",
}
_RECAP_WORD = re.compile(r"\b(?:rekap|recap)", re.IGNORECASE)
_DROPPED = re.compile(r"^attachment dropped: (?P<name>.+) is over ")


@dataclass(frozen=True, slots=True)
class RecapMail:
    """A mail recognised as a recap: who sent it and what it carries."""

    branch: Branch | None
    """The sending branch; None for a recap from an address that is no branch's."""
    spreadsheets: tuple[Attachment, ...]
    forms: tuple[Attachment, ...]
    """Every other attachment: complaint forms (PDF, images, Word, ...)."""
    dropped: tuple[str, ...] = ()
    """Names of spreadsheets the parser dropped for their size."""


def is_spreadsheet(filename: str, content_type: str) -> bool:
    """Whether an attachment is a spreadsheet, by the suffix of its name or by its content type."""
    suffix = PurePosixPath(filename.lower()).suffix
    return suffix in SPREADSHEET_SUFFIXES or _bare_type(content_type) in _SUFFIX_OF_TYPE


def reader_name(attachment: Attachment) -> str:
    """The attachment's name, with the suffix its content type implies when the name has none we know.

    The reader goes by the suffix; `rekap` sent as `text/csv` must read as CSV.
    """
    if PurePosixPath(attachment.filename.lower()).suffix in SPREADSHEET_SUFFIXES:
        return attachment.filename
    return attachment.filename + _SUFFIX_OF_TYPE.get(_bare_type(attachment.content_type), "")


def recognise(mail: InboundMail, rules: Rules, care_address: str) -> RecapMail | None:
    """The recap in `mail`, or None when it is not one (pure)."""
    spreadsheets = tuple(a for a in mail.attachments if is_spreadsheet(a.filename, a.content_type))
    forms = tuple(a for a in mail.attachments if not is_spreadsheet(a.filename, a.content_type))
    dropped = tuple(name for name in _dropped_names(mail.defects) if is_spreadsheet(name, ""))
    if not spreadsheets and not dropped:
        return None
    branch = rules.branch_for(mail.from_address) if mail.from_address else None
    if branch is not None:
        return RecapMail(branch, spreadsheets, forms, dropped)
    addressed = care_address.lower() in (address.lower() for address in mail.recipients)
    if addressed and _RECAP_WORD.search(mail.subject):
        return RecapMail(None, spreadsheets, forms, dropped)
    return None


def _bare_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def _dropped_names(defects: Iterable[str]) -> list[str]:
    return [match.group("name") for defect in defects if (match := _DROPPED.match(defect))]
