"""What a recap file says about itself: the month it covers, and whether it is the sender's branch's.

This module owns the two cells above the header (the template's B1 branch and
B2 month) as they bear on the whole file. The month comes from the month
cell, else the file name (`rekap-2026-03.xlsx`), else it is the month before
the recap arrived, since recaps are due by the 5th. A file naming another
branch than the sender's is refused (`branch_mismatch`).

Everything here is pure.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from daemon.recap.cells import ISO_DATE, MONTH_NAMES, cell_text, show
from daemon.recap.columns import key_of
from daemon.recap.sheet import CellValue, RecapRefused, RecapSheet
from daemon.route.rules import Branch

_YEAR_MONTH = re.compile(r"(\d{4})[-/._ ](\d{1,2})")
_MONTH_YEAR = re.compile(r"(\d{1,2})[-/._ ](\d{4})")
_NAMED_MONTH = re.compile(r"([a-z]+)[-/._ ]*(\d{4})")
_FILENAME_MONTH = re.compile(
    r"(?<!\d)(20\d{2})[-_. ]?(0[1-9]|1[0-2])(?!\d)"  # rekap-2026-03, rekap_202603
    r"|(?<!\d)(0[1-9]|1[0-2])[-_. ](20\d{2})(?!\d)"  # rekap 03-2026
)


def parse_month(value: CellValue) -> str | None:
    """`YYYY-MM` from a month cell: `2026-03`, `03/2026`, `Maret 2026`, or a date in the month."""
    if isinstance(value, datetime):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, date):
        return f"{value.year:04d}-{value.month:02d}"
    text = cell_text(value).lower()
    year = month = 0
    if (match := ISO_DATE.fullmatch(text)) or (match := _YEAR_MONTH.fullmatch(text)):
        year, month = int(match.group(1)), int(match.group(2))
    elif match := _MONTH_YEAR.fullmatch(text):
        month, year = int(match.group(1)), int(match.group(2))
    elif (match := _NAMED_MONTH.fullmatch(text)) and match.group(1) in MONTH_NAMES:
        month, year = MONTH_NAMES[match.group(1)], int(match.group(2))
    if 1 <= month <= 12 and 1900 <= year <= 9999:
        return f"{year:04d}-{month:02d}"
    return None


def recap_month(sheet: RecapSheet, *, received: date) -> str:
    """Which month a recap is for: its month cell, else its file name, else the month before `received`.

    Recaps are sent in the first days of the month after the one they cover,
    so without any other sign the previous month is the right guess.
    """
    from_cell = parse_month(sheet.month) if sheet.month is not None else None
    if from_cell:
        return from_cell
    match = _FILENAME_MONTH.search(sheet.filename)
    if match:
        year, month = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
        return f"{year}-{month}"
    previous = received.replace(day=1) - timedelta(days=1)
    return f"{previous.year:04d}-{previous.month:02d}"


def branch_mismatch(sheet: RecapSheet, branch: Branch) -> RecapRefused | None:
    """The refusal when the file names another branch than the sender's; None when it agrees or is blank.

    The sender's address decides the branch; a file naming another branch is
    most likely that branch's recap forwarded by mistake, and importing it
    would file its complaints under the wrong branch.
    """
    if not sheet.branch:
        return None
    written = key_of(sheet.branch)
    names = [branch.id, branch.name, *branch.emails]
    if branch.province:
        names.append(branch.province)
    keys = {key_of(name) for name in names}
    keys |= {key.removeprefix("biro ") for key in keys}
    if written in keys or written.removeprefix("biro ") in keys:
        return None
    return RecapRefused(
        f"berkas ini untuk biro '{show(sheet.branch)}', tetapi dikirim dari alamat {branch.name}",
        f"this file is for branch '{show(sheet.branch)}' but was sent from the address of {branch.name}",
    )


def month_start(month: str) -> date:
    """The first day of `month` (`YYYY-MM`); ValueError when it is no month."""
    found = parse_month(month)
    if found is None:
        raise ValueError(f"not a month (YYYY-MM): {month!r}")
    return date(int(found[:4]), int(found[5:]), 1)


def month_end(first_day: date) -> date:
    """The last day of the month that starts on `first_day`."""
    return (first_day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
