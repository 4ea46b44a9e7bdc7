"""What a recap file becomes once read, and how a file that cannot be read is refused.

This module owns the values that pass from the reader to validation: the raw
cell value, a sheet's `Table` (where its header row is and which columns it
has), a `SheetRow` of raw cells, and the `RecapSheet` holding them all. It also
owns `RecapLimits`, how big a file may be, and `RecapRefused`, the exception
every refusal is, with the refusals that more than one format check shares.

Nothing here reads a file; see `daemon.recap.reader`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Literal

CellValue = str | int | float | bool | date | datetime | time | None
"""What a cell holds: text from a CSV; text, numbers, dates or booleans from a workbook."""

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class RecapLimits:
    """How big a recap may be; anything larger is refused before it is unpacked."""

    max_compressed_bytes: int = 10 * MiB
    """The file as attached (for CSV, the file itself)."""
    max_uncompressed_bytes: int = 50 * MiB
    max_ratio: int = 100
    """Uncompressed over compressed size, per zip entry (entries over 1 MiB)."""
    max_entries: int = 1000
    max_rows: int = 20_000
    """Non-empty data rows over all sheets."""
    max_sheet_rows: int = 25_000
    """Rows a sheet's XML may hold, empty ones included: counted before openpyxl reads a byte."""
    max_sheet_cells: int = 1_000_000
    """Cells a sheet's XML may hold, counted the same way."""


class RecapRefused(Exception):
    """A recap file that is not imported at all; the reason is for the reply to the branch."""

    def __init__(self, indonesian: str, english: str) -> None:
        super().__init__(f"{indonesian} / {english}")
        self.indonesian = indonesian
        self.english = english

    @property
    def reason(self) -> str:
        """Indonesian first, then English, as every reply to a branch."""
        return str(self)


@dataclass(frozen=True, slots=True)
class Table:
    """Where one sheet's recap sits: its header row and the columns found in it."""

    sheet: str
    header_row: int
    headers: Mapping[str, str]
    """Column key -> the header as written in the file."""
    letters: Mapping[str, str]
    """Column key -> its column letter (`C`), as Excel shows it."""
    ignored: tuple[str, ...] = ()
    """Headers the reader does not know; their cells are not imported."""


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One non-empty data row: raw cell values by column key, and where it is."""

    sheet: str
    row: int
    """The row number Excel shows (for CSV: the record number, header included)."""
    values: Mapping[str, CellValue]
    formula_without_value: frozenset[str] = frozenset()
    """Columns whose cell holds a formula with no cached value (read as empty)."""


@dataclass(frozen=True)
class RecapSheet:
    """A recap file as read: its tables, rows, and the branch and month written at the top."""

    filename: str
    kind: Literal["xlsx", "csv"]
    tables: tuple[Table, ...]
    rows: tuple[SheetRow, ...]
    branch: str | None = None
    """The branch cell's text (B1 in the template), None when there is none."""
    month: CellValue = None
    """The month cell's value (B2 in the template): text, a date, or None."""
    notes: tuple[str, ...] = ()
    """Things worth telling the branch that did not stop the import (skipped sheets, ...)."""
    _by_sheet: Mapping[str, Table] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_sheet", MappingProxyType({t.sheet: t for t in self.tables}))

    def table(self, sheet: str) -> Table:
        return self._by_sheet[sheet]


# ---------------------------------------------------------------------------
# Refusals more than one check makes
# ---------------------------------------------------------------------------


def size_text(count: int) -> str:
    """A byte count as a refusal states it: MB from one MiB up, else bytes."""
    return f"{count / MiB:.1f} MB" if count >= MiB else f"{count} bytes"


def macro_refusal() -> RecapRefused:
    """A macro-enabled workbook, known by its name or by what its zip holds."""
    return RecapRefused(
        "berkas berisi makro (macro-enabled) dan tidak dibuka; simpan sebagai .xlsx biasa tanpa makro",
        "the file is macro-enabled and was not opened; save it as a plain .xlsx workbook without macros",
    )


def not_a_workbook() -> RecapRefused:
    """A file that is damaged, or not the workbook it claims to be, at whatever stage that shows."""
    return RecapRefused(
        "berkas tidak dapat dibaca sebagai buku kerja Excel (.xlsx); mungkin rusak",
        "the file cannot be read as an Excel workbook (.xlsx); it may be damaged",
    )
