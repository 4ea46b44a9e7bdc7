"""Benchmark: import a 5,000-row branch recap (read + validate + store in SQLite).

Not a test: prints figures. The target from the recap issue is under 10 s for a
5,000-row recap, read, validated and stored (tickets, history, row links) in a
SQLite database, committed. A second import of the same file (nothing to do)
is timed too.

    .venv/bin/python bench/recap_bench.py [--rows 5000] [--csv] [--database-url URL]

The file is the official template filled by openpyxl with the shipped
rules.yaml's products, like a branch would fill it; building it is not timed.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openpyxl

from daemon.recap.columns import COLUMNS
from daemon.recap.reader import RecapLimits, read_recap
from daemon.recap.receive import receive_recap
from daemon.recap.template import FIRST_DATA_ROW, write_template
from daemon.recap.validate import validate_rows
from daemon.route.rules import Rules, load_rules
from daemon.store import db

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 4, 3, 2, 0, tzinfo=UTC)
MONTH = "2026-03"
T = TypeVar("T")


def build_rows(count: int, rules: Rules) -> list[list[object]]:
    products = [product.name for product in rules.products.values()]
    channels = ["email", "telepon", "surat", "langsung", "whatsapp"]
    rows: list[list[object]] = []
    for number in range(1, count + 1):
        received = date(2026, 3, 1) + timedelta(days=number % 28)
        resolved = number % 4 != 0
        values = {
            "row_ref": f"JT-{number:05d}",
            "received": received,
            "customer": f"Pelanggan {number}",
            "organisation": f"PT Contoh {number % 300}",
            "pic": f"0812-{number % 10000:04d}-{number % 7919:04d}",
            "product": products[number % len(products)],
            "channel": channels[number % len(channels)],
            "description": f"Keluhan nomor {number}: koran tidak datang dan tagihan langganan salah",
            "category": "pengiriman",
            "severity": "mayor" if number % 50 == 0 else "minor",
            "root_cause": "loper terlambat" if resolved else None,
            "action": "jadwal loper diperbaiki" if resolved else None,
            "completed": received + timedelta(days=1) if resolved else None,
            "status": "selesai" if resolved else "proses",
            "handled_by": "biro" if number % 9 else "kantor pusat",
        }
        rows.append([values[column.key] for column in COLUMNS])
    return rows


def build_xlsx(rows: list[list[object]], rules: Rules, branch: str) -> bytes:
    blank = io.BytesIO()
    write_template(blank, branch=branch, month=MONTH, products=tuple(rules.products.values()))
    workbook = openpyxl.load_workbook(io.BytesIO(blank.getvalue()))
    sheet = workbook["Rekap"]
    for offset, row in enumerate(rows):
        for position, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=FIRST_DATA_ROW + offset, column=position, value=value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def build_csv(rows: list[list[object]], branch: str) -> bytes:
    lines = [f"Biro;{branch}", f"Bulan;{MONTH}", ";".join(column.header for column in COLUMNS)]
    for row in rows:
        lines.append(";".join("" if value is None else str(value) for value in row))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def timed(action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--csv", action="store_true", help="a .csv recap instead of .xlsx")
    parser.add_argument("--database-url", help="default: a SQLite file in a temp dir")
    args = parser.parse_args()

    rules = load_rules(ROOT / "rules.yaml")
    branch = next(iter(rules.branches.values()))
    rows = build_rows(args.rows, rules)
    filename = f"rekap-{branch.id}-{MONTH}." + ("csv" if args.csv else "xlsx")
    data = build_csv(rows, branch.id) if args.csv else build_xlsx(rows, rules, branch.id)
    print(f"recap: {args.rows} rows, {filename}, {len(data) / 1e6:.2f} MB")

    limits = RecapLimits()
    sheet, read_s = timed(lambda: read_recap(filename, data, limits=limits))
    result, validate_s = timed(
        lambda: validate_rows(
            sheet, branch=branch, month=MONTH, products=rules.products.values(), today=NOW.date()
        )
    )
    counts = f"{len(result.good)} good, {len(result.problems)} problems"
    print(f"read: {read_s:.2f} s | validate: {validate_s:.2f} s ({counts})")

    with tempfile.TemporaryDirectory() as folder:
        engine = db.make_engine(args.database_url or f"sqlite:///{folder}/bench.db")
        db.create_schema(engine)

        def receive() -> tuple[int, int, int]:
            with db.session(engine) as session:
                outcome = receive_recap(
                    session,
                    branch=branch,
                    filename=filename,
                    data=data,
                    inbound_id=None,
                    rules=rules,
                    clock=lambda: NOW,
                    reference_prefix="CC",
                )
                session.commit()
            assert outcome.summary is not None
            summary = outcome.summary
            return len(summary.created), len(summary.updated), len(summary.unchanged)

        first, first_s = timed(receive)
        again, again_s = timed(receive)
        engine.dispose()
    verdict = "ok" if first_s < 10 else "OVER the 10 s target"
    print(
        f"import (read + validate + store, committed): {first_s:.2f} s for {args.rows} rows, "
        f"{args.rows / first_s:.0f} rows/s; created {first[0]} -> {verdict}"
    )
    print(f"same file again: {again_s:.2f} s; created {again[0]}, updated {again[1]}, unchanged {again[2]}")
    return 0 if first_s < 10 and first[0] == args.rows and again[2] == args.rows else 1


if __name__ == "__main__":
    sys.exit(main())
