"""Text cells that stay text: no customer's subject becomes a live spreadsheet formula.

A subject such as `=HYPERLINK("http://evil…")` or `=cmd|' /C calc'!A0` is
evaluated by Excel and LibreOffice when a report cell starts with a formula
sign. This module owns the one rule both report formats follow:

* in CSV, a text value that starts with a formula sign (`=`, `+`, `-`, `@`,
  tab, carriage return, or their full-width forms), or with spaces before
  one, is prefixed with a single quote, as OWASP recommends for CSV
  injection; numbers, dates and flags are written as they are;
* in xlsx, every text value is written as a string cell (a spreadsheet
  library's generic write would store a text starting with `=` as a formula,
  and `#N/A` as an error), with the quote prefix style on those that look like formulas, so
  that editing the cell does not turn it into one either (`xlsx_text` says
  which, `daemon.report.xlsx_out` writes the cells).

Everything here is pure.
"""

from __future__ import annotations

import re

FORMULA_SIGNS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
"""What a spreadsheet may read as the start of a formula: ASCII, and the full-width
forms some programs (and Japanese or Chinese input methods) treat alike."""

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Control characters an xlsx cannot hold (openpyxl refuses them)."""
XLSX_LONGEST = 32767
"""The longest text a spreadsheet cell holds; longer is cut, as openpyxl cuts it."""


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet could read `text` as a formula."""
    stripped = text.lstrip(" \u00a0\u3000")
    return bool(stripped) and (stripped[0] in FORMULA_SIGNS or text[0] in FORMULA_SIGNS)


def csv_text(text: str) -> str:
    """Text for a CSV cell: prefixed with `'` when it could start a formula."""
    return "'" + text if looks_like_formula(text) else text


def xlsx_text(value: str) -> tuple[str, bool]:
    """Text for an xlsx string cell, and whether the cell gets the quote prefix (it looks like a formula)."""
    text = _ILLEGAL.sub("\ufffd", value)[:XLSX_LONGEST]
    return text, looks_like_formula(text)
