"""Text cells that stay text: no customer's subject becomes a live spreadsheet formula.

A subject such as `=HYPERLINK("http://evil…")` or `=cmd|' /C calc'!A0` is
evaluated by Excel and LibreOffice when a report cell starts with a formula
sign. This module owns the one rule both report formats follow:

* in CSV, a text value that starts with a formula sign (`=`, `+`, `-`, `@`,
  tab, carriage return, or their full-width forms), or with spaces before
  one, is prefixed with a single quote, as OWASP recommends for CSV
  injection; numbers, dates and flags are written as they are;
* in xlsx, every text value is written as a string cell (openpyxl would
  otherwise store a text starting with `=` as a formula), with the quote
  prefix style on those that look like formulas, so that editing the cell
  does not turn it into one either.

Everything here is pure.
"""

from __future__ import annotations

import re

from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_SIGNS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
"""What a spreadsheet may read as the start of a formula: ASCII, and the full-width
forms some programs (and Japanese or Chinese input methods) treat alike."""

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Control characters an xlsx cannot hold (openpyxl refuses them)."""


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet could read `text` as a formula."""
    stripped = text.lstrip(" \u00a0\u3000")
    return bool(stripped) and (stripped[0] in FORMULA_SIGNS or text[0] in FORMULA_SIGNS)


def csv_text(text: str) -> str:
    """Text for a CSV cell: prefixed with `'` when it could start a formula."""
    return "'" + text if looks_like_formula(text) else text


def put(sheet: Worksheet, row: int, column: int, value: object) -> Cell | MergedCell:
    """Write one value into a cell: text always as a string cell, never a formula."""
    cell = sheet.cell(row, column)
    if isinstance(value, str):
        text = _ILLEGAL.sub("\ufffd", value)
        cell.value = text
        # openpyxl typed a text starting with "=" as a formula; a report never holds one.
        cell.data_type = "s"
        if looks_like_formula(text):
            cell.quotePrefix = True
    else:
        cell.value = value  # type: ignore[assignment]  # numbers, dates, None: as they are
    return cell
