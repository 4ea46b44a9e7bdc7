"""Checking a workbook's zip before anything in it is unpacked.

An .xlsx is a zip, and a zip from outside may be a bomb, hold macros, or hide
another archive. This module owns the checks made on the zip's central
directory alone, before a byte is decompressed: the number of entries, the
total uncompressed size, each entry's compression ratio, entry names
(absolute, `..`), encryption, nested archives and embedded objects, and
macro parts or content types. `zipfile` never inflates an entry past the size
its directory declares, so the declared sizes are a real bound.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import PurePosixPath

from daemon.recap.sheet import MiB, RecapLimits, RecapRefused, macro_refusal, not_a_workbook, size_text

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The start of an old .xls, and of a password-protected workbook."""
ZIP_MAGIC = b"PK\x03\x04"
RATIO_FLOOR_BYTES = 1 * MiB
"""Entries smaller than this are not ratio-checked: sparse sheet XML of a few
hundred kB legitimately compresses over 100:1, and it cannot be a bomb."""

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
_CONTENT_TYPES = "[Content_Types].xml"
_CONTENT_TYPES_MAX = 1 * MiB


def check_workbook_zip(data: bytes, limits: RecapLimits) -> zipfile.ZipFile:
    """The workbook's zip, once its directory passed every check; refused otherwise."""
    if data.startswith(OLE2_MAGIC):
        raise RecapRefused(
            "berkas bukan .xlsx (format .xls lama atau dilindungi kata sandi); simpan sebagai .xlsx "
            "tanpa kata sandi",
            "the file is not an .xlsx (an old .xls, or password-protected); save it as an .xlsx "
            "without a password",
        )
    if not data.startswith(ZIP_MAGIC):
        raise not_a_workbook()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise not_a_workbook() from error
    try:
        _check_entries(archive.infolist(), limits)
        _check_content_types(archive)
        _check_sheet_sizes(archive, limits)
    except BaseException:
        archive.close()
        raise
    return archive


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
            raise not_a_workbook()
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_uncompressed_bytes:
        most = size_text(limits.max_uncompressed_bytes)
        raise _bomb(
            f"{size_text(total)} setelah dibuka (maksimum {most})",
            f"{size_text(total)} unpacked (at most {most})",
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
        raise macro_refusal()
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
        raise not_a_workbook() from None
    if info.file_size > _CONTENT_TYPES_MAX:
        raise not_a_workbook()
    try:
        content_types = archive.read(info).lower()
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise not_a_workbook() from error
    if any(marker in content_types for marker in _MACRO_CONTENT_TYPES):
        raise macro_refusal()


_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_TAG_OVERLAP = 64
"""Bytes kept from one chunk for the next, so a tag split between them is counted once."""


def _check_sheet_sizes(archive: zipfile.ZipFile, limits: RecapLimits) -> None:
    """Count the rows and cells of every XML part as it inflates, before openpyxl reads it.

    The zip checks bound the bytes, not what they hold: 1,048,160 empty rows
    inflate to 47 MB at a ratio of only 8:1, and openpyxl took 73 s over them.
    A count over the limit stops the inflation at once.
    """
    for entry in archive.infolist():
        if not entry.filename.lower().endswith(".xml") or entry.is_dir():
            continue
        rows = cells = 0
        tail = b""
        try:
            with archive.open(entry) as stream:
                while chunk := stream.read(1 * MiB):
                    window = tail + chunk
                    # A match starting in the kept tail was counted with the last chunk.
                    skip = len(tail)
                    rows += sum(1 for m in _ROW.finditer(window) if m.end() > skip)
                    cells += sum(1 for m in _CELL.finditer(window) if m.end() > skip)
                    tail = window[-_TAG_OVERLAP:]
                    _refuse_if_over(entry.filename, rows, cells, limits)
        except (zipfile.BadZipFile, ValueError, EOFError, OSError) as error:
            raise not_a_workbook() from error


def _refuse_if_over(name: str, rows: int, cells: int, limits: RecapLimits) -> None:
    if rows > limits.max_sheet_rows:
        raise RecapRefused(
            f"lembar {name} berisi lebih dari {limits.max_sheet_rows:,} baris (termasuk baris kosong); "
            "hapus baris kosong di bawah data atau bagi rekap menjadi beberapa berkas",
            f"the sheet {name} holds more than {limits.max_sheet_rows:,} rows (empty ones included); "
            "delete the empty rows below the data or split the recap into several files",
        )
    if cells > limits.max_sheet_cells:
        raise RecapRefused(
            f"lembar {name} berisi lebih dari {limits.max_sheet_cells:,} sel; "
            "bagi rekap menjadi beberapa berkas",
            f"the sheet {name} holds more than {limits.max_sheet_cells:,} cells; "
            "split the recap into several files",
        )
