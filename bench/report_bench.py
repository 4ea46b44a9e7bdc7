"""Benchmark: the monthly report and the quarterly review on a register of a busy year.

Not a test: prints figures. Each report is made by the command line as a child
process (`python -m daemon --config ... report ...`), and its CPU time (user +
system) and peak RSS are the child's own, from `os.wait4` (the same accounting as
`getrusage(RUSAGE_CHILDREN)`, one child at a time). The start of Python and of
the command line (about 0.3 s) is included.

    .venv/bin/python bench/report_bench.py [--db URL] [--tickets 1200000] [--months 12]
    .venv/bin/python bench/report_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/report_bench.py --source /tmp/before     # another checkout's code

The register is built by `bench/register.py` (1,200,000 tickets over the 12
months to 30 November 2026 give about 100,000 a month) unless the database
already holds tickets, which are reused as they are. The register builder
leaves the results of a complaint empty; the bench records a root cause, a
corrective action and an evaluation on half of the resolved tickets, as the
departments would, so that the corrective-action lists are not empty.
The reports are of the register's last month and its quarter.

`--source DIR` runs the reports from another copy of the code (e.g. `git
archive HEAD | tar -x -C /tmp/before`), to compare before and after on the
same register; its `report review` has no `--list`, and prints the list anyway.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DB = "sqlite:////tmp/caredesk-report-bench/register.db"
END = date(2026, 11, 30)


def ensure_register(url: str, tickets: int, months: int) -> int:
    """The tickets in the register at `url`, built first if it has none."""
    from sqlalchemy import create_engine, inspect, text

    from daemon.store import db

    parsed = db.check_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    count = 0
    try:
        engine = create_engine(url)
        with engine.connect() as connection:
            if inspect(connection).has_table("ticket"):
                count = int(connection.execute(text("SELECT count(*) FROM ticket")).scalar_one())
        engine.dispose()
    except Exception:  # a PostgreSQL database not made yet: the builder makes it
        count = 0
    if count:
        print(f"register: reusing {count:,} tickets in {db.public_database_url(url)}")
        return count
    from bench.register import build

    build(url, tickets, months=months, end=END, seed=1)
    _record_results(url)
    return tickets


def _record_results(url: str) -> None:
    """Root cause, corrective action and evaluation on half the resolved tickets (the builder has none)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    day = "substr(received_at, 1, 10)" if engine.dialect.name == "sqlite" else "CAST(received_at AS DATE)"
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE ticket SET root_cause = 'Loper tidak mengantar ke alamat baru',"
                " corrective_action = 'Alamat diperbarui; loper diberi arahan',"
                f" action_target = {day},"
                " preventive_action = 'Cek alamat setiap pindah langganan',"
                " effectiveness = CASE WHEN id % 4 = 0 THEN 'Efektif' ELSE 'Belum dievaluasi ulang' END"
                " WHERE status IN ('resolved', 'closed') AND id % 2 = 0"
            )
        )
    engine.dispose()


def month_size(url: str, month: str) -> int:
    from sqlalchemy import create_engine, func, select
    from sqlmodel import col

    from daemon.report.periods import Month
    from daemon.store.models import Ticket

    start, end = Month.parse(month).bounds(__import__("zoneinfo").ZoneInfo("Asia/Jakarta"))
    engine = create_engine(url)
    with engine.connect() as connection:
        statement = select(func.count()).where(
            col(Ticket.received_at) >= start, col(Ticket.received_at) < end
        )
        found = int(connection.execute(statement).scalar_one())
    engine.dispose()
    return found


def write_config(folder: Path, url: str) -> Path:
    (folder / "imap-password").write_text("x\n")
    path = folder / "caredesk.toml"
    path.write_text(
        f"""address = "care@example.co.id"
name = "Harian Nusantara"
rules = "{ROOT / "rules.yaml"}"
timezone = "Asia/Jakarta"

[mailbox]
url = "maildir:{folder / "mail"}"
password_file = "imap-password"

[smtp]
url = "file:{folder / "out"}"

[database]
url = "{url}"
"""
    )
    return path


MAIL_CHILD = """
import sys
from datetime import UTC, datetime
from daemon.config import load_config
from daemon.outbox.compose import Renderer
from daemon.outbox.enqueue import Mailer
from daemon.report.mailing import ReportMail, queue_report, report_recipients
from daemon.report.periods import Month
from daemon.route.loader import load_rules
from daemon.store import db

config = load_config(sys.argv[1])
rules = load_rules(config.rules)
now = datetime.now(UTC)
mailer = Mailer(config, Renderer(config.templates), lambda: now)
job = ReportMail(rules, mailer, now, config.timezone, config.name)
engine = db.make_engine(config.database_url)
with db.session(engine) as session:
    queued = queue_report(session, job, Month.parse(sys.argv[2]), report_recipients(rules)[0])
    session.rollback()
print(queued)
"""
"""The monthly job's path: Customer Care's report queued (built, xlsx attached), then rolled back."""


def run(source: Path, command: Sequence[str], out: Path | None) -> tuple[float, float, int, int]:
    """(wall s, CPU s, peak RSS MB, exit status) of one child process, its output to `out` or nowhere."""
    environment = {**os.environ, "PYTHONPATH": str(source)}
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    stdout = os.open(os.devnull if out is None else out, flags)
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child
        os.chdir(source)
        os.dup2(stdout, 1)
        os.execve(sys.executable, [sys.executable, *command], environment)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    os.close(stdout)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status)


def _written(path: Path, *, lines: bool) -> str:
    if not path.exists():
        return ""
    size = f"{path.stat().st_size / 1e6:.1f} MB"
    if not lines:
        return size
    with path.open("rb") as file:
        return f"{size}, {sum(1 for _ in file):,} lines"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB, help=f"the register (default {DEFAULT_DB})")
    parser.add_argument("--tickets", type=int, default=1_200_000, help="tickets to build if it is empty")
    parser.add_argument("--months", type=int, default=12, help="over this many months (default 12)")
    parser.add_argument("--source", type=Path, default=ROOT, help="the code to run the reports with")
    parser.add_argument("--only", action="append", default=[], help="run only reports whose name has this")
    args = parser.parse_args(argv)
    total = ensure_register(args.db, args.tickets, args.months)
    month, quarter = f"{END.year}-{END.month:02d}", f"{END.year}Q{(END.month - 1) // 3 + 1}"
    received = month_size(args.db, month)
    print(f"month {month}: {received:,} tickets received, of {total:,}; code from {args.source}")
    parser_text = (args.source / "daemon" / "commands" / "parsers" / "report.py").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="caredesk-report-bench-") as scratch:
        folder = Path(scratch)
        config = write_config(folder, args.db)
        cli = ["-m", "daemon", "--config", str(config), "report"]
        xlsx = folder / "report.xlsx"
        reports: list[tuple[str, list[str], Path | None]] = [
            ("monthly xlsx", [*cli, "monthly", "--month", month, "--out", str(xlsx)], None),
            ("monthly html", [*cli, "monthly", "--month", month, "--format", "html"], folder / "m.html"),
            ("monthly csv", [*cli, "monthly", "--month", month, "--format", "csv"], folder / "m.csv"),
            ("review text", [*cli, "review", "--quarter", quarter], folder / "r.txt"),
            ("review text --list", [*cli, "review", "--quarter", quarter, "--list"], folder / "l.txt"),
            ("review json", [*cli, "review", "--quarter", quarter, "--format", "json"], folder / "r.json"),
            ("monthly mail (xlsx)", ["-c", MAIL_CHILD, str(config), month], None),
        ]
        print(f"{'report':<22} {'wall s':>7} {'CPU s':>7} {'RSS MB':>7}  output")
        for name, command, out in reports:
            if args.only and not any(word in name for word in args.only):
                continue
            if "--list" in command and '"--list"' not in parser_text:
                continue  # the code before `--list` printed the list anyway
            wall, cpu, rss, status = run(args.source, command, out)
            wrote = _written(out, lines=True) if out is not None else ""
            if "--out" in command:
                wrote = _written(xlsx, lines=False)
            if status:
                wrote = f"exit {status}"
            print(f"{name:<22} {wall:>7.1f} {cpu:>7.1f} {rss:>7}  {wrote}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
