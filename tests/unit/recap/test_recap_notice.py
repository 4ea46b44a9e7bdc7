"""Which rows of a recap mail reach their owning department: those new or changed, head office's, open."""

from __future__ import annotations

from daemon.recap.notice import RowPlace, department_rows
from daemon.recap.receive import RecapOutcome
from daemon.recap.sheet import RecapRefused
from daemon.recap.store import ImportedRow, ImportSummary
from daemon.store.models import RecapFile


def outcome(month: str, summary: ImportSummary | None, refused: RecapRefused | None = None) -> RecapOutcome:
    return RecapOutcome(RecapFile(branch="biro-jatim"), month, refused=refused, summary=summary)


def row(number: int, ticket_id: int, *, for_department: bool, changes: tuple[str, ...] = ()) -> ImportedRow:
    return ImportedRow("Rekap", number, ticket_id, f"CC-2026-{ticket_id:06d}", changes, for_department)


def test_rows_for_the_department_are_found_among_created_updated_and_unchanged() -> None:
    summary = ImportSummary(
        created=(row(5, 1, for_department=True), row(6, 2, for_department=False)),
        updated=(row(7, 3, for_department=True, changes=("pic_phone",)),),
        unchanged=(row(8, 4, for_department=True), row(9, 5, for_department=False)),
    )
    assert department_rows([outcome("2026-03", summary)]) == {
        1: RowPlace("2026-03", "Rekap", 5),
        3: RowPlace("2026-03", "Rekap", 7),
        4: RowPlace("2026-03", "Rekap", 8),
    }


def test_a_refused_file_and_a_file_of_branch_rows_reach_nobody() -> None:
    refused = outcome("", None, RecapRefused("ditolak", "refused"))
    own = outcome("2026-02", ImportSummary((row(5, 9, for_department=False),), (), ()))
    assert department_rows([refused, own]) == {}
