"""Finding the recap in rows of cells: the header row, the branch and month above it, the data below.

Both formats end up here as numbered rows of cell values, one sheet at a time
(a CSV is one sheet). This module owns what makes a row the header (it names
our required columns, and the most of our columns among a sheet's first
rows), how the template's branch and month labels above it are read, which
rows count as data (an empty or only pre-numbered row does not), and the
limit on how many data rows a file may have. The `Collector` gathers every
sheet of one file into a `RecapSheet`.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Literal

from openpyxl.utils.cell import get_column_letter

from daemon.recap.columns import BRANCH_LABELS, MONTH_LABELS, REQUIRED_COLUMNS, column_for, is_label
from daemon.recap.sheet import (
    CellValue,
    RecapLimits,
    RecapRefused,
    RecapSheet,
    SheetRow,
    Table,
    not_a_workbook,
)

HEADER_SCAN_ROWS = 30
"""The header row must be among a sheet's first rows; a branch may put a title above it."""
MAX_COLUMNS = 64
"""Columns past this are never looked at: the template has 15, and a hostile
sheet with a cell in column XFD would otherwise widen every row to 16,384 cells."""
EXCEL_MAX_ROWS = 1_048_576

NumberedRows = Iterable[tuple[int, Sequence[CellValue]]]
"""A sheet's rows with the row number Excel shows (for CSV: the record number)."""


def header_columns(cells: Sequence[CellValue]) -> dict[int, str]:
    """Position -> column key for the header cells of a row; the first of a key wins."""
    found: dict[int, str] = {}
    for position, value in enumerate(cells[:MAX_COLUMNS]):
        if isinstance(value, str) and 0 < len(value) <= 120:
            key = column_for(value)
            if key is not None and key not in found.values():
                found[position] = key
    return found


def _is_header(columns: Mapping[int, str]) -> bool:
    keys = set(columns.values())
    return all(key in keys for key in REQUIRED_COLUMNS)


def _is_empty(value: CellValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _no_header() -> RecapRefused:
    return RecapRefused(
        "baris judul kolom tidak ditemukan; gunakan templat rekap (minimal kolom 'Tanggal Diterima' "
        "dan 'Uraian Keluhan')",
        "no header row found; use the recap template (at least the columns 'Date received' and "
        "'Description')",
    )


class Collector:
    """Gathers the tables of every sheet of one file, and enforces the row limit."""

    def __init__(self, limits: RecapLimits) -> None:
        self.limits = limits
        self.tables: list[Table] = []
        self.rows: list[SheetRow] = []
        self.notes: list[str] = []
        self.branch: str | None = None
        self.month: CellValue = None

    def read(self, sheet: str, rows: NumberedRows, uncached: Collection[tuple[int, int]]) -> bool:
        """Read one sheet; False when it has no header row (and so no recap).

        The header row is the one among the first rows that names the most of
        our columns, the date and the description among them: a title or a
        `Tanggal | Keluhan` line above the real header does not win.
        `uncached` holds the (row, column) of formulas without a cached value.
        """
        iterator = iter(rows)
        head = list(itertools.islice(iterator, HEADER_SCAN_ROWS))
        best: tuple[int, dict[int, str]] | None = None
        for index, (_number, cells) in enumerate(head):
            columns = header_columns(cells)
            if _is_header(columns) and (best is None or len(columns) > len(best[1])):
                best = (index, columns)
        if best is None:
            return False
        index, columns = best
        number, cells = head[index]
        self._labels([cells for _, cells in head[:index]])
        self.tables.append(_table(sheet, number, cells, columns))
        self._data(sheet, columns, itertools.chain(head[index + 1 :], iterator), uncached)
        return True

    def _labels(self, rows: Sequence[Sequence[CellValue]]) -> None:
        """The branch and month written above the header (the template's B1 and B2)."""
        for cells in rows:
            for position, value in enumerate(cells[:MAX_COLUMNS]):
                if not isinstance(value, str) or len(value) > 120:
                    continue
                label, colon, rest = value.partition(":")
                found: CellValue = rest.strip() if colon and rest.strip() else _next_value(cells, position)
                if found is None:
                    continue
                if self.branch is None and is_label(label, BRANCH_LABELS):
                    self.branch = str(found).strip()
                elif self.month is None and is_label(label, MONTH_LABELS):
                    self.month = found

    def _data(
        self,
        sheet: str,
        columns: Mapping[int, str],
        rows: Iterator[tuple[int, Sequence[CellValue]]],
        uncached: Collection[tuple[int, int]],
    ) -> None:
        for number, cells in rows:
            if number > EXCEL_MAX_ROWS:
                raise not_a_workbook()
            values: dict[str, CellValue] = {}
            formulas: set[str] = set()
            for position, key in columns.items():
                value = cells[position] if position < len(cells) else None
                if isinstance(value, str):
                    value = value.strip()
                values[key] = None if _is_empty(value) else value
                if uncached and (number, position + 1) in uncached:
                    formulas.add(key)
            # A row holding nothing but a number is a pre-numbered empty row.
            if not formulas and all(_is_empty(v) for k, v in values.items() if k != "row_ref"):
                continue
            if len(self.rows) >= self.limits.max_rows:
                raise RecapRefused(
                    f"terlalu banyak baris (lebih dari {self.limits.max_rows}); pecah rekap menjadi "
                    "beberapa berkas",
                    f"too many rows (more than {self.limits.max_rows}); split the recap into several files",
                )
            self.rows.append(SheetRow(sheet, number, MappingProxyType(values), frozenset(formulas)))

    def sheet(self, filename: str, kind: Literal["xlsx", "csv"]) -> RecapSheet:
        """Everything read from the file; refused when no sheet had a header row."""
        if not self.tables:
            raise _no_header()
        return RecapSheet(
            filename=filename,
            kind=kind,
            tables=tuple(self.tables),
            rows=tuple(self.rows),
            branch=self.branch or None,
            month=self.month,
            notes=tuple(self.notes),
        )


def _next_value(cells: Sequence[CellValue], position: int) -> CellValue:
    # Only the next two cells: a label's value sits beside it (maybe past a
    # merged cell), while anything further along the row is something else.
    for value in cells[position + 1 : min(position + 3, MAX_COLUMNS)]:
        if not _is_empty(value):
            return value.strip() if isinstance(value, str) else value
    return None


def _table(sheet: str, number: int, cells: Sequence[CellValue], columns: Mapping[int, str]) -> Table:
    ignored = tuple(
        str(value).strip()
        for position, value in enumerate(cells[:MAX_COLUMNS])
        if position not in columns and not _is_empty(value)
    )
    return Table(
        sheet=sheet,
        header_row=number,
        headers=MappingProxyType({key: str(cells[position]).strip() for position, key in columns.items()}),
        letters=MappingProxyType({key: get_column_letter(position + 1) for position, key in columns.items()}),
        ignored=ignored,
    )
