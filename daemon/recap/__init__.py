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

from daemon.recap.reader import read_recap
from daemon.recap.receive import RecapOutcome, ReceivedFile, receive_recap
from daemon.recap.rows import RecapRow, RowProblem, ValidationResult
from daemon.recap.sheet import RecapLimits, RecapRefused, RecapSheet
from daemon.recap.store import ImportedRow, ImportSummary, ImportTerms, import_rows
from daemon.recap.template import write_template
from daemon.recap.validate import validate_rows

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
