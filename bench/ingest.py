"""Benchmark: end-to-end ingestion, Dovecot -> `caredesk run --once` -> SMTP sink.

Not a test: prints figures. Loads N generated mails (mixed Indonesian/English
complaints, some with attachments, replies, auto-replies, bounces and exact
duplicates) into a throw-away Dovecot, runs `caredesk run --once` against it as a
subprocess with an SMTP sink, and prints the wall time from start to exit,
mails/second, the daemon's peak RSS, where the time went (from its log lines) and
the counts. Then checks that every mail is accounted for.

    .venv/bin/python bench/ingest.py [--count 1000] [--seed 7] [--keep]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench]
        [--profile run.prof [--profiler cprofile|pyinstrument]] [--baseline]
        [--count-sql] [--heap heap.txt] [--sink process|inprocess] [--dovecot-rescans]
        [--no-pipelining]

A PostgreSQL URL without a search_path gets a fresh schema, dropped afterwards.
`--profile` runs the daemon under a profiler and prints its top functions;
`--baseline` also times batch FETCH plus mail-parser alone on the same corpus and
prints the ratio of the two rates; `--count-sql` prints SQL statements, flushes
and commits per mail; `--heap` writes where the daemon's memory went (`heap.py`,
tracemalloc). The SMTP server is aiosmtpd in a process of its own
(`fast_sink.py`) unless `--sink inprocess` picks the parsing test sink. The
test Dovecot runs with `maildir_very_dirty_syncs = yes` (see VERY_DIRTY_SYNCS)
unless `--dovecot-rescans` asks for its default. Exits 1 when a consistency
check fails. bench/README.md explains the figures.
"""

from __future__ import annotations

import argparse
import logging
import os
import pstats
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import NamedTuple

import mailparser
import psycopg
from imapclient import IMAPClient
from psycopg import sql
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlmodel import col

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.store import db
from daemon.store.models import InboundMessage, OutboundMessage, Ticket
from tests import mailfactory
from tests.integration.helpers import write_config
from tests.servers import Dovecot, SmtpSink
from tests.servers.dovecot import free_port

PROJECT = Path(__file__).resolve().parent.parent
# Dovecot's Maildir re-reads a folder's cur/ after every change it made itself
# unless told that nothing else writes there: with 20,000 mails in the INBOX its
# imap process then spent more CPU than the daemon (every batch moved out makes
# one scan of the whole folder). The bench is the only writer once the corpus
# is dropped in, so it says so; --dovecot-rescans measures the default.
VERY_DIRTY_SYNCS = ("maildir_very_dirty_syncs = yes",)

FIRST_NAMES = ("budi", "siti", "agus", "dewi", "rudi", "ani", "joko", "rina", "john", "mary", "wayan", "putu")
LAST_NAMES = ("santoso", "rahayu", "wijaya", "lestari", "hidayat", "susanto", "smith", "tan", "kusuma")
DOMAINS = ("example.net", "mail.example.com", "contoh.example.co.id", "surel.example.org")
FETCH_BATCH = 100
# The daemon is started from this small launcher, not from the benchmark itself:
# ru_maxrss keeps the high-water mark of a process from before its exec, and a
# child forked from the benchmark starts out sharing the whole corpus it holds.
LAUNCHER = """
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
started, begin = time.time(), time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_pid, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - begin
with open(report, "w") as out:
    out.write(f"{started} {seconds} {usage.ru_maxrss} {usage.ru_utime} {usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status))
"""
LAUNCHER_FAILED = 127
MAILBOX_LOGGERS = ("caredesk.imap", "caredesk.intake")
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ ([\w.]+): ")

REPLY_TEXT = {
    "id": "Sudah seminggu sejak keluhan saya di bawah ini dan belum ada kabar sama sekali. "
    "Mohon informasi perkembangannya secepatnya.",
    "en": "It has been a week since my complaint below and I have not heard anything. "
    "Please let me know where things stand.",
}


# -- the corpus -----------------------------------------------------------------


@dataclass
class Corpus:
    """The raw mails in mailbox order and how many of each kind they are."""

    raws: list[bytes] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, raw: bytes) -> None:
        self.raws.append(raw)
        self.kinds[kind] += 1

    @property
    def tickets(self) -> int:
        """Mails that must each become a new ticket."""
        return self.kinds["complaint"] + self.kinds["attachment"] + self.kinds["major"]


@dataclass(frozen=True)
class Sent:
    """A complaint already in the corpus, for replies and duplicates to point at."""

    raw: bytes
    sender: str
    name: str
    subject: str
    message_id: str
    language: mailfactory.Language
    text: str


def build_corpus(count: int, seed: int) -> Corpus:
    """`count` mails, the same for the same seed: of all mails about 10% carry an
    attachment, 10% are replies, 8% auto-replies, 2% bounces, 2% major complaints
    and 0.5% exact duplicates; the rest are plain complaints. 60% are Indonesian."""
    rng = random.Random(seed)
    customers = _customers(rng, max(20, count * 4 // 5))
    corpus = Corpus()
    sent: list[Sent] = []
    for n in range(count):
        roll = rng.random()
        sender, name = rng.choice(customers)
        language: mailfactory.Language = "id" if rng.random() < 0.6 else "en"
        if roll < 0.005 and sent:
            corpus.add("duplicate", rng.choice(sent).raw)
        elif roll < 0.105 and sent:
            corpus.add("reply", _reply(n, rng.choice(sent)))
        elif roll < 0.185:
            corpus.add("auto-reply", _out_of_office(n, sender, name))
        elif roll < 0.205:
            corpus.add("bounce", mailfactory.delivery_failure(original_to=sender, n=n))
        else:
            kind = "attachment" if roll < 0.305 else "major" if roll < 0.325 else "complaint"
            complaint = _complaint(rng, kind, n, sender, name, language)
            sent.append(complaint)
            corpus.add(kind, complaint.raw)
    return corpus


def _customers(rng: random.Random, count: int) -> list[tuple[str, str]]:
    # Fewer customers than mails, so a few write twice or three times (the
    # repeat-complaint rule then makes some tickets major), as in real life.
    found = []
    for index in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        address = f"{first}.{last}{index}@{rng.choice(DOMAINS)}"
        found.append((address, f"{first.title()} {last.title()}"))
    return found


def _complaint(
    rng: random.Random, kind: str, n: int, sender: str, name: str, language: mailfactory.Language
) -> Sent:
    message_id = f"<c{n}.{rng.getrandbits(32):08x}@{sender.partition('@')[2]}>"
    if kind == "major":
        raw = mailfactory.major_complaint(
            n, sender=sender, name=name, language=language, message_id=message_id
        )
    else:
        attachment = _attachment(rng, n) if kind == "attachment" else None
        raw = mailfactory.complaint(
            n, sender=sender, name=name, language=language, message_id=message_id, attachment=attachment
        )
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    return Sent(raw, sender, name, str(message["Subject"]), message_id, language, text)


def _attachment(rng: random.Random, n: int) -> tuple[str, bytes, str]:
    # Random bytes behind a real magic number: incompressible, like scans and photos.
    size = rng.randint(20_000, 200_000)
    if rng.random() < 0.5:
        return f"bukti-{n}.pdf", b"%PDF-1.4\n" + rng.randbytes(size), "application/pdf"
    return f"foto-{n}.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + rng.randbytes(size), "image/jpeg"


def _reply(n: int, original: Sent) -> bytes:
    # The customer answers their own complaint: In-Reply-To its Message-ID
    # threads the reply onto the ticket that complaint became.
    quoted = "\n".join(f"> {line}" for line in original.text.splitlines()[:12])
    body = f"{textwrap.fill(REPLY_TEXT[original.language], 72)}\n\n{original.name}\n\n{quoted}\n"
    return mailfactory.complaint(
        n,
        sender=original.sender,
        name=original.name,
        language=original.language,
        subject=f"Re: {original.subject}",
        body=body,
        extra_headers={"In-Reply-To": original.message_id, "References": original.message_id},
    )


def _out_of_office(n: int, sender: str, name: str) -> bytes:
    return mailfactory.out_of_office(
        mailfactory.CARE_ADDRESS,
        sender=sender,
        name=name,
        original_subject=f"[CC-2024-{n:06d}] Keluhan Anda telah kami catat",
        n=n,
    )


# -- the database ---------------------------------------------------------------


@contextmanager
def database(url: str | None, folder: Path, keep: bool) -> Iterator[str]:
    """The database URL to use: a SQLite file in `folder`, or a PostgreSQL schema of its own."""
    if url is None:
        yield f"sqlite:///{folder}/caredesk.db"
        return
    if not url.startswith("postgresql") or "search_path" in url:
        yield url
        return
    schema = f"bench_{secrets.token_hex(6)}"
    admin = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        if keep:
            print(f"kept PostgreSQL schema {schema}")
        else:
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@dataclass
class Counts:
    tickets: int = 0
    escalated: int = 0
    inbound: Counter[str] = field(default_factory=Counter)
    """Inbound rows by state."""
    outbound: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Outbound rows by (kind, state)."""
    sent: dict[str, str] = field(default_factory=dict)
    """Message-ID -> kind of every outbound row that was sent."""

    def outbound_in(self, *, kind: str | None = None, state: str | None = None) -> int:
        return sum(n for (k, s), n in self.outbound.items() if kind in (None, k) and state in (None, s))


def read_counts(url: str) -> Counts:
    engine = db.make_engine(url)
    counts = Counts()
    try:
        with db.session(engine) as session:
            states = select(col(InboundMessage.state), func.count()).group_by(col(InboundMessage.state))
            counts.inbound.update({state: n for state, n in session.execute(states).all()})
            outbound = select(
                col(OutboundMessage.kind), col(OutboundMessage.state), col(OutboundMessage.message_id)
            )
            for kind, state, message_id in session.execute(outbound).all():
                counts.outbound[(kind, state)] += 1
                if state == "sent":
                    counts.sent[message_id] = kind
            counts.tickets = session.execute(select(func.count()).select_from(Ticket)).scalar_one()
            counts.escalated = session.execute(
                select(func.count()).select_from(Ticket).where(col(Ticket.escalated))
            ).scalar_one()
    finally:
        engine.dispose()
    return counts


# -- running the daemon ---------------------------------------------------------


@dataclass
class Run:
    seconds: float
    exit_code: int
    peak_rss_mb: float
    user_seconds: float
    system_seconds: float
    load_before: float
    """The 1-minute load average at the start: other work on the machine skews the wall time."""
    started: float
    """Wall-clock (epoch) start, to place the daemon's log lines."""
    ended: float


def profiler_prefix(profiler: str, profile: Path | None) -> list[str]:
    """The arguments that put the daemon under a profiler writing to `profile`."""
    if profile is None:
        return []
    if profiler == "pyinstrument":
        # Sampling, so far less overhead than cProfile; not a project
        # dependency: `.venv/bin/pip install pyinstrument` first.
        return ["-m", "pyinstrument", "-r", "text", "--no-color", "-o", str(profile)]
    return ["-m", "cProfile", "-o", str(profile)]


def run_daemon(
    config: Path,
    log_path: Path,
    timeout: float,
    profiling: list[str],
    sql_report: Path | None = None,
    heap_report: Path | None = None,
) -> Run:
    """`caredesk run --once` as a child process: wall time to exit, and its own peak RSS.

    With `sql_report`, the daemon runs under `counting.py`, which writes its SQL counts there;
    with `heap_report`, under `heap.py`, which writes where its memory went.
    """
    entry = ["-m", "daemon"]
    if sql_report is not None:
        entry = [str(PROJECT / "bench" / "counting.py"), str(sql_report)]
    elif heap_report is not None:
        entry = [str(PROJECT / "bench" / "heap.py"), str(heap_report)]
    command = [sys.executable, *profiling, *entry, "--config", str(config), "run", "--once"]
    report = log_path.with_suffix(".rusage")
    load_before = os.getloadavg()[0]
    with log_path.open("wb") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(report), *command],
            cwd=PROJECT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            exit_code = launcher.wait(timeout=timeout)
        except BaseException as error:
            # Its own session keeps a Ctrl-C from reaching it: end it here.
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
            if isinstance(error, subprocess.TimeoutExpired):
                raise RuntimeError(f"caredesk run --once still running after {timeout:.0f} s") from None
            raise
    if exit_code == LAUNCHER_FAILED:
        raise RuntimeError(f"could not start the daemon, see {log_path}")
    started, seconds, max_rss_kib, user, system = (float(v) for v in report.read_text().split())
    return Run(seconds, exit_code, max_rss_kib / 1024, user, system, load_before, started, started + seconds)


@dataclass
class Phases:
    startup: float
    work: float
    shutdown: float


def phases(log_path: Path, run: Run) -> Phases | None:
    """Split the run by the daemon's log timestamps (local time, millisecond resolution).

    Start-up ends at the first line about the mailbox (after imports, schema,
    rules and the IMAP login); the work (intake, processing and delivery, which
    runs between batches) ends at the last outbox line. None when there is
    nothing to split at.
    """
    stamps: list[tuple[float, str]] = []
    for line in log_path.read_text(errors="replace").splitlines():
        match = LOG_LINE.match(line)
        if match:
            when = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            stamps.append((when, match[2]))
    outbox = [when for when, logger in stamps if logger == "caredesk.outbox"]
    mailbox = [when for when, logger in stamps if logger in MAILBOX_LOGGERS]
    if not mailbox or not outbox:
        return None
    first, last = mailbox[0], stamps[-1][0]
    return Phases(startup=first - run.started, work=outbox[-1] - first, shutdown=run.ended - last)


def baseline(dovecot: Dovecot, folder: str, count: int) -> float:
    """Seconds for batch FETCH plus mail-parser alone over `folder` (read-only)."""
    # mail-parser logs every MIME part it does not know (the bounces' headers).
    logging.getLogger("mailparser").setLevel(logging.ERROR)
    begin = time.perf_counter()
    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=60)
    try:
        client.login(dovecot.user, dovecot.password)
        client.select_folder(folder, readonly=True)
        uids = sorted(client.search("ALL"))
        for start in range(0, len(uids), FETCH_BATCH):
            fetched = client.fetch(uids[start : start + FETCH_BATCH], ["BODY.PEEK[]"])
            for item in fetched.values():
                mailparser.parse_from_bytes(item[b"BODY[]"])
    finally:
        client.logout()
    if len(uids) != count:
        raise RuntimeError(f"baseline expected {count} mails in {folder}, found {len(uids)}")
    return time.perf_counter() - begin


# -- checks and report ----------------------------------------------------------


@dataclass
class Mailbox:
    inbox: int
    processed: int
    quarantine: int


@dataclass
class Sink:
    received: int
    kinds: Counter[str]
    """Received mails by the kind of the sent outbound row with their Message-ID; else 'unknown'."""
    auto_replied_acks: int
    """Acknowledgements that carry `Auto-Submitted: auto-replied`, as RFC 3834 wants."""
    ack_times: list[float] = field(default_factory=list)
    """When the sink accepted each acknowledgement (Unix seconds; only the process sink keeps them)."""


class Accepted(NamedTuple):
    """One mail the sink accepted."""

    message_id: str
    auto_submitted: str
    at: float | None
    """When (Unix seconds); None from the in-process sink, which keeps no times."""


def sink_counts(received: list[Accepted], sent: dict[str, str]) -> Sink:
    """Count what the sink received by kind, and when it accepted the acknowledgements."""
    kinds: Counter[str] = Counter()
    auto_replied = 0
    ack_times = []
    for message_id, submitted, at in received:
        kind = sent.get(message_id.strip(), "unknown")
        kinds[kind] += 1
        auto_replied += kind == "ack" and submitted == "auto-replied"
        if kind == "ack" and at is not None:
            ack_times.append(at)
    return Sink(len(received), kinds, auto_replied, sorted(ack_times))


class ProcessSink:
    """aiosmtpd in a child process (`fast_sink.py`): what it received is read once it stopped."""

    def __init__(self, folder: Path, *, pipelining: bool = True) -> None:
        self.port = free_port()
        self.pipelining = pipelining
        self.record = folder / "sink.tsv"
        self.process: subprocess.Popen[str] | None = None
        self.url = f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        script = str(PROJECT / "bench" / "fast_sink.py")
        self.process = subprocess.Popen(
            [sys.executable, script, str(self.port), str(self.record)]
            + ([] if self.pipelining else ["--no-pipelining"]),
            stdout=subprocess.PIPE,
            text=True,
            cwd=PROJECT,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP sink did not start")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.process = None

    def received(self) -> list[Accepted]:
        """Each mail accepted, in order (`fast_sink.py`'s record); stops the sink first."""
        self.stop()
        rows = [line.split("\t") for line in self.record.read_text().splitlines()]
        return [Accepted(row[0], row[1], float(row[2])) for row in rows]


def in_process_received(sink: SmtpSink) -> list[Accepted]:
    return [
        Accepted(str(item.message.get("Message-ID", "")), str(item.message.get("Auto-Submitted", "")), None)
        for item in sink.messages
    ]


def print_sql_counts(report_path: Path, total: int) -> None:
    """Statements, flushes and commits per mail, and the most frequent statements."""
    if not report_path.exists():
        print("sql: no report (the daemon did not exit normally)")
        return
    counters: dict[str, int] = {}
    shapes: list[tuple[str, int]] = []
    flushes: list[tuple[str, int]] = []
    timed: list[tuple[str, float]] = []
    for line in report_path.read_text().splitlines():
        name, _, value = line.rpartition(" ")
        if name.startswith("seconds "):
            timed.append((name[8:], float(value)))
        elif name.startswith("by "):
            shapes.append((name[3:], int(value)))
        elif name.startswith("flush-at "):
            flushes.append((name[9:], int(value)))
        else:
            counters[name] = int(value)
    statements = counters.get("statements", 0)
    print(
        f"sql: {statements} statements ({statements / total:.1f} per mail), "
        f"{counters.get('flushes', 0) / total:.1f} flushes and "
        f"{counters.get('commits', 0) / total:.2f} commits per mail"
    )
    print("sql per mail: " + ", ".join(f"{shape} {n / total:.2f}" for shape, n in shapes[:12]))
    print("flushes per mail from: " + ", ".join(f"{site} {n / total:.2f}" for site, n in flushes[:8]))
    in_driver = sum(spent for _, spent in timed)
    print(
        f"sql time in the driver: {in_driver:.1f} s in the 15 costliest shapes; "
        + ", ".join(f"{shape} {spent:.1f} s" for shape, spent in timed[:8])
    )


def check(corpus: Corpus, run: Run, counts: Counts, box: Mailbox, sink: Sink) -> list[str]:
    """What does not add up; empty when every mail is accounted for."""
    total = len(corpus.raws)
    kinds = corpus.kinds
    sent = counts.outbound_in(state="sent")
    expected: list[tuple[str, int, int]] = [
        ("exit code", run.exit_code, 0),
        ("inbound rows", sum(counts.inbound.values()), total),
        ("inbound still stored", counts.inbound["stored"], 0),
        ("inbound quarantined", counts.inbound["quarantined"], 0),
        (
            "inbound processed (tickets + replies)",
            counts.inbound["processed"],
            corpus.tickets + kinds["reply"],
        ),
        (
            "inbound ignored (auto-replies + bounces)",
            counts.inbound["ignored"],
            kinds["auto-reply"] + kinds["bounce"],
        ),
        ("inbound duplicate", counts.inbound["duplicate"], kinds["duplicate"]),
        ("tickets", counts.tickets, corpus.tickets),
        ("acknowledgements queued or suppressed", counts.outbound_in(kind="ack"), corpus.tickets),
        ("department notices", counts.outbound_in(kind="notice"), corpus.tickets),
        ("escalations", counts.outbound_in(kind="escalation"), counts.escalated),
        # A row the daemon chose not to send (a rate limit) is `suppressed`;
        # anything else not sent was lost on the way.
        (
            "outbound neither sent nor suppressed",
            counts.outbound_in() - sent - counts.outbound_in(state="suppressed"),
            0,
        ),
        ("mails at the SMTP sink", sink.received, sent),
        ("mails at the SMTP sink matching no sent row", sink.kinds["unknown"], 0),
        (
            "acknowledgements at the SMTP sink",
            sink.kinds["ack"],
            counts.outbound_in(kind="ack", state="sent"),
        ),
        (
            "acknowledgements without Auto-Submitted: auto-replied",
            sink.kinds["ack"] - sink.auto_replied_acks,
            0,
        ),
        ("INBOX", box.inbox, 0),
        ("Processed folder", box.processed, total - counts.inbound["quarantined"]),
        ("Quarantine folder", box.quarantine, counts.inbound["quarantined"]),
    ]
    return [f"{name}: {actual}, expected {want}" for name, actual, want in expected if actual != want]


def _states(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counter.items())) or "none"


def report(
    corpus: Corpus,
    label: str,
    run: Run,
    split: Phases | None,
    counts: Counts,
    box: Mailbox,
    sink: Sink,
    servers: str,
) -> None:
    total = len(corpus.raws)
    megabytes = sum(len(raw) for raw in corpus.raws) / 1e6
    print(f"corpus: {total} mails, {megabytes:.1f} MB: {_states(corpus.kinds)}")
    print(f"database: {label}")
    print(f"servers: {servers}")
    print(
        f"run --once: {run.seconds:.2f} s, {total / run.seconds:.0f} mails/s, "
        f"peak RSS {run.peak_rss_mb:.0f} MB, exit {run.exit_code}"
    )
    cpu = run.user_seconds + run.system_seconds
    print(
        f"daemon CPU: {cpu:.2f} s (user {run.user_seconds:.2f}, sys {run.system_seconds:.2f}), "
        f"{total / cpu:.0f} mails per CPU-second; load average before the run {run.load_before:.2f}"
    )
    if split is not None:
        print(
            f"phases: start-up {split.startup:.2f} s | intake, processing and delivery {split.work:.2f} s "
            f"({total / max(split.work, 1e-3):.0f} mails/s) | exit {split.shutdown:.2f} s"
        )
    if sink.ack_times:
        # From the first line about the mailbox: how long the customers of a backlog wait.
        start = run.started + (split.startup if split is not None else 0.0)
        waits = [when - start for when in sink.ack_times]
        print(
            f"acknowledgements at the sink: first {waits[0]:.2f} s, median {waits[len(waits) // 2]:.2f} s, "
            f"last {waits[-1]:.2f} s after the first mailbox line ({len(waits)})"
        )
    print(f"tickets: {counts.tickets} ({counts.escalated} escalated)")
    print(f"inbound: {_states(counts.inbound)}")
    by_kind: dict[str, Counter[str]] = {}
    for (kind, state), n in counts.outbound.items():
        by_kind.setdefault(kind, Counter())[state] += n
    print("outbound: " + "; ".join(f"{kind} {_states(by_kind[kind])}" for kind in sorted(by_kind)))
    print(
        f"smtp sink: {sink.received} received: {_states(sink.kinds)} "
        f"({sink.auto_replied_acks} acknowledgements with Auto-Submitted: auto-replied)"
    )
    print(f"mailbox: INBOX {box.inbox}, Processed {box.processed}, Quarantine {box.quarantine}")


def print_profile(path: Path, profiler: str, top: int = 30) -> None:
    if profiler == "pyinstrument":
        print(f"\nprofile ({path}):\n{path.read_text()}")
        return
    stats = pstats.Stats(str(path))
    print(f"\nprofile ({path}), top {top} by cumulative time:")
    stats.sort_stats("cumulative").print_stats(top)


# -- main -----------------------------------------------------------------------


def _label(url: str) -> str:
    parsed = make_url(url)
    return f"{parsed.get_backend_name()} {parsed.render_as_string(hide_password=True)}"


def _stopping(stop: Callable[[], None]) -> None:
    with suppress(Exception):
        stop()


def bench(args: argparse.Namespace, folder: Path) -> int:
    corpus = build_corpus(args.count, args.seed)
    dovecot = Dovecot(settings=() if args.dovecot_rescans else VERY_DIRTY_SYNCS)
    pipelining = not args.no_pipelining
    sink: SmtpSink | ProcessSink = (
        SmtpSink(pipelining=pipelining)
        if args.sink == "inprocess"
        else ProcessSink(folder, pipelining=pipelining)
    )
    sql_report = folder / "sql.txt" if args.count_sql else None
    heap_report = args.heap
    try:
        dovecot.start()
        sink.start()
        begin = time.perf_counter()
        dovecot.append_many(corpus.raws, direct=True)
        print(f"loaded {len(corpus.raws)} mails into Dovecot in {time.perf_counter() - begin:.1f} s")
        with database(args.database_url, folder, args.keep) as url:
            config = write_config(
                folder, database_url=url, mailbox_url=dovecot.url, smtp_url=sink.url, batch_size=100
            )
            # The schema first, as `caredesk db upgrade` makes it when caredesk is installed:
            # the run is that of a daemon on its register, without the migrations' imports.
            db.open_for_writing(url).dispose()
            profiling = profiler_prefix(args.profiler, args.profile)
            run = run_daemon(
                config, folder / "caredesk.log", args.timeout, profiling, sql_report, heap_report
            )
            split = phases(folder / "caredesk.log", run)
            counts = read_counts(url)
            box = Mailbox(dovecot.count("INBOX"), dovecot.count("Processed"), dovecot.count("Quarantine"))
            got = sink.received() if isinstance(sink, ProcessSink) else in_process_received(sink)
            received = sink_counts(got, counts.sent)
            syncs = "default Maildir syncs" if args.dovecot_rescans else VERY_DIRTY_SYNCS[0]
            offers = "offers PIPELINING" if pipelining else "without PIPELINING"
            servers = f"dovecot {syncs}; smtp sink {offers}"
            report(corpus, _label(url), run, split, counts, box, received, servers)
            if sql_report is not None:
                print_sql_counts(sql_report, len(corpus.raws))
        if args.baseline:
            seconds = baseline(dovecot, "Processed", box.processed)
            rate = box.processed / seconds
            ratio = (len(corpus.raws) / run.seconds) / rate
            print(f"baseline: batch FETCH + mail-parser alone {seconds:.2f} s, {rate:.0f} mails/s")
            print(f"ratio: run --once / baseline {ratio:.2f}")
    finally:
        _stopping(sink.stop)
        _stopping(dovecot.stop)
    if args.profile is not None:
        print_profile(args.profile, args.profiler)
    problems = check(corpus, run, counts, box, received)
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    if problems:
        print(
            f"daemon log: {folder / 'caredesk.log'}" if args.keep else "(run with --keep for the daemon log)"
        )
        return 1
    print("checks: every mail accounted for")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="mails in the corpus (default 1000)")
    parser.add_argument("--seed", type=int, default=7, help="corpus seed (default 7)")
    parser.add_argument("--database-url", help="default: a SQLite file in the temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (config, log, database)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="kill the daemon after this many s")
    parser.add_argument("--profile", type=Path, help="run the daemon under a profiler, write its output here")
    parser.add_argument(
        "--profiler",
        choices=["cprofile", "pyinstrument"],
        default="cprofile",
        help="cprofile (pstats file, stdlib) or pyinstrument (text report, sampling; install it first)",
    )
    parser.add_argument("--baseline", action="store_true", help="also time batch FETCH + mail-parser alone")
    parser.add_argument(
        "--dovecot-rescans",
        action="store_true",
        help="leave the test Dovecot's Maildir syncs at their default, which re-read the folder "
        "after each batch moved (see VERY_DIRTY_SYNCS)",
    )
    parser.add_argument(
        "--count-sql", action="store_true", help="count the daemon's SQL statements, flushes and commits"
    )
    parser.add_argument(
        "--heap", type=Path, help="run the daemon under tracemalloc (bench/heap.py), write its report here"
    )
    parser.add_argument(
        "--sink",
        choices=["process", "inprocess"],
        default="process",
        help="process: aiosmtpd in a child process, reading headers only (default); "
        "inprocess: the test sink, which parses every mail in the benchmark's process",
    )
    parser.add_argument(
        "--no-pipelining",
        action="store_true",
        help="the SMTP sink does not offer PIPELINING (aiosmtpd's own default), so each mail "
        "takes four round trips instead of two",
    )
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")
    folder = Path(tempfile.mkdtemp(prefix="cd-bench-"))
    # A Ctrl-C must still stop Dovecot and the sink (the finally blocks do it).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return bench(args, folder)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
