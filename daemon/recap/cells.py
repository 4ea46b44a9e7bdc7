"""Reading recap cells tolerantly: text, drop-down words and dates, however a branch typed them.

This module owns how one cell's value is understood, apart from which column
it is in: a number without a spurious `.0`, a drop-down word in any case and
with trailing punctuation, and a date as an Excel date, a serial number, ISO,
day-first `05/03/2026` or `5 Maret 2026`. A cell that cannot be read raises
`BadCell`, whose Indonesian / English message goes into the row's problem.

Everything here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time

from daemon.recap.columns import header_keys
from daemon.recap.sheet import CellValue

_EXCEL_SERIAL_MAX = 2_958_465  # 9999-12-31


class BadCell(Exception):
    """A cell that cannot be used; the message (Indonesian / English) goes into a RowProblem."""


def cell_text(value: CellValue) -> str:
    """A cell as text: numbers without a spurious `.0`, dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def show(text: str, limit: int = 40) -> str:
    """A cell quoted in a message: one line, and short."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def word(text: str, table: Mapping[str, str]) -> str | None:
    """What a drop-down word stands for: `Selesai`, `SELESAI.` and `selesai (done)` alike."""
    for key in header_keys(text):
        found = table.get(key)
        if found is not None:
            return found
    return None


ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?")
_NUMERIC_DATE = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?:\s.*)?")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[\s-]+([a-z]+)\.?[\s-]+(\d{4})")
_MONTH_DAY_YEAR = re.compile(r"([a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})")
MONTH_NAMES: Mapping[str, int] = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "januari", "january"),
            ("feb", "februari", "pebruari", "february"),
            ("mar", "maret", "march"),
            ("apr", "april"),
            ("mei", "may"),
            ("jun", "juni", "june"),
            ("jul", "juli", "july"),
            ("agu", "agt", "agus", "agustus", "aug", "august"),
            ("sep", "sept", "september"),
            ("okt", "oktober", "oct", "october"),
            ("nov", "nop", "nopember", "november"),
            ("des", "desember", "dec", "december"),
        ),
        start=1,
    )
    for name in names
}


def read_date(value: CellValue, low: date, high: date) -> date:
    """A date cell; of two readings (`03/05/2026`), the one between `low` and `high`."""
    candidates = _date_candidates(value)
    if not candidates:
        shown = show(cell_text(value))
        raise BadCell(
            f"tanggal '{shown}' tidak dapat dibaca, tulis sebagai YYYY-MM-DD atau DD/MM/YYYY / "
            f"cannot read the date '{shown}', write it as YYYY-MM-DD or DD/MM/YYYY"
        )
    for candidate in candidates:
        if low <= candidate <= high:
            return candidate
    return candidates[0]


def _date_candidates(value: CellValue) -> list[date]:
    if isinstance(value, datetime):
        return [value.date()]
    if isinstance(value, date):
        return [value]
    if isinstance(value, bool) or value is None or isinstance(value, time):
        return []
    if isinstance(value, int | float):
        # A date typed into a cell formatted as a number: Excel's serial day.
        if 1 <= value <= _EXCEL_SERIAL_MAX:
            # openpyxl's package loads all of it; only for a recap's cells (issue 17: memory).
            from openpyxl.utils.datetime import from_excel

            serial: datetime = from_excel(value)
            return [serial.date()]
        return []
    return _text_dates(str(value).strip().lower())


def _text_dates(text: str) -> list[date]:
    triples: list[tuple[int, int, int]] = []
    if match := ISO_DATE.fullmatch(text):
        year, month, day = (int(group) for group in match.groups())
        triples.append((year, month, day))
    elif match := _NUMERIC_DATE.fullmatch(text):
        first, second, year = (int(group) for group in match.groups())
        year += 2000 if year < 100 else 0
        # Indonesians write the day first; the month-first reading is only a fallback.
        triples.extend([(year, second, first), (year, first, second)])
    elif match := _DAY_MONTH_YEAR.fullmatch(text):
        day_text, name, year_text = match.groups()
        if name in MONTH_NAMES:
            triples.append((int(year_text), MONTH_NAMES[name], int(day_text)))
    elif (match := _MONTH_DAY_YEAR.fullmatch(text)) and match.group(1) in MONTH_NAMES:
        triples.append((int(match.group(3)), MONTH_NAMES[match.group(1)], int(match.group(2))))
    found: list[date] = []
    for year, month, day in triples:
        try:
            found.append(date(year, month, day))
        except ValueError:
            continue
    return found
