"""Big input costs bounded memory and time (issue 16, point 8).

The daemon's memory is measured as the peak RSS of a `caredesk` child process:
each run goes through a small Python launcher whose only child is caredesk, so
`getrusage(RUSAGE_CHILDREN)` there is caredesk's own peak, whatever ran before
in this test process. What the interpreter and the imports take is measured
with a tiny mail first and taken off.
"""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from daemon.recap.reader import read_recap
from daemon.recap.sheet import RecapLimits, RecapRefused
from tests.clockpin import daemon_environment
from tests.integration.helpers import CARE_ADDRESS, PROJECT, inbound, tickets

MiB = 1024 * 1024
LAUNCHER = """
import resource, subprocess, sys
stdin = open(sys.argv[1], "rb") if sys.argv[1] != "-" else None
code = subprocess.run(sys.argv[2:], stdin=stdin, stdout=subprocess.DEVNULL, stderr=sys.stderr).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def _config(folder: Path) -> Path:
    maildir = folder / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    path = folder / "caredesk.toml"
    path.write_text(
        f"""
address = "{CARE_ADDRESS}"
name = "Customer Care Test"
rules = "{PROJECT / "rules.yaml"}"

[mailbox]
url = "maildir:{maildir}"

[smtp]
url = "file:{folder / "outbox"}"

[database]
url = "sqlite:///{folder / "caredesk.db"}"
"""
    )
    return path


def _write_mail(path: Path, attachment_bytes: int, n: int = 0) -> int:
    """A complaint with a base64 photo of about `attachment_bytes`, written in pieces; its size."""
    encoded = base64.b64encode(bytes(range(n % 7, n % 7 + 57))) + b"\r\n"
    head = (
        f"From: Budi <budi{n}@example.net>\r\nTo: {CARE_ADDRESS}\r\n"
        f"Subject: Koran tidak datang {n}\r\nMessage-ID: <big-{n}@example.net>\r\n"
        "Date: Tue, 21 Jul 2026 09:00:00 +0700\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n'
        '--b0\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\n'
        "Koran saya tidak datang tiga hari, foto terlampir.\r\n\r\n"
        '--b0\r\nContent-Type: image/jpeg; name="foto.jpg"\r\n'
        'Content-Disposition: attachment; filename="foto.jpg"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode()
    lines = max(1, attachment_bytes // 57)
    with path.open("wb") as handle:
        handle.write(head)
        block = encoded * 1000
        for _ in range(lines // 1000):
            handle.write(block)
        handle.write(encoded * (lines % 1000))
        handle.write(b"--b0--\r\n")
    return path.stat().st_size


def _peak_rss(stdin: Path | None, *args: str) -> tuple[int, int]:
    """(peak RSS in bytes, exit code) of one `caredesk` process."""
    launched = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(stdin or "-"), sys.executable, "-m", "daemon", *args],
        env=daemon_environment(),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert launched.stdout.strip(), launched.stderr[-3000:]
    rss, code = launched.stdout.split()
    return int(rss) * 1024, int(code)


def test_large_mail_memory_is_a_small_multiple_of_its_size(tmp_path: Path) -> None:
    config = _config(tmp_path)
    new = tmp_path / "Maildir" / "new"
    _write_mail(new / "1.small.eml", 2_000, n=1)
    base, code = _peak_rss(None, "--config", str(config), "run", "--once")
    assert code == 0
    size = _write_mail(new / "2.big.eml", 18 * MiB, n=2)
    assert size > 24 * MiB

    peak, code = _peak_rss(None, "--config", str(config), "run", "--once")

    assert code == 0
    assert len(tickets(f"sqlite:///{tmp_path / 'caredesk.db'}")) == 2
    # Measured for this 24.6 MB mail: 288 MB over the interpreter's own before, 148 MB after.
    assert peak - base < 7 * size, (
        f"{(peak - base) / MiB:.0f} MB over {base / MiB:.0f} MB for a {size / MiB:.0f} MB mail"
    )


def test_oversized_ingest_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    config = _config(tmp_path)
    small = tmp_path / "small.eml"
    _write_mail(small, 2_000, n=1)
    base, code = _peak_rss(small, "--config", str(config), "ingest", "-")
    assert code == 0
    big = tmp_path / "big.eml"
    size = _write_mail(big, 68 * MiB, n=2)
    assert size > 90 * MiB

    peak, code = _peak_rss(big, "--config", str(config), "ingest", "-")

    # EX_DATAERR: the MTA bounces it, so its sender hears the mail was too big.
    assert code == 65
    assert len(inbound(f"sqlite:///{tmp_path / 'caredesk.db'}")) == 1
    # At most the 50 MB fetch cap is held, never the whole mail (992 MB before).
    assert peak - base < 60 * MiB, f"{(peak - base) / MiB:.0f} MB over {base / MiB:.0f} MB"


def _workbook_with_empty_rows(rows: int) -> bytes:
    """A recap workbook whose sheet XML holds `rows` empty rows below its header."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Tanggal", "Nama Pelanggan", "Keluhan"])
    made = io.BytesIO()
    book.save(made)
    source = zipfile.ZipFile(io.BytesIO(made.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                empty = b"".join(b'<row r="%d"/>' % n for n in range(2, rows + 2))
                data = data.replace(b"</sheetData>", empty + b"</sheetData>")
            target.writestr(entry.filename, data)
    return out.getvalue()


def test_recap_with_a_million_empty_rows_is_refused_quickly() -> None:
    data = _workbook_with_empty_rows(1_048_160)
    assert len(data) < 10 * MiB

    started = time.monotonic()
    with pytest.raises(RecapRefused) as refused:
        read_recap("rekap-juli.xlsx", data, limits=RecapLimits())
    took = time.monotonic() - started

    assert "more than 25,000 rows (empty ones included)" in refused.value.english
    assert "delete the empty rows" in refused.value.english
    assert took < 3, f"refused after {took:.1f}s (openpyxl took 73 s over these rows)"
