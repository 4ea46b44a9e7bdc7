"""Builds real branch-recap files for tests: the filled-in template, plain workbooks, CSV, hostile zips.

Everything is made with openpyxl, `csv` and `zipfile` in the test itself, so
each test shows the bytes it feeds the reader.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta

import openpyxl

from daemon.recap.columns import COLUMNS
from daemon.recap.sheet import CellValue
from daemon.recap.template import FIRST_DATA_ROW, write_template
from daemon.route.loader import parse_rules
from daemon.route.rules import Rules

MiB = 1024 * 1024

RULES_TEXT = """\
departments:
  - {id: customer-care, name: Customer Care, email: cc@example.co.id,
     general_manager: gm.care@example.co.id}
  - {id: koran, name: Sirkulasi Koran, email: sirkulasi@example.co.id}
  - {id: digital, name: Media Digital, email: digital@example.co.id}
products:
  - {id: epaper, name: E-Paper Harian Nusantara, department: digital,
     aliases: [e-paper, koran digital], keywords: [pdf]}
  - {id: koran-harian, name: Koran Harian Nusantara, department: koran,
     aliases: [koran harian, koran cetak], keywords: [loper]}
  - {id: iklan-baris, name: "Iklan baris (classified, print)", department: koran,
     aliases: [iklan baris, classified ad]}
branches:
  - {id: biro-jatim, name: Biro Jawa Timur, province: Jawa Timur,
     emails: [biro.jatim@example.co.id]}
  - {id: biro-bali, name: Biro Bali, province: Bali, emails: [biro.bali@example.co.id]}
categories:
  - {name: pengiriman, aliases: [delivery]}
  - {name: kualitas cetak, aliases: [print quality]}
  - tagihan
default: {department: customer-care, severity: minor}
rules:
  - name: legal-threat
    description: The customer threatens legal action
    when:
      subject_or_body: {words: [somasi, pengacara, lawyer]}
    then:
      severity: major
      tags: [legal]
"""


def recap_rules() -> Rules:
    return parse_rules(RULES_TEXT, "recap-rules.yaml")


PRODUCTS = ("E-Paper Harian Nusantara", "koran cetak", "epaper", "Koran Harian Nusantara")
CHANNELS = ("telepon", "email", "langsung", "surat", "whatsapp")


def complaint_rows(count: int, *, month: str = "2026-03") -> list[dict[str, CellValue]]:
    """`count` good rows of a branch's month, keyed by column key, all different."""
    first = date(int(month[:4]), int(month[5:]), 1)
    rows: list[dict[str, CellValue]] = []
    for number in range(1, count + 1):
        received = first + timedelta(days=(number - 1) % 27)
        resolved = number % 3 != 0
        rows.append(
            {
                "row_ref": f"JT-{number:03d}",
                "received": received,
                "customer": f"Pelanggan {number}",
                "organisation": f"CV Maju {number}" if number % 2 else "",
                "pic": f"0812-3456-{number:04d}",
                "product": PRODUCTS[number % len(PRODUCTS)],
                "channel": CHANNELS[number % len(CHANNELS)],
                "description": (
                    f"Koran edisi {received:%d %B} tidak datang ke alamat pelanggan nomor {number}"
                ),
                "category": "pengiriman",
                "severity": "minor" if number % 10 else "mayor",
                "root_cause": "loper sakit" if resolved else "",
                "action": "loper pengganti dikirim" if resolved else "",
                "completed": received + timedelta(days=1) if resolved else None,
                "status": "selesai" if resolved else "proses",
                "handled_by": "biro" if number % 7 else "kantor pusat",
            }
        )
    return rows


def filled_template(
    rows: Iterable[Mapping[str, CellValue]],
    *,
    rules: Rules,
    branch: str | None = "biro-jatim",
    month: str | None = "2026-03",
) -> bytes:
    """The official template, filled in the way a branch does: one row per complaint from row 5."""
    blank = io.BytesIO()
    products = tuple(rules.products.values())
    write_template(blank, branch=branch, month=month, products=products, categories=rules.categories)
    workbook = openpyxl.load_workbook(io.BytesIO(blank.getvalue()))
    sheet = workbook["Rekap"]
    for offset, row in enumerate(rows):
        for position, column in enumerate(COLUMNS, start=1):
            value = row.get(column.key)
            if value is not None:
                sheet.cell(row=FIRST_DATA_ROW + offset, column=position, value=value)
    return workbook_to_bytes(workbook)


def workbook_to_bytes(workbook: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def plain_workbook(cells: Sequence[Sequence[CellValue]], *, title: str = "Sheet1") -> bytes:
    """A workbook with one sheet holding `cells` row by row from A1 (None leaves a cell empty)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row_number, row in enumerate(cells, start=1):
        for column_number, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=row_number, column=column_number, value=value)
    return workbook_to_bytes(workbook)


def csv_bytes(rows: Sequence[Sequence[object]], *, delimiter: str = ";", bom: bool = True) -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return ("\ufeff" if bom else "").encode("utf-8") + text.getvalue().encode("utf-8")


def zip_bytes(entries: Mapping[str, bytes], *, level: int = 6) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def rewrite_entries(data: bytes, change: Mapping[str, bytes]) -> bytes:
    """The same zip with some entries' contents replaced or added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    entries = {name: source.read(name) for name in source.namelist()}
    entries.update(change)
    return zip_bytes(entries)


def with_cached_formula(data: bytes, cell: str, formula: str, cached: str | None) -> bytes:
    """Put `formula` in `cell` of the first sheet, with `cached` as the value Excel last saved (or none).

    openpyxl never computes formulas, so it cannot write a cached value; the
    sheet XML is edited the way Excel would have written it.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    path = "xl/worksheets/sheet1.xml"
    xml = source.read(path).decode("utf-8")
    escaped = formula.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    value = f"<v>{cached}</v>" if cached is not None else ""
    replacement = f'<c r="{cell}" t="str"><f>{escaped}</f>{value}</c>'
    pattern = re.compile(rf'<c r="{cell}"[^>]*?(?:/>|>.*?</c>)', re.DOTALL)
    xml, count = pattern.subn(lambda _: replacement, xml, count=1)
    assert count == 1, f"cell {cell} not found in the sheet"
    return rewrite_entries(data, {path: xml.encode("utf-8")})


def zip_bomb(*, uncompressed: int, corrupt: bool = True) -> bytes:
    """An "xlsx" whose sheet inflates to `uncompressed` bytes of zeros.

    With `corrupt`, bytes in the middle of the compressed sheet are destroyed:
    a reader that decompressed it would fail with a damaged-file error, so a
    refusal *for size* proves the size was judged from the directory alone.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            chunk = b"\0" * MiB
            for _ in range(uncompressed // MiB):
                sheet.write(chunk)
    data = bytearray(out.getvalue())
    if corrupt:
        info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        middle = start + info.compress_size // 2
        data[middle : middle + 64] = b"\xff" * 64
    return bytes(data)


CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b"</Types>"
)
