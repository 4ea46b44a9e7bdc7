"""Reading a branch's recap file (.xlsx or .csv) into raw rows, safely.

This module owns the file formats and their dangers. A recap arrives by mail
from outside, so the bytes are hostile until shown otherwise, and every check
that can be made before unpacking is made before unpacking:

* size first, then the kind: an `.xlsm`, a zip holding `vbaProject.bin`, Excel
  4.0 macro sheets or ActiveX, or a macro content type is refused; so is an
  "xlsx" that is not a zip (an old `.xls`, a password-protected workbook);
* the zip's central directory is checked with `zipfile` before anything is
  decompressed: number of entries, total uncompressed size, per-entry
  compression ratio, names (absolute, `..`), encryption, nested archives.
  `zipfile` never inflates an entry past the size its directory declares, so
  the declared sizes are a real bound;
* openpyxl then reads the workbook read-only, with cached values only
  (`data_only=True`): formulas are never evaluated, external links are not
  loaded, and XML is parsed through defusedxml. A formula whose file holds no
  cached value reads as an empty cell and is reported on its row.

Cell contents are data: they are returned as values and nothing here, or
after, interprets them.

What comes out is a `RecapSheet`: for each sheet with a recognisable header
row, its rows as raw cell values keyed by column (see `daemon.recap.columns`),
plus the branch and month cells above the header when present. Making sense of
the values is `daemon.recap.validate`'s job. Every refusal is a
`RecapRefused` whose reason, in Indonesian and English, can go straight into
the reply to the branch.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import warnings
import zipfile
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any, Literal

import openpyxl
from defusedxml import ElementTree as SafeElementTree
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter

from daemon.recap.columns import BRANCH_LABELS, MONTH_LABELS, REQUIRED_COLUMNS, column_for, is_label

CellValue = str | int | float | bool | date | datetime | time | None
"""What a cell holds: text from a CSV; text, numbers, dates or booleans from a workbook."""

MiB = 1024 * 1024
HEADER_SCAN_ROWS = 30
"""The header row must be among a sheet's first rows; a branch may put a title above it."""
MAX_COLUMNS = 64
"""Columns past this are never looked at: the template has 15, and a hostile
sheet with a cell in column XFD would otherwise widen every row to 16,384 cells."""
EXCEL_MAX_ROWS = 1_048_576
RATIO_FLOOR_BYTES = 1 * MiB
"""Entries smaller than this are not ratio-checked: sparse sheet XML of a few
hundred kB legitimately compresses over 100:1, and it cannot be a bomb."""
TEMPLATE_SHEETS = frozenset({"petunjuk", "daftar"})
"""The template's own instruction and list sheets: skipped without a note."""

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_MACRO_PARTS = re.compile(
    r"(?:^|/)(?:vbaproject\.bin|vbaprojectsignature\.bin|vbadata\.xml)$|(?:^|/)(?:macrosheets|activex)/"
)
_MACRO_CONTENT_TYPES = (
    b"macroenabled",
    b"vbaproject",
    b"ms-excel.macrosheet",
    b"ms-excel.intlmacrosheet",
    b"ms-office.activex",
)
_ARCHIVE_SUFFIXES = frozenset(
    {".zip", ".xlsx", ".xlsm", ".xlsb", ".xls", ".docx", ".docm", ".pptx", ".jar", ".7z", ".rar", ".gz"}
    | {".tar", ".tgz", ".bz2", ".xz", ".cab"}
)
_FORMULA_TAG = re.compile(rb"<(?:[\w.-]+:)?f[\s>/]")
_CONTENT_TYPES = "[Content_Types].xml"
_CONTENT_TYPES_MAX = 1 * MiB


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
# Entry point
# ---------------------------------------------------------------------------


def read_recap(filename: str, data: bytes, *, limits: RecapLimits) -> RecapSheet:
    """Read a recap attachment; RecapRefused says why a file cannot be imported at all."""
    if len(data) > limits.max_compressed_bytes:
        raise RecapRefused(
            f"berkas terlalu besar ({_size(len(data))}; maksimum {_size(limits.max_compressed_bytes)})",
            f"the file is too large ({_size(len(data))}; at most {_size(limits.max_compressed_bytes)})",
        )
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if suffix in (".xlsm", ".xltm", ".xlam"):
        raise _macro_refusal()
    if suffix == ".xlsb":
        raise RecapRefused(
            "format .xlsb (Excel biner) tidak diterima; simpan sebagai .xlsx",
            "the .xlsb (binary Excel) format is not accepted; save the file as .xlsx",
        )
    if suffix in (".csv", ".txt"):
        return _read_csv(filename, data, limits)
    if suffix in (".xlsx", ".xltx") or data.startswith((_ZIP_MAGIC, _OLE2_MAGIC)):
        return _read_xlsx(filename, data, limits)
    raise RecapRefused(
        f"jenis berkas {suffix or '(tanpa ekstensi)'} tidak dikenal; kirim rekap sebagai .xlsx atau .csv",
        f"unknown file type {suffix or '(no extension)'}; send the recap as .xlsx or .csv",
    )


def _size(count: int) -> str:
    return f"{count / MiB:.1f} MB" if count >= MiB else f"{count} bytes"


def _macro_refusal() -> RecapRefused:
    return RecapRefused(
        "berkas berisi makro (macro-enabled) dan tidak dibuka; simpan sebagai .xlsx biasa tanpa makro",
        "the file is macro-enabled and was not opened; save it as a plain .xlsx workbook without macros",
    )


# ---------------------------------------------------------------------------
# Before unpacking: the zip's central directory
# ---------------------------------------------------------------------------


def check_workbook_zip(data: bytes, limits: RecapLimits) -> zipfile.ZipFile:
    """The workbook's zip, once its directory passed every check; refused otherwise."""
    if data.startswith(_OLE2_MAGIC):
        raise RecapRefused(
            "berkas bukan .xlsx (format .xls lama atau dilindungi kata sandi); simpan sebagai .xlsx "
            "tanpa kata sandi",
            "the file is not an .xlsx (an old .xls, or password-protected); save it as an .xlsx "
            "without a password",
        )
    if not data.startswith(_ZIP_MAGIC):
        raise _not_a_workbook()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise _not_a_workbook() from error
    try:
        _check_entries(archive.infolist(), limits)
        _check_content_types(archive)
    except BaseException:
        archive.close()
        raise
    return archive


def _not_a_workbook() -> RecapRefused:
    return RecapRefused(
        "berkas tidak dapat dibaca sebagai buku kerja Excel (.xlsx); mungkin rusak",
        "the file cannot be read as an Excel workbook (.xlsx); it may be damaged",
    )


def _check_entries(entries: Sequence[zipfile.ZipInfo], limits: RecapLimits) -> None:
    if len(entries) > limits.max_entries:
        raise _bomb(
            f"{len(entries)} entri (maksimum {limits.max_entries})",
            f"{len(entries)} entries (at most {limits.max_entries})",
        )
    for entry in entries:
        _check_entry_name(entry.filename)
        if entry.flag_bits & 0x1:
            raise RecapRefused(
                "berkas dienkripsi atau dilindungi kata sandi",
                "the file is encrypted or password-protected",
            )
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _not_a_workbook()
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_uncompressed_bytes:
        most = _size(limits.max_uncompressed_bytes)
        raise _bomb(
            f"{_size(total)} setelah dibuka (maksimum {most})", f"{_size(total)} unpacked (at most {most})"
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_ratio:
            raise _bomb(
                f"rasio kompresi {ratio:.0f}:1 (maksimum {limits.max_ratio}:1)",
                f"compression ratio {ratio:.0f}:1 (at most {limits.max_ratio}:1)",
            )


def _check_entry_name(name: str) -> None:
    normal = name.replace("\\", "/")
    parts = normal.split("/")
    if normal.startswith("/") or ".." in parts or re.match(r"^[A-Za-z]:", normal):
        raise RecapRefused(
            "berkas berisi nama entri yang tidak sah", "the file contains an invalid entry name"
        )
    lowered = normal.lower()
    if _MACRO_PARTS.search(lowered):
        raise _macro_refusal()
    if PurePosixPath(lowered).suffix in _ARCHIVE_SUFFIXES or "/embeddings/" in f"/{lowered}":
        raise RecapRefused(
            "berkas berisi arsip atau objek tersemat (embedded); kirim rekap tanpa objek tersemat",
            "the file contains a nested archive or an embedded object; send the recap without them",
        )


def _bomb(indonesian: str, english: str) -> RecapRefused:
    return RecapRefused(
        f"berkas ditolak sebelum dibuka karena terlalu besar setelah dekompresi: {indonesian}",
        f"the file was refused before unpacking, as a possible zip bomb: {english}",
    )


def _check_content_types(archive: zipfile.ZipFile) -> None:
    try:
        info = archive.getinfo(_CONTENT_TYPES)
    except KeyError:
        raise _not_a_workbook() from None
    if info.file_size > _CONTENT_TYPES_MAX:
        raise _not_a_workbook()
    try:
        content_types = archive.read(info).lower()
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise _not_a_workbook() from error
    if any(marker in content_types for marker in _MACRO_CONTENT_TYPES):
        raise _macro_refusal()


# ---------------------------------------------------------------------------
# Workbooks
# ---------------------------------------------------------------------------


def _read_xlsx(filename: str, data: bytes, limits: RecapLimits) -> RecapSheet:
    archive = check_workbook_zip(data, limits)
    with archive, warnings.catch_warnings():
        # openpyxl warns about parts it drops (extensions, odd styles); none of
        # that is the branch's concern, and a warning must never stop an import.
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(
                io.BytesIO(data), read_only=True, data_only=True, keep_links=False
            )
        except Exception as error:
            # Hostile or damaged XML fails in many ways inside openpyxl; every
            # one of them means the same thing to the branch.
            raise _not_a_workbook() from error
        try:
            return _read_sheets(filename, workbook, archive, limits)
        except RecapRefused:
            raise
        except Exception as error:
            raise _not_a_workbook() from error
        finally:
            workbook.close()


def _read_sheets(filename: str, workbook: Any, archive: zipfile.ZipFile, limits: RecapLimits) -> RecapSheet:
    collector = _Collector(limits)
    for worksheet in workbook.worksheets:
        name = str(worksheet.title)
        uncached = _uncached_formulas(archive, getattr(worksheet, "_worksheet_path", None))
        # The dimension a file declares may be wrong (too small would hide
        # rows); without it the reader walks every row there is.
        worksheet.reset_dimensions()
        rows = enumerate(worksheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1)
        if not collector.read(name, rows, uncached) and name.strip().lower() not in TEMPLATE_SHEETS:
            collector.notes.append(
                f"lembar '{name}' dilewati: baris judul kolom tidak ditemukan / "
                f"sheet '{name}' skipped: no header row found"
            )
    return collector.sheet(filename, "xlsx")


def _uncached_formulas(archive: zipfile.ZipFile, path: str | None) -> frozenset[tuple[int, int]]:
    """(row, column) of the cells holding a formula and no cached value.

    openpyxl in `data_only` mode reads such a cell as empty and forgets there
    was a formula, so the sheet's XML is looked at once more, and only when it
    holds a formula at all (most recaps hold none).
    """
    if not path:
        return frozenset()
    try:
        xml = archive.read(path.lstrip("/"))
    except KeyError:
        return frozenset()
    if not _FORMULA_TAG.search(xml):
        return frozenset()
    found: set[tuple[int, int]] = set()
    for _event, element in SafeElementTree.iterparse(io.BytesIO(xml)):
        if _local(element.tag) != "c":
            continue
        names = {_local(child.tag): child for child in element}
        value = names.get("v")
        cached = (value is not None and (value.text or "") != "") or "is" in names
        coordinate = element.get("r")
        if "f" in names and not cached and coordinate:
            found.add(coordinate_to_tuple(coordinate))
        element.clear()
    return frozenset(found)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


def _read_csv(filename: str, data: bytes, limits: RecapLimits) -> RecapSheet:
    text, note = _decode(data)
    if "\x00" in text:
        raise RecapRefused(
            "berkas .csv bukan teks; simpan sebagai CSV UTF-8",
            "the .csv file is not text; save it as CSV UTF-8",
        )
    delimiter = _sniff_delimiter(text)
    collector = _Collector(limits)
    if note:
        collector.notes.append(note)
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        collector.read(filename, enumerate(records, start=1), frozenset())
    except csv.Error as error:
        raise RecapRefused(
            f"berkas .csv tidak dapat dibaca pada baris {records.line_num}: {error}",
            f"the .csv file cannot be read at line {records.line_num}: {error}",
        ) from error
    return collector.sheet(filename, "csv")


def _decode(data: bytes) -> tuple[str, str | None]:
    """The text of a CSV: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        # Excel's plain "CSV" on Indonesian Windows writes Windows-1252; read
        # it rather than refuse, and say so in case a character came out wrong.
        note = (
            "berkas .csv bukan UTF-8 dan dibaca sebagai Windows-1252; simpan sebagai 'CSV UTF-8' / "
            "the .csv file is not UTF-8 and was read as Windows-1252; save it as 'CSV UTF-8'"
        )
        return data.decode("cp1252", errors="replace"), note


def _sniff_delimiter(text: str) -> str:
    """The separator under which the header row is found with the most columns.

    `csv.Sniffer` guesses from character frequencies and is easily fooled by a
    description full of commas; recognising our own headers is not.
    """
    sample = text[: 64 * 1024]
    best, best_score = ",", -1
    for delimiter in (";", ",", "\t"):
        rows = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            head = [row for _, row in zip(range(HEADER_SCAN_ROWS), rows, strict=False)]
        except csv.Error:
            continue
        score = max((len(_header_columns(row)) for row in head), default=0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _no_header() -> RecapRefused:
    return RecapRefused(
        "baris judul kolom tidak ditemukan; gunakan templat rekap (minimal kolom 'Tanggal Diterima' "
        "dan 'Uraian Keluhan')",
        "no header row found; use the recap template (at least the columns 'Date received' and "
        "'Description')",
    )


# ---------------------------------------------------------------------------
# From rows of cells to a table, for both formats
# ---------------------------------------------------------------------------


def _header_columns(cells: Sequence[CellValue]) -> dict[int, str]:
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


class _Collector:
    """Gathers the tables of every sheet of one file, and enforces the row limit."""

    def __init__(self, limits: RecapLimits) -> None:
        self.limits = limits
        self.tables: list[Table] = []
        self.rows: list[SheetRow] = []
        self.notes: list[str] = []
        self.branch: str | None = None
        self.month: CellValue = None

    def read(
        self,
        sheet: str,
        rows: Iterable[tuple[int, Sequence[CellValue]]],
        uncached: Collection[tuple[int, int]],
    ) -> bool:
        """Read one sheet; False when it has no header row (and so no recap).

        The header row is the one among the first rows that names the most of
        our columns, the date and the description among them: a title or a
        `Tanggal | Keluhan` line above the real header does not win.
        """
        iterator = iter(rows)
        head = list(itertools.islice(iterator, HEADER_SCAN_ROWS))
        best: tuple[int, dict[int, str]] | None = None
        for index, (_number, cells) in enumerate(head):
            columns = _header_columns(cells)
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
                raise _not_a_workbook()
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
