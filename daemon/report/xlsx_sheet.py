"""The rows of the monthly workbook's sheets, written as XML over XlsxWriter (`daemon.report.xlsx_out`).

XlsxWriter's own cell writer took some 8 µs on each of the register's 2.7
million cells, this one about a third of that (docs/performance.md). `Sheet.append`
writes a row as one string: only what XlsxWriter's writer would (inline
strings, numbers, booleans; the style index of a format XlsxWriter made,
through `Styles`), every text a string cell, never a formula: escaped, control
characters replaced (`daemon.report.cells.xlsx_text`), and quote-prefixed when
it looks like a formula. It leans on three private parts of XlsxWriter (a
constant-memory sheet's row file `fh`, `_check_dimensions`, a format's
`_get_xf_index`), which is why pyproject.toml pins XlsxWriter below 4, and
tests/unit/report/test_report_xlsx.py reads the workbook back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from xlsxwriter import Workbook
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from daemon.report.cells import FORMULA_SIGNS, XLSX_LONGEST, xlsx_text

BRAND = "#1F6F8B"
DATE_TIME = "dd-mm-yyyy hh:mm"
DATE = "dd-mm-yyyy"
PERCENT = "0%"
COLUMNS = 702
"""The columns a sheet may have here, A to ZZ."""
PENDING_ROWS = 200
"""Rows kept before they are written to the sheet's file together."""
REMEMBERED, REMEMBERED_LENGTH = 20_000, 80
"""How many short texts' cells (up to how long) a sheet remembers for each look."""


@dataclass(frozen=True, eq=False)
class Look:
    """How a cell looks (XlsxWriter format properties); each is a constant here, told apart by identity."""

    properties: Mapping[str, object]
    number_format: str | None = None


PLAIN = Look({})
TITLED = Look({"bold": True, "font_size": 14, "font_color": BRAND})
STRONG = Look({"bold": True})
STRONG_PERCENT = Look({"bold": True}, PERCENT)
HEADING = Look({"bold": True, "bg_color": "#E2F1F6", "pattern": 1, "text_wrap": True, "valign": "top"})
WRAPPED = Look({"text_wrap": True, "valign": "top"})
TOPPED = Look({"valign": "top"})
TOPPED_PERCENT = Look({"valign": "top"}, PERCENT)

_TEXT, _NUMBER, _BOOLEAN, _DATE_TIME, _DATE = range(5)
"""The kinds of cell a value makes; a date's kind gives its default number format."""
_EPOCH_ORDINAL = date(1899, 12, 30).toordinal()
"""Day 0 of a spreadsheet's dates (1900 system, with its leap-year bug), as Python numbers days."""
_ESCAPED = re.compile(r"[&<>\r]|_x[0-9A-Fa-f]{4}_")
"""What text must not hold as it is: XML's own signs, a carriage return (XML would read
it as a line feed), and `_xHHHH_`, which Excel reads as an escaped character."""
_LITERAL_ESCAPE = re.compile(r"_x[0-9A-Fa-f]{4}_")
_SPECIAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f&<>\r]|_x[0-9A-Fa-f]{4}_")
"""What sends a text the long way: a character to replace (`cells.xlsx_text`) or to escape."""
_SLOW_START = FORMULA_SIGNS | frozenset(" \u00a0\u3000") | frozenset(chr(n) for n in range(32))
"""First characters that send a text the long way: a formula sign, a blank before one, a control character."""


def _special(text: str) -> bool:
    """Whether `_SPECIAL` finds something in `text`; asked with `in` first, quicker on long text."""
    if text.isprintable():  # no control character, line break or tab
        return (
            "&" in text or "<" in text or ">" in text or ("_x" in text and bool(_LITERAL_ESCAPE.search(text)))
        )
    return _SPECIAL.search(text) is not None


def _serial(value: datetime) -> float:
    """A time as a spreadsheet's number of days.

    Spreadsheets have no time zones: local wall-clock time, as the report shows it.
    (From its fields: `replace(tzinfo=None)` costs several times as much on a zoned time.)
    """
    seconds = (value.hour * 60 + value.minute) * 60 + value.second
    return value.toordinal() - _EPOCH_ORDINAL + seconds / 86400 + value.microsecond / 86_400_000_000


def _escape(text: str) -> str:
    """Text for an XML string cell; the `_x` of a literal `_xHHHH_` escaped as Excel does (`_x005F_`)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return _LITERAL_ESCAPE.sub(r"_x005F\g<0>", text)


class Styles:
    """The workbook's formats, made once per look, number format and quote prefix."""

    def __init__(self, workbook: Workbook) -> None:
        self.workbook = workbook
        self._attributes: dict[tuple[Look, int, bool], str] = {}

    def attribute(self, look: Look, kind: int, quote: bool) -> str:
        """The cell's ` s="N"` attribute ('' for the default style)."""
        key = (look, kind, quote)
        found = self._attributes.get(key)
        if found is None:
            found = self._attributes[key] = self._make(look, kind, quote)
        return found

    def _make(self, look: Look, kind: int, quote: bool) -> str:
        properties = dict(look.properties)
        number_format = look.number_format or {_DATE_TIME: DATE_TIME, _DATE: DATE}.get(kind)
        if number_format is not None:
            properties["num_format"] = number_format
        if quote:
            properties["quote_prefix"] = True
        if not properties:
            return ""
        made = self.workbook.add_format(properties)
        # The index XlsxWriter's cell writer puts in `s` (the format's xf record), given at first use.
        return f' s="{made._get_xf_index()}"'


class Sheet(Worksheet):
    """A constant-memory worksheet whose rows are appended whole, as XML, one after the other.

    XlsxWriter writes a constant-memory sheet's rows to `fh` (a temporary file)
    and copies that file into the sheet when the workbook is closed; its
    dimensions say that the sheet has rows, and where.
    """

    def setup(self, styles: Styles) -> None:
        self.styles = styles
        self.rows = 0
        self._pending: list[str] = []
        self._known: dict[Look, dict[str, str]] = {}
        self._columns = [xl_col_to_name(column) for column in range(COLUMNS)]

    def append(self, values: Sequence[object], look: Look | Sequence[Look] = PLAIN) -> None:
        """The next row: a cell for each value but None and '', in the look of its column."""
        self.rows += 1
        number = str(self.rows)
        if self.dim_rowmin is None:
            self._check_dimensions(self.rows - 1, 0)
        if isinstance(look, Look):
            cells = self._alike(values, number, look)
        else:
            looks = tuple(look)
            last = len(looks) - 1
            cells = [
                self._cell(self._columns[column] + number, value, looks[min(column, last)])
                for column, value in enumerate(values)
                if value is not None and value != ""
            ]
        if cells:
            self._check_dimensions(self.rows - 1, len(values) - 1)
            self._pending.append(f'<row r="{number}">{"".join(cells)}</row>')
            if len(self._pending) >= PENDING_ROWS:
                self.flush()

    def flush(self) -> None:
        """Write the rows appended so far to the sheet's file; all must be, before the workbook closes."""
        self.fh.write("".join(self._pending))
        self._pending.clear()

    def _alike(self, values: Sequence[object], number: str, look: Look) -> list[str]:
        """The cells of a row of one look (a list's row), text and times the short way.

        A short text's cell (all of it but its reference) is remembered: labels,
        names and departments come again and again. Text with nothing to escape,
        not too long, and starting with neither a formula sign nor a blank needs
        no more than `xlsx_text` would make of it (it leaves such text as it is,
        unprefixed); other text and values go the long way (`_cell`).
        """
        columns, cells = self._columns, []
        known = self._known.setdefault(look, {})
        style = self.styles.attribute(look, _TEXT, False)
        time_style = self.styles.attribute(look, _DATE_TIME, False)
        for column, value in enumerate(values):
            if isinstance(value, str):
                if not value:
                    continue
                rest = known.get(value)
                if rest is None:
                    if len(value) > XLSX_LONGEST or value[0] in _SLOW_START or _special(value):
                        rest = self._text(value, look)
                    else:
                        space = ' xml:space="preserve"' if value[-1].isspace() else ""
                        rest = f'{style} t="inlineStr"><is><t{space}>{value}</t></is></c>'
                    if len(value) <= REMEMBERED_LENGTH and len(known) < REMEMBERED:
                        known[value] = rest
                cells.append(f'<c r="{columns[column]}{number}"{rest}')
            elif isinstance(value, datetime):  # `_time` without its look-up of the style: several a row
                cells.append(f'<c r="{columns[column]}{number}"{time_style}><v>{_serial(value)!r}</v></c>')
            elif value is not None:
                cells.append(self._cell(columns[column] + number, value, look))
        return cells

    def _text(self, value: str, look: Look) -> str:
        """A string cell but its start (`<c r="A1"`), whatever the text starts with: never a formula."""
        text, quote = xlsx_text(value)
        if _ESCAPED.search(text):
            text = _escape(text)
        space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
        style = self.styles.attribute(look, _TEXT, quote)
        return f'{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'

    def _time(self, where: str, value: datetime, look: Look) -> str:
        return f'<c r="{where}"{self.styles.attribute(look, _DATE_TIME, False)}><v>{_serial(value)!r}</v></c>'

    def _cell(self, where: str, value: object, look: Look) -> str:
        if isinstance(value, str):
            return f'<c r="{where}"{self._text(value, look)}' if value else ""
        if isinstance(value, bool):
            style = self.styles.attribute(look, _BOOLEAN, False)
            return f'<c r="{where}"{style} t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int | float):
            style = self.styles.attribute(look, _NUMBER, False)
            return f'<c r="{where}"{style}><v>{value!r}</v></c>'
        if isinstance(value, datetime):
            return self._time(where, value, look)
        if isinstance(value, date):
            style = self.styles.attribute(look, _DATE, False)
            return f'<c r="{where}"{style}><v>{value.toordinal() - _EPOCH_ORDINAL}</v></c>'
        return self._cell(where, str(value), look)
