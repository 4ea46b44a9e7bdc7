"""What validating a recap yields: good `RecapRow`s, `RowProblem`s, and the count of both.

This module owns the values validation takes and hands on: `Choices`, what
the cells may name from rules.yaml (its products and categories); a
`RecapRow`, one good row, normalised, and what a ticket is made or updated
from; its `row_key` is the row's identity within its branch and month,
stable across re-sent files.
A `RowProblem` names the sheet, the row number Excel shows and the column
header as the branch wrote it, so the reply can say exactly what to fix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from daemon.recap.columns import key_of
from daemon.route.rules import Categories, Product, Rules, Severity

RecapStatus = Literal["new", "in_progress", "resolved"]
HandledBy = Literal["branch", "head-office"]


@dataclass(frozen=True)
class Choices:
    """What a recap's cells may name from rules.yaml: its products and its categories."""

    products: tuple[Product, ...] = ()
    categories: Categories = field(default_factory=Categories)

    @classmethod
    def of(cls, rules: Rules) -> Choices:
        return cls(tuple(rules.products.values()), rules.categories)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one row was not imported: sheet, row and column as the branch sees them."""

    sheet: str
    row: int
    column: str
    """The column header as written in the file."""
    message: str
    """Indonesian / English."""
    cell: str = ""
    """The cell's address (`C7`) when the column exists in the file."""

    def __str__(self) -> str:
        where = f" ({self.cell})" if self.cell else ""
        return f"{self.sheet}, baris/row {self.row}, kolom/column '{self.column}'{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "cell": self.cell,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class RecapRow:
    """One good recap row, normalised: what a ticket is made or updated from."""

    sheet: str
    row: int
    row_ref: str | None
    """The branch's own complaint number (`No.`), when given."""
    received: date
    customer: str
    organisation: str
    pic: str
    """The contact cell as written; `pic_phone` / `pic_email` are what was found in it."""
    pic_phone: str
    pic_email: str
    product: str | None
    """A product id from rules.yaml, or None when the row names none."""
    channel: str
    description: str
    category: str
    """A name from the `categories:` of rules.yaml, as the list spells it; '' when the row has none."""
    severity: Severity
    root_cause: str
    action: str
    completed: date | None
    status: RecapStatus
    handled_by: HandledBy

    @property
    def row_key(self) -> str:
        """The row's identity within its branch and month, stable across re-sent files.

        The branch's own number when there is one (a number with leading zeros
        is the same number: Excel drops them); otherwise a hash of the date,
        customer and description, which is what identifies a complaint then.
        """
        if self.row_ref:
            ref = key_of(self.row_ref)
            return "ref:" + (str(int(ref)) if ref.isdigit() else ref)
        content = "\x1f".join((self.received.isoformat(), key_of(self.customer), key_of(self.description)))
        return "sha256:" + hashlib.sha256(content.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ValidationResult:
    """The rows of one file split into good ones and problems, with every row not imported."""

    good: list[RecapRow]
    problems: list[RowProblem]
    rows_total: int = 0
    refused_rows: tuple[tuple[str, int], ...] = field(default=())
    """(sheet, row) of every row not imported, in file order."""

    @property
    def rows_refused(self) -> int:
        return len(self.refused_rows)
