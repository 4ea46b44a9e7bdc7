"""Checking a recap's rows and turning the good ones into normalised `RecapRow`s.

This module owns what a recap row must say. A row is imported only when it is
good; a bad one (missing or unreadable date, date outside the recap month or in
the future, unknown product or category, invalid severity, status or handler, empty
description, a formula without a value, a value too long to keep, the same
complaint twice) is left out, and each of its problems names the sheet, the
row number Excel shows and the column header as the branch wrote it, so the
reply can say exactly what to fix. Messages are Indonesian / English.

Values are read tolerantly (`daemon.recap.cells`): dates as Excel dates,
serial numbers, ISO, day-first `05/03/2026` or `5 Maret 2026`; words in any
case with their known aliases (`mayor`/`major`, `selesai`/`done`,
`telp`/`phone`, ...). Where the template leaves a cell optional the defaults
are: severity minor, channel other, handled by the branch, and status
`selesai` when a completion date is given, else `baru`. An empty product is
allowed: routing then detects it from the description like any complaint. So
is an empty category; a filled one must be one of rules.yaml's `categories:`
(a name or an alias, in any case), and is stored as the list spells it.

Everything here is pure: values in, values out.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import cast

from daemon.parse.contact import extract_contact
from daemon.recap.cells import BadCell, cell_text, read_date, show, word
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
from daemon.recap.heading import month_end, month_start
from daemon.recap.rows import Choices, HandledBy, RecapRow, RecapStatus, RowProblem, ValidationResult
from daemon.recap.sheet import CellValue, RecapSheet, SheetRow
from daemon.route.rules import Branch, Categories, Product, Severity

_SEVERITIES = word_table(SEVERITY_WORDS)
_STATUSES = word_table(STATUS_WORDS)
_CHANNELS = word_table(CHANNEL_WORDS)
_HANDLERS = word_table(HANDLED_BY_WORDS)
MAX_LENGTHS = {"customer": 320, "organisation": 320, "category": 64, "row_ref": 64, "pic": 1000}
"""What the ticket columns can hold; a longer value is a problem, never cut silently."""


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def validate_rows(
    sheet: RecapSheet,
    *,
    branch: Branch,
    month: str,
    choices: Choices,
    today: date,
) -> ValidationResult:
    """Split the rows of `sheet` into good `RecapRow`s and problems; `month` is `YYYY-MM`."""
    first_day = month_start(month)
    checker = _RowChecker(branch, first_day, choices, today)
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

    def __init__(self, branch: Branch, first_day: date, choices: Choices, today: date) -> None:
        self.branch = branch
        self.first_day = first_day
        self.last_day = month_end(first_day)
        self.products = _product_table(choices.products)
        self.product_names = {product.id: product.name for product in choices.products}
        self.categories: Categories = choices.categories
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
            except BadCell as bad:
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

    # -- one parser per column; each returns the normalised value or raises BadCell --

    def received(self, value: CellValue) -> date:
        if value is None:
            raise BadCell("tanggal kosong / the date is missing")
        found = read_date(value, self.first_day, self.last_day)
        if not self.first_day <= found <= self.last_day:
            raise BadCell(
                f"tanggal {found.isoformat()} di luar bulan rekap {self.first_day:%Y-%m} / "
                f"the date {found.isoformat()} is outside the recap month {self.first_day:%Y-%m}"
            )
        return self._not_future(found)

    def completed(self, value: CellValue) -> date | None:
        if value is None:
            return None
        return self._not_future(read_date(value, self.first_day, self.today))

    def _not_future(self, found: date) -> date:
        if found > self.today:
            raise BadCell(
                f"tanggal {found.isoformat()} belum terjadi / the date {found.isoformat()} is in the future"
            )
        return found

    def product(self, value: CellValue) -> str | None:
        text = cell_text(value)
        if not text:
            return None
        for key in _product_keys(text):
            found = self.products.get(key)
            if found is not None:
                return found
        shown = show(text)
        close = difflib.get_close_matches(key_of(text), list(self.products), n=1, cutoff=0.75)
        if close:
            name = self.product_names[self.products[close[0]]]
            raise BadCell(
                f"produk '{shown}' tidak dikenal; maksud Anda '{name}'? / "
                f"unknown product '{shown}'; did you mean '{name}'?"
            )
        raise BadCell(
            f"produk '{shown}' tidak dikenal, pilih dari daftar / "
            f"unknown product '{shown}', choose one from the list"
        )

    def category(self, value: CellValue) -> str:
        text = cell_text(value)
        if not text:
            return ""
        found = self.categories.find(text)
        if found is not None:
            return found
        shown, near = show(text), self.categories.closest(text)
        allowed = self.categories.allowed()
        hint = (f"; maksud Anda '{near}'?", f"; did you mean '{near}'?") if near else ("", "")
        raise BadCell(
            f"kategori '{shown}' tidak dikenal, pilih dari daftar ({allowed}){hint[0]} / "
            f"unknown category '{shown}', choose one from the list ({allowed}){hint[1]}"
        )

    def severity(self, value: CellValue) -> Severity:
        text = cell_text(value)
        if not text:
            return "minor"
        found = word(text, _SEVERITIES)
        if found == "major":
            return "major"
        if found == "minor":
            return "minor"
        raise BadCell(
            f"tingkat '{show(text)}' tidak sah, isi mayor atau minor / "
            f"invalid severity '{show(text)}', use major or minor"
        )

    def status(self, value: CellValue) -> RecapStatus | None:
        text = cell_text(value)
        if not text:
            return None  # decided from the completion date in _build
        found = word(text, _STATUSES)
        if found is not None:
            return cast(RecapStatus, found)
        raise BadCell(
            f"status '{show(text)}' tidak sah, isi baru, proses atau selesai / "
            f"invalid status '{show(text)}', use new (baru), in progress (proses) or done (selesai)"
        )

    def handled_by(self, value: CellValue) -> HandledBy:
        text = cell_text(value)
        if not text:
            return "branch"
        found = word(text, self.handlers)
        if found is not None:
            return cast(HandledBy, found)
        raise BadCell(
            f"'{show(text)}' tidak sah, isi biro atau kantor pusat / "
            f"invalid '{show(text)}', use branch (biro) or head office (kantor pusat)"
        )

    def channel(self, value: CellValue) -> str:
        text = cell_text(value)
        return (word(text, _CHANNELS) if text else None) or "other"

    def description(self, value: CellValue) -> str:
        text = cell_text(value)
        if not text:
            raise BadCell("uraian keluhan kosong / the description is empty")
        return text


_Parser = Callable[[_RowChecker, CellValue], object]


def _limited(key: str) -> _Parser:
    """A parser for free text, refusing what the ticket column could not hold."""
    limit = MAX_LENGTHS.get(key)

    def parse(_checker: _RowChecker, value: CellValue) -> str:
        text = cell_text(value)
        if limit is not None and len(text) > limit:
            raise BadCell(
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
    "category": _RowChecker.category,
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
