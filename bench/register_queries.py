"""Benchmark: `caredesk tickets list` and `tickets show` on a register of a million tickets.

Not a test: prints figures. Builds the register with `bench/register.py` (or reuses
one that already holds `--tickets` tickets), on SQLite and on PostgreSQL, then runs
each command `--runs` times as a child process (`python -m daemon ...`) and prints
the median and the best wall time, against the targets of issue 17.

    .venv/bin/python bench/register_queries.py [--tickets 1000000] [--runs 7] [--rebuild]
    .venv/bin/python bench/register_queries.py --postgresql '' --sqlite /tmp/register.db
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import register  # noqa: E402 - bench/register.py, next to this file

DEFAULT_POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
TARGETS_MS = {"list": 300, "list-department": 300, "show": 200}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000, help="register size (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    parser.add_argument(
        "--sqlite", default=None, help="SQLite file (default /tmp/caredesk-register-N.db; '' skips)"
    )
    parser.add_argument(
        "--postgresql", default=DEFAULT_POSTGRESQL, help=f"URL (default {DEFAULT_POSTGRESQL}; '' skips)"
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="build the registers again even if they are there"
    )
    args = parser.parse_args()
    sqlite_path = f"/tmp/caredesk-register-{args.tickets}.db" if args.sqlite is None else args.sqlite
    urls = []
    if sqlite_path:
        urls.append(f"sqlite:///{Path(sqlite_path).resolve()}")
    if args.postgresql:
        urls.append(args.postgresql)
    # As an installed caredesk runs: from bytecode (pip compiles it at install; a checkout
    # run with PYTHONDONTWRITEBYTECODE would compile every module at every start).
    compileall.compile_dir(ROOT / "daemon", quiet=1)
    print(f"python {sys.version.split()[0]}, {args.runs} runs each; load average before: {_load()}")
    for url in urls:
        prepare(url, args.tickets, rebuild=args.rebuild)
        measure(url, args.runs)
    return 0


def prepare(url: str, tickets: int, *, rebuild: bool) -> None:
    """A register of `tickets` tickets at `url`, at the schema's head: reused, or built anew."""
    if not rebuild and count(url) == tickets:
        print(f"\nreusing {tickets:,} tickets at {url}")
        return
    drop(url)
    register.build(url, tickets)


def count(url: str) -> int | None:
    """The tickets at `url`, after migrating it to head; None when there is no register."""
    from sqlalchemy import text

    from daemon.store import db

    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    try:
        engine = db.open_for_writing(url)
    except db.DatabaseUnavailable:
        return None
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM ticket")).scalar_one())
    finally:
        engine.dispose()


def drop(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(parsed.database))
        )


def measure(url: str, runs: int) -> None:
    department, reference = _examples(url)
    with tempfile.TemporaryDirectory(prefix="cd-register-") as folder:
        config = Path(folder) / "caredesk.toml"
        config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
        commands = {
            "list": ["tickets", "list"],
            "list-department": ["tickets", "list", "--department", department, "--status", "open"],
            "show": ["tickets", "show", reference],
        }
        backend = "sqlite" if url.startswith("sqlite") else "postgresql"
        print(f"\n{backend}: {url}")
        print(f"{'command':<62} {'wall median':>11} {'best':>8} {'CPU median':>10} {'target':>7}")
        for key, argv in commands.items():
            runs_taken = [_run(config, argv, folder) for _ in range(runs)]
            walls = [wall for wall, _ in runs_taken]
            median = statistics.median(walls) * 1000
            cpu = statistics.median(cpu for _, cpu in runs_taken) * 1000
            verdict = "ok" if median < TARGETS_MS[key] else "SLOW"
            print(
                f"{'caredesk ' + ' '.join(argv):<62} {median:>8.0f} ms {min(walls) * 1000:>5.0f} ms "
                f"{cpu:>7.0f} ms {TARGETS_MS[key]:>4} ms  {verdict}"
            )
        print(f"load average after: {_load()}")


def _run(config: Path, argv: list[str], folder: str) -> tuple[float, float]:
    """One run's wall time, and its CPU time (user + system, from `os.wait4`)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "daemon", "--config", str(config), *argv],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    took = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"caredesk {' '.join(argv)} failed ({child.returncode}); run it by hand to see why")
    return took, usage.ru_utime + usage.ru_stime


def _examples(url: str) -> tuple[str, str]:
    """The department with the most tickets, and the reference of a ticket in the middle of the register."""
    from sqlalchemy import text

    from daemon.store import db

    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            department = connection.execute(
                text("SELECT department FROM ticket GROUP BY department ORDER BY count(*) DESC LIMIT 1")
            ).scalar_one()
            reference = connection.execute(
                text("SELECT reference FROM ticket WHERE id = (SELECT max(id) / 2 FROM ticket)")
            ).scalar_one()
    finally:
        engine.dispose()
    return str(department), str(reference)


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
