"""Reading a branch's recap file (.xlsx or .csv) into raw rows, safely.

This module owns the file formats: which format a file is, opening a workbook,
and decoding a CSV. A recap arrives by mail from outside, so the bytes are
hostile until shown otherwise, and every check that can be made before
unpacking is made before unpacking:

* size first, then the kind: an `.xlsm`, a zip holding `vbaProject.bin`, Excel
  4.0 macro sheets or ActiveX, or a macro content type is refused; so is an
  "xlsx" that is not a zip (an old `.xls`, a password-protected workbook);
* the zip's central directory is checked before anything is decompressed
  (`daemon.recap.archive`);
* openpyxl then reads the workbook read-only, with cached values only
  (`data_only=True`): formulas are never evaluated, external links are not
  loaded, and XML is parsed through defusedxml. A formula whose file holds no
  cached value reads as an empty cell and is reported on its row.

Cell contents are data: they are returned as values and nothing here, or
after, interprets them.

What comes out is a `RecapSheet` (`daemon.recap.sheet`): for each sheet with a
recognisable header row (found by `daemon.recap.tables`), its rows as raw cell
values keyed by column (see `daemon.recap.columns`), plus the branch and month
cells above the header when present. Making sense of the values is
`daemon.recap.validate`'s job. Every refusal is a `RecapRefused` whose reason,
in Indonesian and English, can go straight into the reply to the branch.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
import zipfile
from pathlib import PurePosixPath
from typing import Any

import openpyxl
from defusedxml import ElementTree as SafeElementTree
from openpyxl.utils.cell import coordinate_to_tuple

from daemon.recap.archive import OLE2_MAGIC, ZIP_MAGIC, check_workbook_zip
from daemon.recap.sheet import RecapLimits, RecapRefused, RecapSheet, macro_refusal, not_a_workbook, size_text
from daemon.recap.tables import HEADER_SCAN_ROWS, MAX_COLUMNS, Collector, header_columns

TEMPLATE_SHEETS = frozenset({"petunjuk", "daftar"})
"""The template's own instruction and list sheets: skipped without a note."""

_FORMULA_TAG = re.compile(rb"<(?:[\w.-]+:)?f[\s>/]")


def read_recap(filename: str, data: bytes, *, limits: RecapLimits) -> RecapSheet:
    """Read a recap attachment; RecapRefused says why a file cannot be imported at all."""
    if len(data) > limits.max_compressed_bytes:
        size, most = size_text(len(data)), size_text(limits.max_compressed_bytes)
        raise RecapRefused(
            f"berkas terlalu besar ({size}; maksimum {most})",
            f"the file is too large ({size}; at most {most})",
        )
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if suffix in (".xlsm", ".xltm", ".xlam"):
        raise macro_refusal()
    if suffix == ".xlsb":
        raise RecapRefused(
            "format .xlsb (Excel biner) tidak diterima; simpan sebagai .xlsx",
            "the .xlsb (binary Excel) format is not accepted; save the file as .xlsx",
        )
    if suffix in (".csv", ".txt"):
        return _read_csv(filename, data, limits)
    if suffix in (".xlsx", ".xltx") or data.startswith((ZIP_MAGIC, OLE2_MAGIC)):
        return _read_xlsx(filename, data, limits)
    raise RecapRefused(
        f"jenis berkas {suffix or '(tanpa ekstensi)'} tidak dikenal; kirim rekap sebagai .xlsx atau .csv",
        f"unknown file type {suffix or '(no extension)'}; send the recap as .xlsx or .csv",
    )


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
            raise not_a_workbook() from error
        try:
            return _read_sheets(filename, workbook, archive, limits)
        except RecapRefused:
            raise
        except Exception as error:
            raise not_a_workbook() from error
        finally:
            workbook.close()


def _read_sheets(filename: str, workbook: Any, archive: zipfile.ZipFile, limits: RecapLimits) -> RecapSheet:
    collector = Collector(limits)
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
    collector = Collector(limits)
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
        score = max((len(header_columns(row)) for row in head), default=0)
        if score > best_score:
            best, best_score = delimiter, score
    return best
