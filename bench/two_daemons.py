"""Benchmark: one `caredesk run` against two on one PostgreSQL, same corpus, same mailbox.

Not a test: prints figures. For each measurement a fresh Dovecot is loaded with the
same N generated mails (`ingest.build_corpus`), an aiosmtpd sink runs in a process
of its own (`fast_sink.py`) and the daemons get a fresh schema in the PostgreSQL
database `bench` (made when missing; never `test`). The daemons (`caredesk run`,
started together) run until every mail is settled and every outbound row is sent
or suppressed; the time from their start to that moment gives mails/s. Then the
daemons are stopped and the duplicates counted: tickets per Message-ID, inbound
rows per UID, acknowledgements queued per ticket and mails received per
Message-ID at the sink. One daemon, then two, interleaved `--rounds` times (the
machine is shared, so each pair is compared on its own), and the ratio printed.

    .venv/bin/python bench/two_daemons.py [--count 2000] [--rounds 2] [--seed 7]
        [--server postgresql+psycopg://postgres@127.0.0.1:5432] [--sample] [--keep]
        [--poll-interval 1]

`--poll-interval` sets the daemons' `poll_interval` (1 s unless given; 60 s is
production's default, where a daemon that polls nothing would otherwise look for
stored mail once a minute).

`--sample` samples `pg_stat_activity` every 50 ms during the run and prints the
wait events of the daemons' sessions (what they wait on when they contend).
Exits 1 when a duplicate or a lost mail is found.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import Corpus, ProcessSink, build_corpus

from tests.integration.helpers import write_config
from tests.servers import Dovecot

PROJECT = Path(__file__).resolve().parent.parent
DATABASE = "bench"
POLL_EVERY = 0.25


@dataclass
class Measured:
    daemons: int
    seconds: float
    mails: int
    problems: list[str]
    waits: Counter[str] = field(default_factory=Counter)
    """Samples of the daemons' sessions by `wait_event_type:wait_event` (with `--sample`)."""
    load_before: float = 0.0

    @property
    def rate(self) -> float:
        return self.mails / self.seconds


@contextmanager
def fresh_schema(server: str, keep: bool) -> Iterator[tuple[str, str]]:
    """(libpq URL of the schema, SQLAlchemy URL of it) in database `bench`, dropped afterwards."""
    admin = f"postgresql://{server.split('://', 1)[1]}"
    with psycopg.connect(f"{admin}/postgres", autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    schema = f"two_{secrets.token_hex(5)}"
    plain = f"{admin}/{DATABASE}"
    with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield plain, schema
    finally:
        if keep:
            print(f"kept schema {schema} in database {DATABASE}")
        else:
            with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _scalar(conn: psycopg.Connection[tuple[object, ...]], query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def done(conn: psycopg.Connection[tuple[object, ...]], total: int) -> bool:
    """Every mail stored and settled, every outbound row sent or suppressed."""
    try:
        settled = _scalar(conn, "SELECT count(*) FROM inbound_message WHERE state NOT IN ('stored', 'retry')")
        waiting = _scalar(
            conn, "SELECT count(*) FROM outbound_message WHERE state NOT IN ('sent', 'suppressed')"
        )
        queued = _scalar(conn, "SELECT count(*) FROM outbound_message")
    except psycopg.errors.UndefinedTable:
        conn.rollback()
        return False
    conn.rollback()
    return settled >= total and queued > 0 and waiting == 0


class Sampler(threading.Thread):
    """pg_stat_activity of the daemons' sessions every 50 ms, by wait event."""

    def __init__(self, plain: str, name: str) -> None:
        super().__init__(daemon=True)
        self.plain, self.name = plain, name
        self.waits: Counter[str] = Counter()
        self.halt = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.plain, autocommit=True) as conn:
            while not self.halt.wait(0.05):
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event, left(query, 60) FROM pg_stat_activity "
                    "WHERE application_name = %s",
                    (self.name,),
                ).fetchall()
                for state, kind, event, query in rows:
                    if state == "idle":
                        continue
                    label = f"{kind}:{event}" if kind else "cpu"
                    if state == "idle in transaction":
                        label = "idle in transaction"
                    if kind == "Lock":
                        label += f" <- {query}"
                    self.waits[label] += 1


def start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config), "run"],
            cwd=PROJECT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


def stop_daemons(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def duplicates(conn: psycopg.Connection[tuple[object, ...]], corpus: Corpus, sink: ProcessSink) -> list[str]:
    """What was lost or doubled; empty when each mail is one ticket and each ack went once."""
    checks = {
        "Message-IDs on more than one ticket": (
            "SELECT count(*) FROM (SELECT message_id FROM inbound_message WHERE ticket_id IS NOT NULL "
            "AND state = 'processed' GROUP BY message_id HAVING count(DISTINCT ticket_id) > 1) AS x"
        ),
        "UIDs stored twice": (
            "SELECT count(*) FROM (SELECT source, source_key FROM inbound_message "
            "GROUP BY source, source_key HAVING count(*) > 1) AS x"
        ),
        "tickets with more than one acknowledgement queued": (
            "SELECT count(*) FROM (SELECT ticket_id FROM outbound_message WHERE kind = 'ack' "
            "GROUP BY ticket_id HAVING count(*) > 1) AS x"
        ),
        "mails quarantined": "SELECT count(*) FROM inbound_message WHERE state = 'quarantined'",
    }
    problems = [f"{name}: {n}" for name, query in checks.items() if (n := _scalar(conn, query))]
    tickets = _scalar(conn, "SELECT count(*) FROM ticket")
    if tickets != corpus.tickets:
        problems.append(f"tickets: {tickets}, expected {corpus.tickets}")
    sent = {
        str(message_id): str(kind)
        for message_id, kind in conn.execute(
            "SELECT message_id, kind FROM outbound_message WHERE state = 'sent'"
        ).fetchall()
    }
    received = Counter(mail.message_id.strip() for mail in sink.received())
    twice = sum(1 for n in received.values() if n > 1)
    if twice:
        problems.append(f"mails received twice at the sink: {twice}")
    acks_sent = sum(1 for kind in sent.values() if kind == "ack")
    acks_received = sum(1 for message_id in received if sent.get(message_id) == "ack")
    if acks_received != acks_sent or acks_sent == 0:
        problems.append(f"acknowledgements at the sink: {acks_received}, sent rows {acks_sent}")
    return problems


def measure(corpus: Corpus, daemons: int, args: argparse.Namespace, folder: Path) -> Measured:
    """Fresh Dovecot, sink and schema; `daemons` started together; seconds until all is done."""
    run_folder = folder / f"run-{daemons}-{secrets.token_hex(3)}"
    run_folder.mkdir()
    dovecot, sink = Dovecot(), ProcessSink(run_folder)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        dovecot.start()
        sink.start()
        dovecot.append_many(corpus.raws, direct=True)
        with fresh_schema(args.server, args.keep) as (plain, schema):
            # The application name tells the daemons' sessions from other users of the database.
            url = f"{args.server}/{DATABASE}?options=-csearch_path%3D{schema}&application_name={schema}"
            config = write_config(
                run_folder,
                database_url=url,
                mailbox_url=dovecot.url,
                smtp_url=sink.url,
                batch_size=100,
                poll_interval=args.poll_interval,
            )
            sampler = Sampler(plain, schema) if args.sample else None
            with psycopg.connect(plain, options=f"-csearch_path={schema}") as conn:
                load = os.getloadavg()[0]
                begin = time.perf_counter()
                processes = [start_daemon(config, run_folder / f"daemon-{n}.log") for n in range(daemons)]
                if sampler is not None:
                    sampler.start()
                while not done(conn, len(corpus.raws)):
                    if time.perf_counter() - begin > args.timeout:
                        raise RuntimeError(f"not done after {args.timeout:.0f} s, see {run_folder}")
                    if any(process.poll() is not None for process in processes):
                        codes = [process.returncode for process in processes]
                        raise RuntimeError(f"a daemon exited early ({codes}), see {run_folder}")
                    time.sleep(POLL_EVERY)
                seconds = time.perf_counter() - begin
                if sampler is not None:
                    sampler.halt.set()
                    sampler.join()
                stop_daemons(processes)
                problems = duplicates(conn, corpus, sink)
            waits = sampler.waits if sampler is not None else Counter()
            return Measured(daemons, seconds, len(corpus.raws), problems, waits, load)
    finally:
        stop_daemons(processes)
        with suppress(Exception):
            sink.stop()
        with suppress(Exception):
            dovecot.stop()


def show(result: Measured) -> None:
    print(
        f"  {result.daemons} daemon{'s' if result.daemons > 1 else ''}: {result.seconds:.1f} s, "
        f"{result.rate:.1f} mails/s (load before {result.load_before:.2f}); "
        + (
            "no duplicates, nothing lost"
            if not result.problems
            else "PROBLEMS: " + "; ".join(result.problems)
        )
    )
    if result.waits:
        total = sum(result.waits.values())
        top = ", ".join(f"{name} {n * 100 / total:.0f}%" for name, n in result.waits.most_common(8))
        print(f"    active-session samples: {top}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="mails in the corpus (default 2000)")
    parser.add_argument("--rounds", type=int, default=2, help="pairs of measurements (default 2)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--server", default="postgresql+psycopg://postgres@127.0.0.1:5432", help="PostgreSQL, no database"
    )
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument("--sample", action="store_true", help="sample pg_stat_activity wait events")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and schemas")
    parser.add_argument("--only", type=int, choices=[1, 2], help="measure only one or only two daemons")
    parser.add_argument(
        "--poll-interval",
        type=int,
        default=1,
        help="the daemons' poll_interval in s (default 1; production's default is 60)",
    )
    args = parser.parse_args()
    corpus = build_corpus(args.count, args.seed)
    print(
        f"corpus: {len(corpus.raws)} mails, {corpus.tickets} of them new complaints; "
        f"poll_interval {args.poll_interval} s"
    )
    folder = Path(tempfile.mkdtemp(prefix="cd-two-"))
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    failed = False
    try:
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number}:")
            results = [measure(corpus, n, args, folder) for n in (1, 2) if args.only in (None, n)]
            for result in results:
                show(result)
            if len(results) == 2:
                print(f"  ratio two/one: {results[1].rate / results[0].rate:.2f}")
            failed = failed or any(result.problems for result in results)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
