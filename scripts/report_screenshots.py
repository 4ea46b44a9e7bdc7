"""Screenshots of the reports, to look at them as a person would (not a test).

Builds a demo database from the fixture month of the report tests (October
2026, tests/reportmonth.py), then, through the real command line:

* `caredesk report monthly --format html` -> monthly.html -> monthly.png
* `caredesk tickets show REF --format html|pdf` -> form.html, form.pdf -> form.png
* `caredesk report review --format html` -> review.html -> review.png
* `caredesk report monthly --format xlsx` -> monthly.xlsx -> (LibreOffice) monthly.pdf
  -> (pdftoppm) monthly-xlsx-N.png, to see the spreadsheet's native charts.

    .venv/bin/python scripts/report_screenshots.py [--out DIR]

Needs Debian's chromium, and for the xlsx pictures libreoffice-calc and
poppler-utils (apt-get install chromium libreoffice-calc-nogui poppler-utils).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session

from daemon.cli import main
from daemon.route.rules import load_rules
from daemon.sla.stamping import record_first_response
from daemon.store import db, queries
from daemon.store.models import Ticket
from tests.reportmonth import populate, reference

PROJECT = Path(__file__).resolve().parent.parent
FORM_TICKET = 2
PERSON = "putri.anggraini@example.co.id"


def build_database(folder: Path) -> Path:
    url = f"sqlite:///{folder / 'demo.db'}"
    rules = load_rules(PROJECT / "rules.yaml")
    engine = db.make_engine(url)
    db.create_schema(engine)
    with db.session(engine) as session:
        tickets = populate(session, rules)
        _history(session, next(t for t in tickets if t.reference == reference(FORM_TICKET)))
        session.commit()
    engine.dispose()
    config = folder / "caredesk.toml"
    config.write_text(
        f'address = "care@example.co.id"\nname = "Harian Nusantara — Customer Care"\n'
        f'rules = "{PROJECT / "rules.yaml"}"\nlog_level = "WARNING"\n\n'
        f'[mailbox]\nurl = "maildir:{folder / "mail"}"\n\n[smtp]\nurl = "file:{folder / "out"}"\n\n'
        f'[database]\nurl = "{url}"\n'
    )
    return config


def _history(session: Session, ticket: Ticket) -> None:
    """A believable history for the ticket whose form is pictured, in time order."""
    assert ticket.first_responded_at is not None and ticket.completed_at is not None
    assert ticket.resolution_due is not None
    received, responded = ticket.received_at, ticket.first_responded_at
    ticket.first_responded_at = None
    steps = [
        (received, ticket.customer_email, "created", "status", None, "new", "complaint received by email"),
        (received, "caredesk", "routed", "department", None, "digital", "rules 3f2a9c: product aplikasi"),
        (received, "caredesk", "queued-ack", None, None, None, f"to {ticket.customer_email}"),
        (received, "caredesk", "escalated", None, None, None, "major: rule vip-customer"),
        (ticket.resolution_due, "caredesk", "sla-breach", None, None, None, "resolution due: to the manager"),
        (ticket.completed_at, PERSON, "resolved", "status", "assigned", "resolved", "fix released"),
    ]
    for at, actor, action, field, old, new, why in steps:
        if ticket.first_responded_at is None and at > responded:
            record_first_response(session, ticket, responded)
        queries.add_event(
            session,
            ticket,
            actor=actor,
            action=action,
            at=at,
            field_name=field,
            old_value=old,
            new_value=new,
            reason=why,
        )
    ticket.root_cause = "Pembaruan aplikasi 4.2 mengubah alur login; sesi lama tidak dipindahkan."
    ticket.preventive_action = "Uji regresi login ditambahkan ke daftar periksa rilis."


def screenshot(html: Path, png: Path, height: int) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size=1280,{height}",
                html.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def spreadsheet_pictures(xlsx: Path, out: Path) -> list[Path]:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None or shutil.which("pdftoppm") is None:
        print("libreoffice or pdftoppm missing: no pictures of the xlsx", file=sys.stderr)
        return []
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [office, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
             "--outdir", str(out), str(xlsx)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
    pdf = out / (xlsx.stem + ".pdf")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "70", str(pdf), str(out / "monthly-xlsx")], check=True, timeout=120
    )
    return sorted(out.glob("monthly-xlsx*.png"))


def main_script() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="var/screenshots", help="where to write (default: var/screenshots)")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        config = str(build_database(Path(folder)))
        common = ["--config", config]
        runs = [
            [
                "report",
                "monthly",
                "--month",
                "2026-10",
                "--format",
                "html",
                "--out",
                str(out / "monthly.html"),
            ],
            [
                "report",
                "monthly",
                "--month",
                "2026-10",
                "--format",
                "xlsx",
                "--out",
                str(out / "monthly.xlsx"),
            ],
            ["report", "monthly", "--month", "2026-10", "--format", "csv", "--out", str(out / "monthly.csv")],
            [
                "report",
                "review",
                "--quarter",
                "2026Q4",
                "--format",
                "html",
                "--out",
                str(out / "review.html"),
            ],
            ["tickets", "show", reference(FORM_TICKET), "--format", "html", "--out", str(out / "form.html")],
            ["tickets", "show", reference(FORM_TICKET), "--format", "pdf", "--out", str(out / "form.pdf")],
        ]
        for run in runs:
            if main([*common, *run]) != 0:
                raise SystemExit(f"caredesk {' '.join(run)} failed")
    screenshot(out / "monthly.html", out / "monthly.png", 4200)
    screenshot(out / "form.html", out / "form.png", 2000)
    screenshot(out / "review.html", out / "review.png", 2200)
    pictures = spreadsheet_pictures(out / "monthly.xlsx", out)
    for path in [out / "monthly.png", out / "form.png", out / "review.png", *pictures]:
        print(path)


if __name__ == "__main__":
    main_script()
