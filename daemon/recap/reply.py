"""What the reply to a branch's recap mail shows, as the context of templates/recap_reply.txt.

This module owns the reply's content (pure): for every file its outcome, its
refusal reason or its counts, its problems grouped by sheet (the first
`MAX_LISTED_PROBLEMS`; the rest are counted, and all are kept on the
`RecapFile`), the rows a corrected file updated, and its notes; then the
complaint forms kept and the major tickets escalated, with the totals the
subject line gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from daemon.recap.receive import RecapOutcome
from daemon.route.rules import Branch

MAX_LISTED_PROBLEMS = 1000
"""Problems listed in one reply per file; the rest are counted (all are kept on the `RecapFile`)."""
MAX_LISTED_UPDATES = 200


@dataclass(frozen=True, slots=True)
class MailOutcome:
    """What became of one branch's recap mail: each file, the forms kept, the tickets escalated."""

    files: Sequence[RecapOutcome]
    forms: Sequence[Mapping[str, object]]
    """One entry per complaint form kept (see `form_entry`)."""
    escalated: Sequence[Mapping[str, str]]
    """One entry per major ticket: its reference, department and the General Manager it went to."""

    @property
    def months(self) -> list[str]:
        """The months (`YYYY-MM`) of the files imported, in order."""
        return sorted({outcome.month for outcome in self.files if outcome.imported})


def reply_context(
    outcome: MailOutcome, *, org: Mapping[str, str], branch: Branch, received: datetime
) -> dict[str, object]:
    """What templates/recap_reply.txt shows: one entry per file, the forms and the escalations."""
    outcomes = outcome.files
    return {
        "org": dict(org),
        "branch": {"id": branch.id, "name": branch.name},
        "received": received.strftime("%d-%m-%Y %H:%M %Z"),
        "files": [file_context(file) for file in outcomes],
        "months": outcome.months,
        "totals": {
            "imported": sum(file.recap_file.rows_imported for file in outcomes),
            "refused_rows": sum(file.recap_file.rows_refused for file in outcomes),
            "refused_files": sum(1 for file in outcomes if not file.imported),
        },
        "forms": list(outcome.forms),
        "escalated": list(outcome.escalated),
    }


def form_entry(filename: str, content_type: str, size: int) -> dict[str, object]:
    """How the reply lists one complaint form kept."""
    return {"filename": filename, "content_type": content_type, "size": _size(size)}


def file_context(outcome: RecapOutcome) -> dict[str, object]:
    """One file's entry in the reply: its outcome, counts, problems by sheet, updates and notes."""
    recap = outcome.recap_file
    summary = outcome.summary
    sheets: dict[str, list[dict[str, object]]] = {}
    for problem in outcome.problems[:MAX_LISTED_PROBLEMS]:
        sheets.setdefault(problem.sheet, []).append(
            {"row": problem.row, "column": problem.column, "cell": problem.cell, "message": problem.message}
        )
    updated = summary.updated if summary is not None else ()
    return {
        "filename": recap.filename,
        "month": outcome.month,
        "imported": outcome.imported,
        "reason_id": outcome.refused.indonesian if outcome.refused is not None else "",
        "reason_en": outcome.refused.english if outcome.refused is not None else "",
        "rows_total": recap.rows_total,
        "rows_imported": recap.rows_imported,
        "rows_refused": recap.rows_refused,
        "created": len(summary.created) if summary is not None else 0,
        "updated": len(updated),
        "unchanged": len(summary.unchanged) if summary is not None else 0,
        "problems_total": len(outcome.problems),
        "problems_unlisted": max(0, len(outcome.problems) - MAX_LISTED_PROBLEMS),
        "sheets": [{"name": name, "problems": problems} for name, problems in sheets.items()],
        "updated_rows": [
            {"sheet": r.sheet, "row": r.row, "reference": r.reference, "changes": ", ".join(r.changes)}
            for r in updated[:MAX_LISTED_UPDATES]
        ],
        "updated_unlisted": max(0, len(updated) - MAX_LISTED_UPDATES),
        "notes": list(outcome.notes),
    }


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB"
    if count >= 1024:
        return f"{count / 1024:.0f} kB"
    return f"{count} bytes"
