"""Benchmark: one run of the SLA ladder over many open tickets, and the monthly report.

Not a test: prints figures. The daemon runs the ladder every minute over every
open ticket, so a run with nothing to send must stay cheap. Timed, on SQLite:

* `ladder, nothing due`: N open tickets, none has earned a step yet;
* `ladder, all due`: the first run when every ticket has earned its reminder,
  breach and second level (3N mails queued, one transaction per ticket);
* `ladder, all claimed`: the run after that (every step claimed already);
* `monthly report`: reading and counting the N tickets of one month, then
  rendering xlsx, csv and html.

    .venv/bin/python bench/sla_bench.py [--tickets 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.config import default_templates, load_config
from daemon.outbox.compose import Renderer
from daemon.outbox.enqueue import Mailer
from daemon.periodic import ladder
from daemon.report import csv_out, html_out, xlsx_out
from daemon.report.monthly import build_monthly
from daemon.report.periods import Month
from daemon.route.rules import load_rules
from daemon.sla.stamping import stamp_due_dates
from daemon.store import db
from daemon.store.models import Ticket

PROJECT = Path(__file__).resolve().parent.parent
JAKARTA = ZoneInfo("Asia/Jakarta")
DEPARTMENTS = ("koran", "digital", "keuangan", "teknik", "redaksi", "iklan", "customer-care")


def populate(url: str, count: int) -> None:
    rules = load_rules(PROJECT / "rules.yaml")
    engine = db.make_engine(url)
    db.create_schema(engine)
    start = datetime(2026, 10, 1, 8, tzinfo=JAKARTA)
    with db.session(engine) as session:
        for number in range(count):
            received = start + timedelta(minutes=17 * number % (28 * 24 * 60))
            ticket = Ticket(
                reference=f"CC-2026-{number + 1:06d}",
                status="assigned",
                department=DEPARTMENTS[number % len(DEPARTMENTS)],
                severity="major" if number % 10 == 0 else "minor",
                customer_email=f"c{number}@example.net",
                subject=f"Keluhan {number}",
                description="Uraian keluhan. " * 20,
                received_at=received.astimezone(UTC),
            )
            session.add(stamp_due_dates(ticket, rules, received, timezone="Asia/Jakarta"))
        session.commit()
    engine.dispose()


def timed(label: str, action: object) -> object:
    begin = time.perf_counter()
    result = action()  # type: ignore[operator]
    print(f"{label:<24} {time.perf_counter() - begin:8.3f} s   {result if result is not None else ''}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        populate(url, args.tickets)
        rules = load_rules(PROJECT / "rules.yaml")
        config = load_config(None)
        engine = db.make_engine(url)
        now = datetime(2026, 10, 1, 8, 5, tzinfo=JAKARTA)
        mailer = Mailer(config, Renderer(default_templates()), lambda: now)
        print(f"{args.tickets} open tickets, {engine.dialect.name}")
        timed("ladder, nothing due", lambda: dict(ladder.run_ladder(engine, rules, mailer, now)))
        later = datetime(2026, 12, 1, 9, tzinfo=JAKARTA)
        timed("ladder, all due", lambda: dict(ladder.run_ladder(engine, rules, mailer, later)))
        timed("ladder, all claimed", lambda: dict(ladder.run_ladder(engine, rules, mailer, later)))

        def report() -> str:
            with db.session(engine) as session:
                value = build_monthly(session, rules, Month(2026, 10), now=later, timezone="Asia/Jakarta")
            sizes = (
                len(xlsx_out.monthly_xlsx(value, organisation="bench")),
                len(csv_out.monthly_csv(value)),
                len(html_out.monthly_html(value, organisation="bench")),
            )
            return f"{value.total} tickets; xlsx, csv, html bytes {sizes}"

        timed("monthly report", report)
        engine.dispose()


if __name__ == "__main__":
    main()
