"""Run the whole corpus through the real daemon once, then judge every mail against its label.

Shared by the corpus test (`test_corpus.py`) and the figures (`figures.py`).
The mails go into a Maildir's new/ under their corpus names, so each stored row
is found again by its `source_key`; the acknowledgements the bounces return
(outbound.tsv) are stored first with the daemon's own models; then
`caredesk run --once` runs as a subprocess with a file outbox, and the
database is read back.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from daemon.parse.parser import ParseError, parse
from daemon.store import db
from daemon.store.models import AddressStatus, InboundMessage, OutboundMessage, Ticket, TicketEvent
from daemon.store.vocabulary import Action, InboundState, OutboundKind, OutboundState
from tests.clockpin import DEFAULT_INSTANT, daemon_environment
from tests.corpus.cases import VERP_SECRET
from tests.integration.helpers import PROJECT, write_config

HERE = Path(__file__).resolve().parent
MAILS = HERE / "mails"
RUN_TIMEOUT_SECONDS = 170
BAD_TEXT = ("\ufffd", "=?", "ï¿½")
"""What a garbled header leaves: the replacement character, an undecoded encoded-word, its UTF-8 mojibake."""


@dataclass(frozen=True)
class Label:
    """One row of labels.tsv."""

    file: str
    label: str
    sender: str
    subject: str
    tied: str
    cls: str
    name: str
    attachments: tuple[str, ...]


@dataclass(frozen=True)
class Returned:
    """One row of outbound.tsv: an acknowledgement we "sent", and the corpus file that bounces it."""

    id: int
    message_id: str
    recipient: str
    reference: str
    subject: str
    file: str


def labels() -> list[Label]:
    with (HERE / "labels.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        Label(
            row["file"],
            row["label"],
            row["sender"],
            row["subject"],
            row["tied"],
            row["class"],
            row["name"],
            tuple(name for name in row["attachments"].split("|") if name),
        )
        for row in rows
    ]


def returned() -> list[Returned]:
    with (HERE / "outbound.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        Returned(int(r["id"]), r["message_id"], r["recipient"], r["reference"], r["subject"], r["file"])
        for r in rows
    ]


@dataclass
class Tables:
    """What the run left in the database, indexed for the checks."""

    inbound: dict[str, InboundMessage]
    tickets: dict[int, Ticket]
    outbound: list[OutboundMessage]
    events: list[TicketEvent]
    marked: set[str]

    def acks_for(self, row: InboundMessage) -> list[OutboundMessage]:
        return [
            o
            for o in self.outbound
            if o.kind == OutboundKind.ACKNOWLEDGEMENT and o.cause_inbound_id == row.id
        ]

    def acks_to(self, address: str) -> list[OutboundMessage]:
        return [o for o in self.outbound if o.kind == OutboundKind.ACKNOWLEDGEMENT and o.recipient == address]


@dataclass
class CorpusRun:
    """The outcome of one run: the daemon's exit, its log, and the problems found per mail."""

    returncode: int
    stdout: str
    stderr: str
    labels: list[Label]
    problems: dict[str, list[str]] = field(default_factory=dict)

    def failures(self) -> list[str]:
        """One readable line per mail that did not end as labelled."""
        return [f"{name}: {'; '.join(found)}" for name, found in sorted(self.problems.items())]

    def by_class(self) -> dict[str, Counter[str]]:
        counts: dict[str, Counter[str]] = {}
        for label in self.labels:
            counts.setdefault(label.cls, Counter())["fail" if label.file in self.problems else "pass"] += 1
        return counts


def prepare(folder: Path, database_url: str) -> Path:
    """The Maildir with every corpus mail in new/, the signing secret and caredesk.toml (returned)."""
    new = folder / "mail" / "new"
    new.mkdir(parents=True)
    for mail in sorted(MAILS.glob("*.eml")):
        shutil.copyfile(mail, new / mail.name)
    (folder / "corpus-secret").write_text(VERP_SECRET + "\n", encoding="utf-8")
    return write_config(
        folder,
        database_url=database_url,
        mailbox_url=f"maildir:{folder / 'mail'}",
        smtp_url=f"file:{folder / 'outbox'}",
        batch_size=1000,
        extra='secret_file = "corpus-secret"',
    )


def store_sent_mail(database_url: str, sent: list[Returned]) -> None:
    """Store the acknowledgements the bounces return, each on a ticket of its own, as if sent last week."""
    engine = db.open_for_writing(database_url)
    try:
        with db.session(engine) as session:
            for item in sent:
                ticket = Ticket(
                    reference=item.reference,
                    department="customer-care",
                    customer_email=item.recipient,
                    subject="Keluhan sebelum korpus",
                    received_at=DEFAULT_INSTANT,
                )
                session.add(ticket)
                session.flush()
                session.add(
                    OutboundMessage(
                        id=item.id,
                        kind=OutboundKind.ACKNOWLEDGEMENT,
                        ticket_id=ticket.id,
                        recipient=item.recipient,
                        envelope_from="care@example.co.id",
                        message_id=item.message_id,
                        automatic=True,
                        subject=item.subject,
                        raw=f"Message-ID: {item.message_id}\n\n".encode(),
                        state=OutboundState.SENT,
                        sent_at=DEFAULT_INSTANT,
                    )
                )
            session.commit()
    finally:
        engine.dispose()


def run_daemon(config: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    """`caredesk run --once` as a subprocess with the pinned clock; the daemon on PYTHONPATH wins."""
    environment = daemon_environment()
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (os.environ.get("PYTHONPATH", ""), str(PROJECT)) if part
    )
    return subprocess.run(
        [sys.executable, "-m", "daemon", "--config", str(config), "run", "--once"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )


def read_tables(database_url: str) -> Tables:
    engine = db.make_engine(database_url)
    try:
        with db.session(engine) as session:
            inbound = {row.source_key: row for row in session.execute(select(InboundMessage)).scalars()}
            tickets = {t.id: t for t in session.execute(select(Ticket)).scalars() if t.id is not None}
            outbound = list(session.execute(select(OutboundMessage)).scalars())
            events = list(session.execute(select(TicketEvent)).scalars())
            marked = {status.address for status in session.execute(select(AddressStatus)).scalars()}
            session.expunge_all()
    finally:
        engine.dispose()
    return Tables(inbound, tickets, outbound, events, marked)


def run_corpus(folder: Path, database_url: str) -> CorpusRun:
    """Every corpus mail through one `run --once`, and every mail judged."""
    config = prepare(folder, database_url)
    sent = returned()
    store_sent_mail(database_url, sent)
    finished = run_daemon(config, folder)
    run = CorpusRun(finished.returncode, finished.stdout, finished.stderr, labels())
    tables = read_tables(database_url)
    by_file = {item.file: item for item in sent}
    for label in run.labels:
        found = judge(label, tables, by_file.get(label.file))
        if found:
            run.problems[label.file] = found
    return run


# --- the checks ---------------------------------------------------------------------


def _bad(text: str) -> bool:
    return any(mark in text for mark in BAD_TEXT) or any(0xD800 <= ord(char) <= 0xDFFF for char in text)


def judge(label: Label, tables: Tables, sent: Returned | None) -> list[str]:
    """What is wrong with how the mail of `label` ended; [] when it ended as labelled."""
    row = tables.inbound.get(label.file)
    if row is None:
        return ["never stored"]
    problems = _ending(row)
    if label.label == "ticket":
        problems += _as_ticket(label, row, tables)
    else:
        problems += _unanswered(label, row, tables)
    if label.label == "bounce":
        problems += _tying(label, row, tables, sent)
    if label.attachments:
        problems += _attachment_names(label, row)
    return problems


def _ending(row: InboundMessage) -> list[str]:
    if row.state in (InboundState.PROCESSED, InboundState.IGNORED, InboundState.DUPLICATE):
        return ["traceback recorded"] if row.traceback else []
    where = f" at stage {row.stage}" if row.stage else ""
    return [f"ended {row.state}{where}: {(row.error or row.reason or '')[:120]}"]


def _subject_problems(stored: str, expected: str) -> list[str]:
    if stored == expected:
        return []
    garbled = " (garbled)" if _bad(stored) else ""
    return [f"subject {stored!r}{garbled}, expected {expected!r}"]


def _as_ticket(label: Label, row: InboundMessage, tables: Tables) -> list[str]:
    """A complaint: a ticket of its own, or (a resend) added to the ticket of its first copy."""
    if row.state != InboundState.PROCESSED or row.ticket_id is None:
        return [f"no ticket ({row.state}: {row.reason[:100]})"]
    ticket = tables.tickets.get(row.ticket_id)
    if ticket is None:
        return ["ticket row missing"]
    problems = []
    if ticket.customer_email != label.sender:
        problems.append(f"customer {ticket.customer_email!r}, expected {label.sender!r}")
    made_it = any(e.action == Action.CREATED and e.inbound_id == row.id for e in tables.events)
    problems += _subject_problems(ticket.subject if made_it else row.subject, label.subject)
    if made_it and label.name and ticket.customer_name != label.name:
        problems.append(f"name {ticket.customer_name!r}, expected {label.name!r}")
    elif _bad(ticket.customer_name):
        problems.append(f"name garbled: {ticket.customer_name!r}")
    if made_it and "\ufffd" in ticket.description:
        problems.append(f"description has {ticket.description.count(chr(0xFFFD))} U+FFFD")
    failed = [ack for ack in tables.acks_for(row) if ack.state == OutboundState.FAILED]
    if failed:
        problems.append(f"acknowledgement failed: {failed[0].last_error}")
    return problems


def _unanswered(label: Label, row: InboundMessage, tables: Tables) -> list[str]:
    problems = []
    if row.state != InboundState.IGNORED:
        problems.append(f"not ignored ({row.state}: {row.reason[:100]})")
    acks = tables.acks_for(row) + (tables.acks_to(label.sender) if label.sender else [])
    if acks:
        problems.append(f"acknowledged ({acks[0].recipient})")
    problems += _subject_problems(row.subject, label.subject)
    return problems


def _tying(label: Label, row: InboundMessage, tables: Tables, sent: Returned | None) -> list[str]:
    if label.tied == "no":
        return (
            [f"tied to ticket #{row.ticket_id} though it returns none of our mail"] if row.ticket_id else []
        )
    assert sent is not None, f"outbound.tsv names no mail bounced by {label.file}"
    outbound = next((o for o in tables.outbound if o.id == sent.id), None)
    evidence = [
        outbound is not None and (outbound.last_error or "").startswith("bounced"),
        any(e.action == Action.BOUNCE and e.outbound_id == sent.id for e in tables.events),
        row.ticket_id is not None and outbound is not None and row.ticket_id == outbound.ticket_id,
    ]
    return [] if any(evidence) else [f"not tied to {sent.message_id} ({row.reason[:100]})"]


def _attachment_names(label: Label, row: InboundMessage) -> list[str]:
    try:
        names = tuple(attachment.filename for attachment in parse(row.raw).attachments)
    except ParseError as error:
        return [f"attachments unreadable: {error}"]
    return [] if names == label.attachments else [f"attachments {names!r}, expected {label.attachments!r}"]


def summary(run: CorpusRun) -> dict[str, Any]:
    """The issue's "done when" figures over one run: how many mails have each kind of problem."""
    problems = [p for found in run.problems.values() for p in found]
    return {
        "mails quarantined, left for a retry or with a traceback": sum(
            p.startswith(("ended quarantined", "ended retry", "traceback")) for p in problems
        ),
        "robots and bounces acknowledged": sum(p.startswith("acknowledged") for p in problems),
        "mails with a garbled subject or name": len(
            {name for name, found in run.problems.items() if any("garbled" in p for p in found)}
        ),
        "bounces of our mail not tied to it": sum(p.startswith("not tied") for p in problems),
        "complaints not ticketed": sum(p.startswith("no ticket") for p in problems),
    }
