"""Target dates as staff write them after `#target`: ISO, day-first numbers, month names.

Indonesian and English month names and their usual abbreviations are read;
two-digit years and month-first numbers are not, so a date is never guessed.
"""

from __future__ import annotations

import re
from datetime import date

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("januari", "january", "jan"),
            ("februari", "pebruari", "february", "feb", "peb"),
            ("maret", "march", "mar"),
            ("april", "apr"),
            ("mei", "may"),
            ("juni", "june", "jun"),
            ("juli", "july", "jul"),
            ("agustus", "august", "agu", "agt", "ags", "aug"),
            ("september", "sep", "sept"),
            ("oktober", "october", "okt", "oct"),
            ("november", "nopember", "nov", "nop"),
            ("desember", "december", "des", "dec"),
        ),
        start=1,
    )
    for name in names
}
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")
_DAY_MONTH_NAME = re.compile(r"(\d{1,2})\s+([^\W\d_]+)\.?,?\s+(\d{4})")
_MONTH_NAME_DAY = re.compile(r"([^\W\d_]+)\.?\s+(\d{1,2}),?\s+(\d{4})")


def parse_date(text: str) -> date | None:
    """A target date as staff write it, day first; None if it is not one.

    Accepted: 2026-12-05, 05-12-2026, 5/12/2026, 5.12.2026, 5 Desember 2026,
    5 Des 2026, 5 December 2026, December 5, 2026. Two-digit years and
    month-first numbers are not dates here: 12/5/2026 is the 12th of May.
    """
    text = text.strip().rstrip(".").strip()
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = match[1], match[2], match[3]
    elif match := _DAY_FIRST.fullmatch(text):
        day, month, year = match[1], match[3], match[4]
    elif match := _DAY_MONTH_NAME.fullmatch(text):
        day, month, year = match[1], str(_MONTHS.get(match[2].casefold(), 0)), match[3]
    elif match := _MONTH_NAME_DAY.fullmatch(text):
        month, day, year = str(_MONTHS.get(match[1].casefold(), 0)), match[2], match[3]
    else:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None
