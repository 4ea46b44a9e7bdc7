"""Branch recap spreadsheets: the template, the safe tolerant import, and the tickets they become.

Each provincial branch emails a monthly recap of its complaints by the 5th
(DOMAIN.md §8–9). The stages, each usable alone:

* `template.write_template` — the official .xlsx a branch fills in;
* `reader.read_recap` — bytes of an .xlsx or .csv -> `RecapSheet` of raw rows
  (`sheet`), refusing unsafe files (`RecapRefused`) before unpacking them;
* `validate.validate_rows` — raw rows -> good `RecapRow`s and `RowProblem`s
  (`rows`) naming sheet, row and column (pure);
* `store.import_rows` — good rows -> tickets, exactly once per branch, month
  and row;
* `receive.receive_recap` — all of the above for one attachment, keeping the
  file as a `RecapFile`;
* `intake.handle_recap_mail` — a recap mail: every spreadsheet received, the
  forms kept, open head-office rows announced to their department
  (`notice`), major tickets escalated, the branch answered: the one call the
  mail pipeline makes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from daemon.recap.reader import read_recap
    from daemon.recap.receive import RecapOutcome, ReceivedFile, receive_recap
    from daemon.recap.rows import RecapRow, RowProblem, ValidationResult
    from daemon.recap.sheet import RecapLimits, RecapRefused, RecapSheet
    from daemon.recap.store import ImportedRow, ImportSummary, ImportTerms, import_rows
    from daemon.recap.template import write_template
    from daemon.recap.validate import validate_rows

_HOMES = {
    "read_recap": "reader",
    "RecapOutcome": "receive",
    "ReceivedFile": "receive",
    "receive_recap": "receive",
    "RecapRow": "rows",
    "RowProblem": "rows",
    "ValidationResult": "rows",
    "RecapLimits": "sheet",
    "RecapRefused": "sheet",
    "RecapSheet": "sheet",
    "ImportedRow": "store",
    "ImportSummary": "store",
    "ImportTerms": "store",
    "import_rows": "store",
    "write_template": "template",
    "validate_rows": "validate",
}
"""Where each name of `__all__` lives. Importing any module of this package runs this file, so it
loads none of them: the daemon needs `desk` and `intake` at start-up, and `reader` and
`template` load openpyxl (issue 17: the daemon's memory)."""


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


__all__ = [
    "ImportSummary",
    "ImportTerms",
    "ImportedRow",
    "RecapLimits",
    "RecapOutcome",
    "RecapRefused",
    "RecapRow",
    "RecapSheet",
    "ReceivedFile",
    "RowProblem",
    "ValidationResult",
    "import_rows",
    "read_recap",
    "receive_recap",
    "validate_rows",
    "write_template",
]
