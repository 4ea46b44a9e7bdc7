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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlmodel import Session

from daemon.recap.reader import RecapLimits, RecapRefused, read_recap
from daemon.recap.store import JAKARTA, ImportSummary, import_rows
from daemon.recap.validate import RowProblem, branch_mismatch, parse_month, recap_month, validate_rows
from daemon.route.rules import Branch, Rules
from daemon.store.models import RecapFile

log = logging.getLogger("caredesk.recap")


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
    session: Session,
    *,
    branch: Branch,
    filename: str,
    data: bytes,
    inbound_id: int | None,
    rules: Rules,
    clock: Callable[[], datetime],
    reference_prefix: str,
    zone: tzinfo = JAKARTA,
    limits: RecapLimits | None = None,
) -> RecapOutcome:
    """Keep, read, validate and import one recap file sent by `branch`."""
    now = clock()
    recap_file = RecapFile(
        branch=branch.id,
        received_at=now,
        inbound_id=inbound_id,
        filename=filename[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        raw=data,
    )
    today = now.astimezone(zone).date()
    notes: list[str] = []
    try:
        sheet = read_recap(filename, data, limits=limits or RecapLimits())
        mismatch = branch_mismatch(sheet, branch)
        if mismatch is not None:
            raise mismatch
    except RecapRefused as refusal:
        recap_file.state, recap_file.reason = "refused", refusal.reason
        session.add(recap_file)
        session.flush()
        log.info("recap %r from %s refused: %s", filename, branch.id, refusal.english)
        return RecapOutcome(recap_file, "", refused=refusal)
    month = recap_month(sheet, received=today)
    if sheet.month is not None and parse_month(sheet.month) is None:
        notes.append(
            f"bulan '{sheet.month}' tidak dapat dibaca; rekap dianggap untuk {month} / "
            f"the month '{sheet.month}' could not be read; the recap was taken to be for {month}"
        )
    result = validate_rows(sheet, branch=branch, month=month, products=rules.products.values(), today=today)
    recap_file.month = month
    recap_file.state = "imported"
    recap_file.rows_total = result.rows_total
    recap_file.rows_imported = len(result.good)
    recap_file.rows_refused = result.rows_refused
    recap_file.problems = json.dumps([p.as_dict() for p in result.problems], ensure_ascii=False)
    session.add(recap_file)
    session.flush()
    summary = import_rows(
        session,
        branch=branch,
        month=month,
        rows=result.good,
        recap_file=recap_file,
        rules=rules,
        clock=clock,
        reference_prefix=reference_prefix,
        zone=zone,
    )
    recap_file.rows_created = len(summary.created)
    recap_file.rows_updated = len(summary.updated)
    recap_file.rows_unchanged = len(summary.unchanged)
    session.add(recap_file)
    log.info(
        "recap %r from %s for %s: %d rows, %d created, %d updated, %d unchanged, %d refused",
        filename,
        branch.id,
        month,
        result.rows_total,
        len(summary.created),
        len(summary.updated),
        len(summary.unchanged),
        result.rows_refused,
    )
    return RecapOutcome(
        recap_file,
        month,
        problems=tuple(result.problems),
        summary=summary,
        notes=(*sheet.notes, *notes),
    )
