"""One recap file received from a branch: kept, read, checked and imported, in one call.

`receive_recap` is the entry point the mail pipeline calls for each recap
attachment of a mail from a branch address (deciding that the sender is a
branch, and replying, are the pipeline's job). Whatever happens, the file is
kept as a `RecapFile` row with the outcome; nothing here commits, so the
caller's transaction (and SAVEPOINT) covers the file, the tickets and the
reply alike.

The month a recap is for comes from its month cell, else its file name, else
it is the month before the one it arrived in (recaps are due by the 5th).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from daemon.recap.heading import branch_mismatch, parse_month, recap_month
from daemon.recap.rows import Choices, RowProblem, ValidationResult
from daemon.recap.sheet import RecapLimits, RecapRefused, RecapSheet
from daemon.recap.store import ImportSummary, ImportTerms, import_rows
from daemon.recap.validate import validate_rows
from daemon.route.rules import Branch
from daemon.store.models import RecapFile

log = logging.getLogger("caredesk.recap")


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    """One recap file as it arrived: the branch that sent it, its name and bytes, and its mail."""

    branch: Branch
    filename: str
    data: bytes
    inbound_id: int | None
    """The inbound mail it came in; None when it did not come by mail."""


@dataclass(frozen=True)
class RecapOutcome:
    """What became of one recap file: everything the reply to the branch needs."""

    recap_file: RecapFile
    month: str
    """`YYYY-MM`; '' when the file was refused before its month was known."""
    refused: RecapRefused | None = None
    problems: tuple[RowProblem, ...] = ()
    summary: ImportSummary | None = None
    notes: tuple[str, ...] = ()

    @property
    def imported(self) -> bool:
        return self.refused is None


def receive_recap(
    session: Session, received: ReceivedFile, terms: ImportTerms, *, limits: RecapLimits | None = None
) -> RecapOutcome:
    """Keep, read, validate and import one recap file sent by `received.branch`."""
    now = terms.clock()
    recap_file = _kept_file(received, now)
    today = now.astimezone(terms.zone).date()
    try:
        sheet = _read(received, limits or RecapLimits())
    except RecapRefused as refusal:
        recap_file.state, recap_file.reason = "refused", refusal.reason
        session.add(recap_file)
        session.flush()
        log.info("recap %r from %s refused: %s", received.filename, received.branch.id, refusal.english)
        return RecapOutcome(recap_file, "", refused=refusal)
    month = recap_month(sheet, received=today)
    choices = Choices.of(terms.rules)
    result = validate_rows(sheet, branch=received.branch, month=month, choices=choices, today=today)
    _record_validation(recap_file, month, result)
    session.add(recap_file)
    session.flush()
    summary = import_rows(session, result.good, branch=received.branch, recap_file=recap_file, terms=terms)
    recap_file.rows_created = len(summary.created)
    recap_file.rows_updated = len(summary.updated)
    recap_file.rows_unchanged = len(summary.unchanged)
    session.add(recap_file)
    _log_import(received, month, result, summary)
    return RecapOutcome(
        recap_file,
        month,
        problems=tuple(result.problems),
        summary=summary,
        notes=(*sheet.notes, *month_notes(sheet, month)),
    )


def _kept_file(received: ReceivedFile, now: datetime) -> RecapFile:
    """The file as kept, whatever becomes of it."""
    return RecapFile(
        branch=received.branch.id,
        received_at=now,
        inbound_id=received.inbound_id,
        filename=received.filename[:255],
        sha256=hashlib.sha256(received.data).hexdigest(),
        size=len(received.data),
        raw=received.data,
    )


def _read(received: ReceivedFile, limits: RecapLimits) -> RecapSheet:
    """The file's rows; refused as well when it names another branch than the sender's."""
    # openpyxl only once a recap file arrives, not at the daemon's start (issue 17: memory).
    from daemon.recap.reader import read_recap

    sheet = read_recap(received.filename, received.data, limits=limits)
    mismatch = branch_mismatch(sheet, received.branch)
    if mismatch is not None:
        raise mismatch
    return sheet


def month_notes(sheet: RecapSheet, month: str) -> list[str]:
    """A note for the branch when the file's month cell could not be read, and `month` was guessed."""
    if sheet.month is not None and parse_month(sheet.month) is None:
        return [
            f"bulan '{sheet.month}' tidak dapat dibaca; rekap dianggap untuk {month} / "
            f"the month '{sheet.month}' could not be read; the recap was taken to be for {month}"
        ]
    return []


def _record_validation(recap_file: RecapFile, month: str, result: ValidationResult) -> None:
    recap_file.month = month
    recap_file.state = "imported"
    recap_file.rows_total = result.rows_total
    recap_file.rows_imported = len(result.good)
    recap_file.rows_refused = result.rows_refused
    recap_file.problems = json.dumps([p.as_dict() for p in result.problems], ensure_ascii=False)


def _log_import(received: ReceivedFile, month: str, result: ValidationResult, summary: ImportSummary) -> None:
    log.info(
        "recap %r from %s for %s: %d rows, %d created, %d updated, %d unchanged, %d refused",
        received.filename,
        received.branch.id,
        month,
        result.rows_total,
        len(summary.created),
        len(summary.updated),
        len(summary.unchanged),
        result.rows_refused,
    )
