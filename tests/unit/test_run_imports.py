"""`caredesk run` loads the report, recap-spreadsheet and OAuth2 code only when it uses them (issue 17).

The daemon's peak RSS is mostly the modules it imports. The report stack
(`daemon.report`, its xlsx writer), the recap reader and template (openpyxl),
the OAuth2 token code (authlib, requests, cryptography), the migrations
(alembic), the `holidays` package (asked in a child process,
`daemon.sla.public_days`), `prometheus_client` (without `[metrics] listen`) and
charset-normalizer with the codecs it may answer (for a mail no label or UTF-8
reads) stay out of a daemon that only takes in plain
complaints on a register at the schema's head. A child process builds the daemon as
`caredesk run` does, lists its modules, polls a Maildir holding one complaint
and lists them again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.store import db
from tests import mailfactory
from tests.integration.helpers import maildir_desk

PROJECT = Path(__file__).resolve().parents[2]
NOT_AT_START = (
    "openpyxl",
    "xlsxwriter",
    "daemon.report",
    "daemon.recap.reader",
    "daemon.recap.template",
    "authlib",
    "requests",
    "cryptography",
    "alembic",
    "daemon.store.migrations",
    "holidays",
    "prometheus_client",
    "charset_normalizer",
    "encodings.koi8_r",
)
NOT_FOR_A_COMPLAINT = (
    "openpyxl",
    "xlsxwriter",
    "daemon.report",
    "daemon.recap.reader",
    "authlib",
    "alembic",
    "holidays",
    "prometheus_client",
    "charset_normalizer",
    "encodings.koi8_r",
)

CHILD = """
import json, sys
from daemon.commands import run  # noqa: F401 - what `caredesk run` imports first
from daemon.app.service import Daemon
from daemon.config import load_config

seen = {}
with Daemon(load_config(sys.argv[1])) as daemon:
    seen["start"] = sorted(sys.modules)
    seen["counts"] = dict(daemon.poll_mailbox())
    seen["poll"] = sorted(sys.modules)
    seen["periodic_counts"] = dict(daemon.run_periodic())
    seen["periodic"] = sorted(sys.modules)
print(json.dumps(seen))
"""


def _found(modules: list[str], unwanted: tuple[str, ...]) -> list[str]:
    return sorted(
        name
        for name in unwanted
        if any(module == name or module.startswith(f"{name}.") for module in modules)
    )


@pytest.fixture
def seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The child's modules at start and after its poll; it runs on the test's pinned clock."""
    folder = tmp_path
    url = f"sqlite:///{folder / 'caredesk.db'}"
    db.open_for_writing(url).dispose()
    config, maildir = maildir_desk(folder, monkeypatch, database_url=url, smtp_url="smtp://127.0.0.1:9")
    environment = {**os.environ, "PYTHONPATH": str(PROJECT)}
    (maildir / "new" / "1700000000.M1P1.host").write_bytes(mailfactory.complaint(1))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(config)],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=environment,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_the_daemon_starts_without_reports_spreadsheets_oauth_or_migrations(seen: dict[str, object]) -> None:
    start = seen["start"]
    assert isinstance(start, list) and "daemon.app.service" in start and "sqlalchemy" in start
    assert _found(start, NOT_AT_START) == []


def test_a_plain_complaint_loads_no_report_or_spreadsheet_code(seen: dict[str, object]) -> None:
    counts, poll = seen["counts"], seen["poll"]
    assert isinstance(counts, dict) and counts.get("fetched") == 1, counts
    assert isinstance(poll, list) and "daemon.parse.parser" in poll
    assert _found(poll, NOT_FOR_A_COMPLAINT) == []


def test_a_minute_of_periodic_jobs_with_no_report_due_loads_no_spreadsheet_writer(
    seen: dict[str, object],
) -> None:
    """The pinned day (21 July) is no report day: the jobs run, and no workbook is made."""
    periodic = seen["periodic"]
    assert isinstance(periodic, list) and "daemon.report.mailing" in periodic
    assert seen["periodic_counts"] is not None
    unwanted = ("xlsxwriter", "openpyxl", "daemon.report.xlsx_out", "holidays", "prometheus_client")
    assert _found(periodic, unwanted) == []
