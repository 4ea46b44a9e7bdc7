"""Checking a recap's rows and turning the good ones into normalised `RecapRow`s.

This module owns what a recap row must say. A row is imported only when it is
good; a bad one (missing or unreadable date, date outside the recap month or in
the future, unknown product, invalid severity, status or handler, empty
description, a formula without a value, a value too long to keep, the same
complaint twice) is left out, and each of its problems names the sheet, the
row number Excel shows and the column header as the branch wrote it, so the
reply can say exactly what to fix. Messages are Indonesian / English.

Values are read tolerantly: dates as Excel dates, serial numbers, ISO, day-
first `05/03/2026` or `5 Maret 2026`; words in any case with their known
aliases (`mayor`/`major`, `selesai`/`done`, `telp`/`phone`, ...). Where the
template leaves a cell optional the defaults are: severity minor, channel
other, handled by the branch, and status `selesai` when a completion date is
given, else `baru`. An empty product is allowed: routing then detects it from
the description like any complaint.

Everything here is pure: values in, values out.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal, cast

from openpyxl.utils.datetime import from_excel

from daemon.parse.contact import extract_contact
from daemon.recap.columns import (
    CHANNEL_WORDS,
    COLUMN_BY_KEY,
    HANDLED_BY_WORDS,
    SEVERITY_WORDS,
    STATUS_WORDS,
    header_keys,
    key_of,
    word_table,
)
from daemon.recap.reader import CellValue, RecapRefused, RecapSheet, SheetRow
from daemon.route.rules import Branch, Product, Severity

RecapStatus = Literal["new", "in_progress", "resolved"]
HandledBy = Literal["branch", "head-office"]

_SEVERITIES = word_table(SEVERITY_WORDS)
_STATUSES = word_table(STATUS_WORDS)
_CHANNELS = word_table(CHANNEL_WORDS)
_HANDLERS = word_table(HANDLED_BY_WORDS)
MAX_LENGTHS = {"customer": 320, "organisation": 320, "category": 64, "row_ref": 64, "pic": 1000}
"""What the ticket columns can hold; a longer value is a problem, never cut silently."""
_EXCEL_SERIAL_MAX = 2_958_465  # 9999-12-31


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
    good: list[RecapRow]
    problems: list[RowProblem]
    rows_total: int = 0
    refused_rows: tuple[tuple[str, int], ...] = field(default=())
    """(sheet, row) of every row not imported, in file order."""

    @property
    def rows_refused(self) -> int:
        return len(self.refused_rows)


class _Bad(Exception):
    """A cell that cannot be used; the message goes into a RowProblem."""


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def validate_rows(
    sheet: RecapSheet,
    *,
    branch: Branch,
    month: str,
    products: Iterable[Product],
    today: date,
) -> ValidationResult:
    """Split the rows of `sheet` into good `RecapRow`s and problems; `month` is `YYYY-MM`."""
    first_day = _month_start(month)
    checker = _RowChecker(branch, first_day, tuple(products), today)
    good: list[RecapRow] = []
    problems: list[RowProblem] = []
    refused: list[tuple[str, int]] = []
    seen: dict[str, SheetRow] = {}
    for raw in sheet.rows:
        row, row_problems = checker.check(sheet, raw)
        if row is not None:
            earlier = seen.get(row.row_key)
            if earlier is not None:
                row_problems.append(_duplicate(sheet, raw, earlier, row))
            else:
                seen[row.row_key] = raw
        if row_problems or row is None:
            problems.extend(row_problems)
            refused.append((raw.sheet, raw.row))
        else:
            good.append(row)
    return ValidationResult(good, problems, len(sheet.rows), tuple(refused))


def _duplicate(sheet: RecapSheet, raw: SheetRow, earlier: SheetRow, row: RecapRow) -> RowProblem:
    where = f"{earlier.sheet} {earlier.row}" if earlier.sheet != raw.sheet else str(earlier.row)
    if row.row_ref:
        return _problem(
            sheet,
            raw,
            "row_ref",
            f"nomor '{row.row_ref}' sudah dipakai di baris {where}",
            f"number '{row.row_ref}' is already used on row {where}",
        )
    return _problem(
        sheet,
        raw,
        "description",
        f"keluhan yang sama (tanggal, pelanggan, uraian) sudah ada di baris {where}",
        f"the same complaint (date, customer, description) is already on row {where}",
    )


def _problem(sheet: RecapSheet, raw: SheetRow, key: str, indonesian: str, english: str) -> RowProblem:
    table = sheet.table(raw.sheet)
    header = table.headers.get(key)
    letter = table.letters.get(key)
    return RowProblem(
        sheet=raw.sheet,
        row=raw.row,
        column=header if header is not None else COLUMN_BY_KEY[key].header,
        message=f"{indonesian} / {english}",
        cell=f"{letter}{raw.row}" if letter else "",
    )


class _RowChecker:
    """Reads one raw row's cells into a RecapRow, collecting a problem per bad cell."""

    def __init__(self, branch: Branch, first_day: date, products: Sequence[Product], today: date) -> None:
        self.branch = branch
        self.first_day = first_day
        self.last_day = _month_end(first_day)
        self.products = _product_table(products)
        self.product_names = {product.id: product.name for product in products}
        self.today = today
        self.handlers = dict(_HANDLERS)
        for name in (branch.id, branch.name):
            self.handlers.setdefault(key_of(name), "branch")

    def check(self, sheet: RecapSheet, raw: SheetRow) -> tuple[RecapRow | None, list[RowProblem]]:
        problems: list[RowProblem] = []

        def cell(key: str, parse: _Parser) -> object:
            if key in raw.formula_without_value:
                problems.append(_problem(sheet, raw, key, "rumus tanpa nilai", "formula without a value"))
                return None
            try:
                return parse(self, raw.values.get(key))
            except _Bad as bad:
                indonesian, _, english = str(bad).partition(" / ")
                problems.append(_problem(sheet, raw, key, indonesian, english))
                return None

        found = {key: cell(key, parse) for key, parse in _PARSERS.items()}
        received, completed = found["received"], found["completed"]
        if isinstance(received, date) and isinstance(completed, date) and completed < received:
            problems.append(
                _problem(
                    sheet,
                    raw,
                    "completed",
                    f"tanggal selesai sebelum tanggal diterima ({received.isoformat()})",
                    f"the completion date is before the date received ({received.isoformat()})",
                )
            )
        if problems:
            return None, problems
        return _build(raw, found), problems

    # -- one parser per column; each returns the normalised value or raises _Bad --

    def received(self, value: CellValue) -> date:
        if value is None:
            raise _Bad("tanggal kosong / the date is missing")
        found = _date(value, self.first_day, self.last_day)
        if not self.first_day <= found <= self.last_day:
            raise _Bad(
                f"tanggal {found.isoformat()} di luar bulan rekap {self.first_day:%Y-%m} / "
                f"the date {found.isoformat()} is outside the recap month {self.first_day:%Y-%m}"
            )
        return self._not_future(found)

    def completed(self, value: CellValue) -> date | None:
        if value is None:
            return None
        return self._not_future(_date(value, self.first_day, self.today))

    def _not_future(self, found: date) -> date:
        if found > self.today:
            raise _Bad(
                f"tanggal {found.isoformat()} belum terjadi / the date {found.isoformat()} is in the future"
            )
        return found

    def product(self, value: CellValue) -> str | None:
        text = _text(value)
        if not text:
            return None
        for key in _product_keys(text):
            found = self.products.get(key)
            if found is not None:
                return found
        shown = _show(text)
        close = difflib.get_close_matches(key_of(text), list(self.products), n=1, cutoff=0.75)
        if close:
            name = self.product_names[self.products[close[0]]]
            raise _Bad(
                f"produk '{shown}' tidak dikenal; maksud Anda '{name}'? / "
                f"unknown product '{shown}'; did you mean '{name}'?"
            )
        raise _Bad(
            f"produk '{shown}' tidak dikenal, pilih dari daftar / "
            f"unknown product '{shown}', choose one from the list"
        )

    def severity(self, value: CellValue) -> Severity:
        text = _text(value)
        if not text:
            return "minor"
        found = _word(text, _SEVERITIES)
        if found == "major":
            return "major"
        if found == "minor":
            return "minor"
        raise _Bad(
            f"tingkat '{_show(text)}' tidak sah, isi mayor atau minor / "
            f"invalid severity '{_show(text)}', use major or minor"
        )

    def status(self, value: CellValue) -> RecapStatus | None:
        text = _text(value)
        if not text:
            return None  # decided from the completion date in _build
        found = _word(text, _STATUSES)
        if found is not None:
            return cast(RecapStatus, found)
        raise _Bad(
            f"status '{_show(text)}' tidak sah, isi baru, proses atau selesai / "
            f"invalid status '{_show(text)}', use new (baru), in progress (proses) or done (selesai)"
        )

    def handled_by(self, value: CellValue) -> HandledBy:
        text = _text(value)
        if not text:
            return "branch"
        found = _word(text, self.handlers)
        if found is not None:
            return cast(HandledBy, found)
        raise _Bad(
            f"'{_show(text)}' tidak sah, isi biro atau kantor pusat / "
            f"invalid '{_show(text)}', use branch (biro) or head office (kantor pusat)"
        )

    def channel(self, value: CellValue) -> str:
        text = _text(value)
        return (_word(text, _CHANNELS) if text else None) or "other"

    def description(self, value: CellValue) -> str:
        text = _text(value)
        if not text:
            raise _Bad("uraian keluhan kosong / the description is empty")
        return text


_Parser = Callable[[_RowChecker, CellValue], object]


def _limited(key: str) -> _Parser:
    """A parser for free text, refusing what the ticket column could not hold."""
    limit = MAX_LENGTHS.get(key)

    def parse(_checker: _RowChecker, value: CellValue) -> str:
        text = _text(value)
        if limit is not None and len(text) > limit:
            raise _Bad(
                f"terlalu panjang ({len(text)} karakter, maksimum {limit}) / "
                f"too long ({len(text)} characters, at most {limit})"
            )
        return text

    return parse


_PARSERS: dict[str, _Parser] = {
    "row_ref": _limited("row_ref"),
    "received": _RowChecker.received,
    "customer": _limited("customer"),
    "organisation": _limited("organisation"),
    "pic": _limited("pic"),
    "product": _RowChecker.product,
    "channel": _RowChecker.channel,
    "description": _RowChecker.description,
    "category": _limited("category"),
    "severity": _RowChecker.severity,
    "root_cause": _limited("root_cause"),
    "action": _limited("action"),
    "completed": _RowChecker.completed,
    "status": _RowChecker.status,
    "handled_by": _RowChecker.handled_by,
}


def _build(raw: SheetRow, found: Mapping[str, object]) -> RecapRow:
    """The RecapRow of a row whose every cell parsed (so the casts below hold)."""
    completed = found["completed"] if isinstance(found["completed"], date) else None
    status = found["status"]
    if status is None:
        status = "resolved" if completed is not None else "new"
    pic = str(found["pic"])
    contact = extract_contact(_phone_text(raw.values.get("pic"), pic))
    received = found["received"]
    assert isinstance(received, date)
    return RecapRow(
        sheet=raw.sheet,
        row=raw.row,
        row_ref=str(found["row_ref"]) or None,
        received=received,
        customer=str(found["customer"]),
        organisation=str(found["organisation"]),
        pic=pic,
        pic_phone=contact.phones[0] if contact.phones else "",
        pic_email=contact.emails[0] if contact.emails else "",
        product=found["product"] if isinstance(found["product"], str) else None,
        channel=str(found["channel"]),
        description=str(found["description"]),
        category=str(found["category"]),
        severity="major" if found["severity"] == "major" else "minor",
        root_cause=str(found["root_cause"]),
        action=str(found["action"]),
        completed=completed,
        status=cast(RecapStatus, status),
        handled_by="head-office" if found["handled_by"] == "head-office" else "branch",
    )


def _phone_text(value: CellValue, text: str) -> str:
    # A phone typed into a number cell loses its leading zero (812... for 0812...).
    if isinstance(value, int | float) and not isinstance(value, bool) and text.startswith("8"):
        return "0" + text
    return text


# ---------------------------------------------------------------------------
# Cell values
# ---------------------------------------------------------------------------


def _text(value: CellValue) -> str:
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


def _show(text: str, limit: int = 40) -> str:
    """A cell quoted in a message: one line, and short."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _word(text: str, table: Mapping[str, str]) -> str | None:
    """What a drop-down word stands for: `Selesai`, `SELESAI.` and `selesai (done)` alike."""
    for key in header_keys(text):
        found = table.get(key)
        if found is not None:
            return found
    return None


_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?")
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


def _date(value: CellValue, low: date, high: date) -> date:
    """A date cell; of two readings (`03/05/2026`), the one between `low` and `high`."""
    candidates = _date_candidates(value)
    if not candidates:
        shown = _show(_text(value))
        raise _Bad(
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
            serial: datetime = from_excel(value)
            return [serial.date()]
        return []
    return _text_dates(str(value).strip().lower())


def _text_dates(text: str) -> list[date]:
    triples: list[tuple[int, int, int]] = []
    if match := _ISO_DATE.fullmatch(text):
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


def _month_start(month: str) -> date:
    found = parse_month(month)
    if found is None:
        raise ValueError(f"not a month (YYYY-MM): {month!r}")
    return date(int(found[:4]), int(found[5:]), 1)


def _month_end(first_day: date) -> date:
    return (first_day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


# ---------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------


def _product_table(products: Iterable[Product]) -> Mapping[str, str]:
    """Key of an id, name or alias -> product id; ids first, so they win any clash."""
    table: dict[str, str] = {}
    products = tuple(products)
    for product in products:
        table.setdefault(key_of(product.id), product.id)
    for product in products:
        for name in (product.name, *product.aliases):
            table.setdefault(key_of(name), product.id)
    table.pop("", None)
    return table


def _product_keys(text: str) -> list[str]:
    """`E-Paper (PDF)`, `epaper - E-Paper Harian`: the whole text, then its parts."""
    keys = list(header_keys(text))
    keys.extend(key_of(part) for part in re.split(r"\s[-–—]\s", text))
    return keys


# ---------------------------------------------------------------------------
# The file: which month, which branch
# ---------------------------------------------------------------------------

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
    text = _text(value).lower()
    year = month = 0
    if (match := _ISO_DATE.fullmatch(text)) or (match := _YEAR_MONTH.fullmatch(text)):
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
        f"berkas ini untuk biro '{_show(sheet.branch)}', tetapi dikirim dari alamat {branch.name}",
        f"this file is for branch '{_show(sheet.branch)}' but was sent from the address of {branch.name}",
    )
