"""The fault-injection harness: the daemon as a real process, and the invariants checked after a fault.

Owns three things the fault tests share:

- ``DaemonProcess``: ``caredesk run`` (or ``run --once``) as a child process whose
  log is read line by line on a thread, so a test waits for *an event in the log*
  ("stored 50 new", the 120th "ticket CC-") and then kills or signals it - no sleeps;
- ``recover``: the operator's "restart it until the work is done" loop, as
  ``run --once`` processes;
- ``Corpus`` and ``check_invariants``: every mail a test appends carries a unique
  ``X-Test-Id`` header; after a fault the database, the Dovecot folders and the
  SMTP sink are compared against what was appended (reliability.md §7, I1-I5).

Nothing here injects a fault; the tests do, with the servers' own controls and
the TCP proxy (``tests/faults/proxy.py``).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from daemon import clock
from daemon.store.models import InboundMessage, OutboundMessage
from tests import mailfactory
from tests.clockpin import daemon_environment
from tests.faults.proxy import TcpProxy
from tests.integration.helpers import CARE_ADDRESS, PROJECT, inbound, outbound, tickets
from tests.servers import Dovecot, SmtpSink

LINE_TIMEOUT = 90.0
"""How long a test waits for one log line before it gives up (a slow CI machine included)."""
RUN_ONCE_TIMEOUT = 120.0
"""A `run --once` over a 500-mail batch takes ~8 s on 2 cores; this is the hang guard."""

TEST_ID = re.compile(rb"^X-Test-Id:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
HEADER_FIELD = "BODY.PEEK[HEADER.FIELDS (X-TEST-ID)]"
HEADER_FIELD_KEY = b"BODY[HEADER.FIELDS (X-TEST-ID)]"
WAITING_STATES = ("stored", "retry")
UNSETTLED_OUTBOUND = ("pending", "retry", "sending")


# -- configuration ------------------------------------------------------------


def fault_config(
    folder: Path,
    *,
    database_url: str,
    mailbox_url: str,
    smtp_url: str,
    batch_size: int = 50,
    poll_interval: int = 1,
    mailbox: str = "",
    smtp: str = "",
    top: str = "",
) -> Path:
    """A caredesk.toml for a fault test; `mailbox`, `smtp` and `top` are extra TOML lines.

    The outbox retries after 1 s (doubling), so a retried mail goes out within
    the test instead of a minute later.
    """
    (folder / "imap-password").write_text("carepass\n")
    path = folder / "caredesk.toml"
    path.write_text(
        f"""
address = "{CARE_ADDRESS}"
name = "Customer Care Test"
rules = "{PROJECT / "rules.yaml"}"
log_level = "INFO"
{top}

[mailbox]
url = "{mailbox_url}"
password_file = "imap-password"
poll_interval = {poll_interval}
batch_size = {batch_size}
{mailbox}

[smtp]
url = "{smtp_url}"
retry_base_seconds = 1
{smtp}

[database]
url = "{database_url}"

# Our MX's Authentication-Results are believed (`mailfactory.stamped`); with no
# trust setting start-up warns, and the fault tests count warnings.
[security]
trusted_authserv_ids = "{mailfactory.OUR_MX}"
"""
    )
    return path


# -- the daemon as a process --------------------------------------------------


class DaemonProcess:
    """``caredesk --config <config> run <args>`` as a child process; its log read on a thread.

    stdout and stderr are merged (the log is on stderr, `run --once` prints its
    summary on stdout). Use as a context manager: the process is killed on exit
    if it is still running, so no test leaves a daemon behind.
    """

    def __init__(self, config: Path, *args: str) -> None:
        # No configuration overrides from the test's environment, but its pinned clock.
        env = daemon_environment()
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config), "run", *args],
            env=env,
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._eof = False
        self._reader = threading.Thread(target=self._read, name="daemon-log", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace")
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    @property
    def lines(self) -> list[str]:
        with self._changed:
            return list(self._lines)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def count(self, text: str) -> int:
        """How many log lines so far contain ``text``."""
        return sum(text in line for line in self.lines)

    def wait_for(self, text: str, count: int = 1, timeout: float = LINE_TIMEOUT) -> str:
        """Block until the ``count``-th log line containing ``text``; return that line."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                hits = [line for line in self._lines if text in line]
                if len(hits) >= count:
                    return hits[count - 1]
                remaining = deadline - time.monotonic()
                if self._eof or remaining <= 0:
                    why = "exited" if self._eof else f"did not log it within {timeout}s"
                    raise AssertionError(
                        f"waiting for line {count} with {text!r}: caredesk {why}; it said:\n"
                        + "".join(self._lines[-60:])
                    )
                self._changed.wait(min(remaining, 1.0))

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or committed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._reader.join(timeout=10)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM (a graceful stop) and wait; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = RUN_ONCE_TIMEOUT) -> int:
        """Wait for the process to exit by itself; returns the exit code."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"caredesk did not exit within {timeout}s:\n{self.output[-6000:]}") from None
        self._reader.join(timeout=10)
        return code

    def __enter__(self) -> DaemonProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()


def run_once(config: Path) -> str:
    """One `caredesk run --once` process; asserts it exits 0 and returns its output."""
    with DaemonProcess(config, "--once") as daemon:
        code = daemon.wait()
        assert code == 0, daemon.output[-6000:]
        return daemon.output


# -- what was appended, and what must be true of it ---------------------------


@dataclass
class Corpus:
    """The mails a test appended, by their X-Test-Id, and what each one is."""

    complaints: dict[str, str] = field(default_factory=dict)
    """test id -> sender, for mails that must each become one ticket."""
    automated: dict[str, str] = field(default_factory=dict)
    """test id -> sender, for mails that must never be answered."""
    other: dict[str, str] = field(default_factory=dict)
    """test id -> sender, for mails stored once with no rule about tickets."""

    @property
    def ids(self) -> set[str]:
        return set(self.complaints) | set(self.automated) | set(self.other)

    def __len__(self) -> int:
        return len(self.ids)

    def complaint_mails(self, count: int, *, prefix: str = "c", attachment_bytes: int = 0) -> list[bytes]:
        """``count`` complaints from distinct senders, each with a photo of that size if asked."""
        raws = []
        for n in range(len(self.complaints), len(self.complaints) + count):
            test_id, sender = f"{prefix}{n}", f"customer{n}@example.net"
            photo = None
            if attachment_bytes:
                # Different bytes per mail, the same on every run.
                content = (n.to_bytes(4, "big") + bytes(range(256))) * (attachment_bytes // 260 + 1)
                photo = (f"foto-{n}.jpg", content[:attachment_bytes], "image/jpeg")
            raws.append(
                mailfactory.complaint(
                    n, sender=sender, attachment=photo, extra_headers={"X-Test-Id": test_id}
                )
            )
            self.complaints[test_id] = sender
        return raws

    def complaint(self, test_id: str, sender: str, *, major: bool = False) -> bytes:
        self.complaints[test_id] = sender
        build = mailfactory.major_complaint if major else mailfactory.complaint
        return build(len(self.complaints), sender=sender, extra_headers={"X-Test-Id": test_id})

    def out_of_office(self, test_id: str, sender: str) -> bytes:
        """An RFC 3834 auto-reply: recorded, never answered."""
        self.automated[test_id] = sender
        raw = mailfactory.out_of_office(CARE_ADDRESS, sender=sender, n=len(self.automated))
        return with_test_id(raw, test_id)

    def add_other(self, test_id: str, sender: str, raw: bytes) -> bytes:
        self.other[test_id] = sender
        return with_test_id(raw, test_id)


def with_test_id(raw: bytes, test_id: str) -> bytes:
    """``raw`` with an X-Test-Id header in front (header order does not matter)."""
    return f"X-Test-Id: {test_id}\r\n".encode() + raw


def id_of(raw: bytes) -> str | None:
    found = TEST_ID.search(raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0])
    return found.group(1).decode("ascii", "replace") if found else None


@dataclass
class Snapshot:
    """The database, the three folders and the sink, read once after a fault."""

    rows: list[InboundMessage]
    tickets: int
    outbox: list[OutboundMessage]
    folders: dict[str, list[str | None]]
    sent: list[tuple[str, list[str]]]
    """(Message-ID, recipients) of every copy the sink received."""

    def rows_by_test_id(self) -> dict[str | None, list[InboundMessage]]:
        found: dict[str | None, list[InboundMessage]] = defaultdict(list)
        for row in self.rows:
            found[id_of(row.raw)].append(row)
        return found

    def outbox_by_message_id(self) -> dict[str, OutboundMessage]:
        return {row.message_id: row for row in self.outbox}


def snapshot(database_url: str, dovecot: Dovecot, sink: SmtpSink | None) -> Snapshot:
    made = tickets(database_url)
    folders = folder_test_ids(dovecot)
    received = sink.messages if sink is not None else []
    return Snapshot(
        rows=inbound(database_url),
        tickets=len(made),
        outbox=outbound(database_url),
        folders=folders,
        sent=[(str(r.message["Message-ID"]).strip(), list(r.rcpt_tos)) for r in received],
    )


def folder_test_ids(dovecot: Dovecot) -> dict[str, list[str | None]]:
    """The X-Test-Id of every message in INBOX, Processed and Quarantine.

    Only that header is fetched (with PEEK, so no flag changes): a 500-mail
    check costs a few milliseconds instead of transferring every body.
    """
    found: dict[str, list[str | None]] = {}
    with dovecot.connection() as client:
        for folder in ("INBOX", "Processed", "Quarantine"):
            if not client.folder_exists(folder):
                found[folder] = []
                continue
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, [HEADER_FIELD]) if uids else {}
            found[folder] = [id_of(fetched[uid][HEADER_FIELD_KEY]) for uid in sorted(fetched)]
    return found


def check_invariants(
    corpus: Corpus,
    database_url: str,
    dovecot: Dovecot,
    sink: SmtpSink | None,
    *,
    final: bool,
    allow_duplicates: bool = False,
) -> Snapshot:
    """Assert I1-I5 of reliability.md §7; ``final`` after the last recovery run.

    Before recovery (``final=False``) the rules are the ones that must hold at
    *any* moment: nothing stored twice, no ticket twice, at most one
    acknowledgement per ticket, nothing out of INBOX without its committed row,
    nothing lost. ``final`` adds: everything settled, every complaint a ticket.
    """
    state = snapshot(database_url, dovecot, sink)
    problems = [
        *_stored_once(corpus, state, final=final, allow_duplicates=allow_duplicates),
        *_one_ticket_each(corpus, state, final=final),
        *_acknowledgements(corpus, state, final=final),
        *_nothing_lost(corpus, state, final=final),
    ]
    assert not problems, "invariants violated:\n  " + "\n  ".join(problems[:40])
    return state


def _stored_once(corpus: Corpus, state: Snapshot, *, final: bool, allow_duplicates: bool) -> list[str]:
    """I1: every appended mail has exactly one live row (or is quarantined), never two."""
    problems = []
    by_id = state.rows_by_test_id()
    for test_id in sorted(corpus.ids):
        rows = by_id.get(test_id, [])
        live = [row for row in rows if row.state != "duplicate"]
        if len(live) > 1:
            problems.append(f"{test_id} stored {len(live)} times: rows {[r.id for r in live]}")
        if final and not live:
            problems.append(f"{test_id} was never stored")
        if final and live and live[0].state in WAITING_STATES:
            problems.append(f"{test_id} still {live[0].state} after recovery")
        if not allow_duplicates and len(rows) > len(live):
            problems.append(f"{test_id} has duplicate rows {[r.id for r in rows if r.state == 'duplicate']}")
    strangers = set(by_id) - corpus.ids
    if strangers:
        problems.append(f"rows for mail the test never appended: {sorted(map(str, strangers))}")
    return problems


def _one_ticket_each(corpus: Corpus, state: Snapshot, *, final: bool) -> list[str]:
    """I2: one ticket per complaint; no ticket for automated mail."""
    problems = []
    by_id = state.rows_by_test_id()
    owners: dict[int, list[str]] = defaultdict(list)
    for test_id in corpus.complaints:
        live = [row for row in by_id.get(test_id, []) if row.state != "duplicate"]
        if live and live[0].ticket_id is not None:
            owners[live[0].ticket_id].append(test_id)
        elif final:
            problems.append(f"complaint {test_id} has no ticket (state {[r.state for r in live]})")
    problems += [f"ticket #{t} shared by {ids}" for t, ids in owners.items() if len(ids) > 1]
    for test_id in corpus.automated:
        made = [row.ticket_id for row in by_id.get(test_id, []) if row.state == "processed"]
        if made:
            problems.append(f"automated mail {test_id} became ticket(s) {made}")
    # Mails of no fixed kind (a robot's replies) may or may not become tickets.
    if not corpus.other:
        expected = len(corpus.complaints)
        if state.tickets > expected or (final and state.tickets != expected):
            problems.append(f"{state.tickets} tickets for {expected} complaints")
    return problems


def _acknowledgements(corpus: Corpus, state: Snapshot, *, final: bool) -> list[str]:
    """I3: at most one acknowledgement per ticket reached the sink; none to automated senders."""
    problems = []
    rows = state.outbox_by_message_id()
    acks: Counter[int | None] = Counter()
    copies = Counter(message_id for message_id, _recipients in state.sent)
    quiet = set(corpus.automated.values())
    for message_id, recipients in state.sent:
        row = rows.get(message_id)
        if row is None:
            problems.append(f"the sink got {message_id} to {recipients}, which is in no outbox row")
            continue
        if row.kind == "ack":
            acks[row.ticket_id] += 1
        if quiet & set(recipients):
            problems.append(f"{row.kind} {message_id} sent to an automated sender {recipients}")
    problems += [f"ticket #{t}: {n} acknowledgements reached the sink" for t, n in acks.items() if n > 1]
    if final:
        for row in state.outbox:
            if row.state in UNSETTLED_OUTBOUND:
                problems.append(f"outbound #{row.id} ({row.kind} to {row.recipient}) still {row.state}")
            elif row.state == "sent" and not copies[row.message_id]:
                problems.append(f"outbound #{row.id} ({row.kind}) is sent but the sink never got it")
    return problems


def _nothing_lost(corpus: Corpus, state: Snapshot, *, final: bool) -> list[str]:
    """I4: nothing left INBOX before its row was committed; every mail in exactly one folder."""
    problems = []
    stored = {test_id for test_id, rows in state.rows_by_test_id().items() if rows}
    moved = [tid for folder in ("Processed", "Quarantine") for tid in state.folders.get(folder, [])]
    early = sorted(str(tid) for tid in moved if tid not in stored)
    if early:
        problems.append(f"left INBOX without a committed row: {early[:20]}")
    everywhere = Counter(tid for ids in state.folders.values() for tid in ids)
    counts = {folder: len(ids) for folder, ids in state.folders.items()}
    if sum(everywhere.values()) != len(corpus):
        problems.append(f"{len(corpus)} mails appended, folders hold {counts}")
    lost = sorted(corpus.ids - set(everywhere))
    doubled = sorted(str(tid) for tid, n in everywhere.items() if n > 1)
    if lost or doubled:
        problems.append(f"missing from every folder: {lost[:20]}; in more than one place: {doubled[:20]}")
    if final and counts.get("INBOX"):
        problems.append(f"{counts['INBOX']} mails still in INBOX after recovery")
    return problems


# -- recovery -----------------------------------------------------------------


def settled(database_url: str, dovecot: Dovecot) -> bool:
    """True when nothing is left to do: INBOX empty, no mail waiting, no mail to send."""
    if dovecot.count("INBOX"):
        return False
    if any(row.state in WAITING_STATES for row in inbound(database_url)):
        return False
    return not any(row.state in UNSETTLED_OUTBOUND for row in outbound(database_url))


def recover(config: Path, database_url: str, dovecot: Dovecot, *, max_runs: int = 6) -> list[str]:
    """Run `caredesk run --once` until nothing is left (at most ``max_runs`` times).

    Between runs it waits for the earliest outbox retry to fall due (the outbox
    backs off 1 s, 2 s, ... in these tests), never more than 10 s.
    """
    outputs = []
    for _ in range(max_runs):
        outputs.append(run_once(config))
        if settled(database_url, dovecot):
            return outputs
        _wait_for_next_retry(database_url)
    raise AssertionError(f"not settled after {max_runs} `run --once`; last output:\n{outputs[-1][-6000:]}")


def _wait_for_next_retry(database_url: str) -> None:
    due = [row.next_attempt_at for row in outbound(database_url) if row.state == "retry"]
    if due:
        # The daemon's clock, pinned like this process's: next_attempt_at is in its time.
        delay = (min(due) - clock.now()).total_seconds()
        time.sleep(min(max(delay, 0.0), 10.0))


# -- small helpers ------------------------------------------------------------


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    step: float = 0.1,
    daemon: DaemonProcess | None = None,
) -> float:
    """Poll ``predicate`` until true; returns the seconds it took. For state outside any log.

    On a time-out the message carries the end of ``daemon``'s log, to tell why.
    """
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            log = f"; caredesk's log ends:\n{daemon.output[-6000:]}" if daemon is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{log}")
        time.sleep(step)
    return time.monotonic() - started


def sent_to(sink: SmtpSink, address: str) -> list[str]:
    """Message-IDs of every copy the sink received for ``address``, in order."""
    return [str(r.message["Message-ID"]).strip() for r in sink.messages if address in r.rcpt_tos]


def kinds_of(database_url: str, message_ids: Iterable[str]) -> list[str]:
    rows = {row.message_id: row.kind for row in outbound(database_url)}
    return [rows.get(message_id, "?") for message_id in message_ids]


def states(rows: Sequence[InboundMessage | OutboundMessage]) -> Counter[str]:
    return Counter(row.state for row in rows)


__all__ = [
    "Corpus",
    "DaemonProcess",
    "Snapshot",
    "check_invariants",
    "fault_config",
    "folder_test_ids",
    "id_of",
    "imap_url",
    "kinds_of",
    "recover",
    "run_once",
    "sent_to",
    "settled",
    "smtp_url",
    "states",
    "wait_until",
    "with_test_id",
]


def imap_url(proxy: TcpProxy, dovecot: Dovecot) -> str:
    """The mailbox URL through ``proxy`` instead of straight to Dovecot."""
    return f"imap://{dovecot.user}@{proxy.host}:{proxy.port}/INBOX"


def smtp_url(proxy: TcpProxy) -> str:
    return f"smtp://{proxy.host}:{proxy.port}"
