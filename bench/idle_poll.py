"""One service poll with an empty mailbox against a large register: CPU and wall time, per job.

Not a test. It builds (or reuses) a register with `bench/register.py`, starts the
daemon on it (`daemon.app.service.Daemon`, which migrates it to head) with an
empty Maildir and the `.eml` file outbox, pins the clock, and runs `run_once`
(the poll, the quarantine report, the periodic jobs, the recap deadlines, the
outbox) twice: the first poll does the once-only work (the SLA ladder's first
look at every open ticket after the upgrade, the results reminders it queues),
the second is the idle poll that every poll interval costs from then on. Each
job's CPU time of this process (`time.process_time`: SQLite runs inside it,
PostgreSQL's own work does not count) and wall time are printed.

    .venv/bin/python bench/idle_poll.py --db sqlite:////tmp/idle/register.db --tickets 1000000
    .venv/bin/python bench/idle_poll.py --db postgresql+psycopg://postgres@127.0.0.1:5432/bench \\
        --tickets 1000000 [--at 2026-12-03T10:00+07:00]

The default moment, 3 December 2026 at 10:00 in Jakarta, is inside the results
reminder's window (the 1st to the 4th), on a working day: the ladder, the
reminder, the recap deadlines and the outbox checks all have work to look at.
A register that exists already (a SQLite file, a PostgreSQL database with
tickets) is reused as it is.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_AT = "2026-12-03T10:00+07:00"


class Timings:
    """CPU and wall seconds per job of one poll."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[float, float]] = {}

    @contextmanager
    def measure(self, name: str) -> Iterator[None]:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            spent = (time.process_time() - cpu, time.perf_counter() - wall)
            before = self.rows.get(name, (0.0, 0.0))
            self.rows[name] = (before[0] + spent[0], before[1] + spent[1])

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.measure(name):
                return function(*args, **kwargs)

        return timed

    def print(self, title: str) -> None:
        print(f"  {title}")
        for name, (cpu, wall) in self.rows.items():
            print(f"    {name:<22} cpu {cpu * 1000:9.1f} ms   wall {wall * 1000:9.1f} ms")


def has_register(url: str) -> bool:
    """Whether `url` already holds tickets (a SQLite file that exists, a database with rows)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database or "").exists()
    engine = create_engine(parsed.set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            return bool(connection.execute(text("SELECT count(*) FROM ticket")).scalar())
    except Exception:
        return False
    finally:
        engine.dispose()


def settle_dispositions(url: str) -> None:
    """Mark the register's processed mails as moved out of the intake folder, as the daemon would have.

    A register whose processed mails still say `pending` makes every poll try to
    move them all (`Intake.dispose_pending`): not an idle poll.
    """
    from sqlalchemy import create_engine, text

    from daemon.store import db

    engine = create_engine(db.check_url(url))
    try:
        with engine.begin() as connection:
            moved = connection.execute(
                text(
                    "UPDATE inbound_message SET disposition = 'done' "
                    "WHERE disposition = 'pending' AND state = 'processed'"
                )
            ).rowcount
    finally:
        engine.dispose()
    if moved:
        print(f"register: {moved:,} processed mails marked as moved out of the intake (disposition done)")


def write_config(folder: Path, url: str) -> Path:
    (folder / "mail" / "new").mkdir(parents=True, exist_ok=True)
    (folder / "mail" / "cur").mkdir(exist_ok=True)
    (folder / "mail" / "tmp").mkdir(exist_ok=True)
    (folder / "outbox").mkdir(exist_ok=True)
    (folder / "secret").write_text("bench-secret-bench-secret-bench-secret\n", encoding="utf-8")
    (folder / "secret").chmod(0o600)
    path = folder / "caredesk.toml"
    path.write_text(
        f"""address = "care@example.co.id"
name = "Customer Care Bench"
rules = "{ROOT / "rules.yaml"}"
log_level = "WARNING"

[mailbox]
url = "maildir:{folder / "mail"}"

[smtp]
url = "file:{folder / "outbox"}"

[database]
url = "{url}"
""",
        encoding="utf-8",
    )
    return path


def instrument(daemon: Any, timings: Timings) -> None:
    """Time each job of `run_once` separately (the daemon's objects, wrapped in place)."""
    from daemon.periodic import ladder
    from daemon.recap import deadline
    from daemon.report import mailing

    daemon.intake.poll = timings.wrap("mailbox poll", daemon.intake.poll)
    daemon.quarantine_report = timings.wrap("quarantine alert", daemon.quarantine_report)
    daemon.clock_guard.allows = timings.wrap("clock check", daemon.clock_guard.allows)
    daemon.outbox.recover_stale = timings.wrap("outbox stale leases", daemon.outbox.recover_stale)
    daemon.deliver = timings.wrap("outbox (all)", daemon.deliver)
    for module, name, label in (
        (ladder, "run_ladder", "sla ladder"),
        (mailing, "send_monthly_reports", "monthly report"),
        (mailing, "remind_results", "results reminder"),
        (deadline, "run_recap_deadlines", "recap deadlines"),
    ):
        original = getattr(module, name)
        setattr(module, name, timings.wrap(label, original))


def run(url: str, tickets: int, at: datetime) -> None:
    from daemon.app.service import Daemon
    from daemon.config import load_config

    if not has_register(url):
        from bench import register

        register.build(url, tickets)
    settle_dispositions(url)
    with tempfile.TemporaryDirectory(prefix="caredesk-idle-") as folder:
        config = load_config(write_config(Path(folder), url), environ={})
        started = time.perf_counter()
        with Daemon(config, clock=lambda: at) as daemon:
            print(f"{url}: daemon started (migrations included) in {time.perf_counter() - started:.1f} s")
            timings = Timings()
            instrument(daemon, timings)
            for title in ("first poll (once-only work)", "idle poll", "idle poll again"):
                timings.rows.clear()
                with timings.measure("run_once (total)"):
                    counts = daemon.run_once()
                timings.print(f"{title}: {dict(sorted(counts.items()))}")
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"    peak memory of the process so far: {peak:.0f} MB")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="database URL (SQLite file or PostgreSQL `bench`)")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets of a register built anew")
    parser.add_argument("--at", default=DEFAULT_AT, help="the pinned clock (ISO 8601 with offset)")
    arguments = parser.parse_args(argv)
    at = datetime.fromisoformat(arguments.at).astimezone(UTC)
    run(arguments.db, arguments.tickets, at)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
