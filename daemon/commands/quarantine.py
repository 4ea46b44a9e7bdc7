"""`caredesk quarantine list|show|replay|discard`: mail that could not be processed.

A quarantined mail keeps its raw bytes, the stage it failed in, the error, the
traceback and the number of tries. A person can look at it, replay it (after a
fix or an upgrade) or discard it; discarding keeps the record and the bytes, with
who decided and why, and `show` still shows a discarded mail with them.

The sender is the one the parse stage found, or, when the failed attempt left
none, the one read again from the mail's header block. `replay` exits 65
(EX_DATAERR, as `ingest --explain` for a mail it cannot parse) when a replayed
mail failed again: it is waiting for another try (`retry`) or held again
(`quarantined`).
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from daemon import clock
from daemon.app.quarantined import first_line, sender_and_subject
from daemon.app.service import Daemon
from daemon.commands import UserError, configure, iso, open_engine, open_engine_for_writing
from daemon.store import db
from daemon.store.models import InboundMessage, OutboundMessage
from daemon.store.queries import LEFT_IN_MAILBOX
from daemon.store.vocabulary import InboundState

HELD_STATES = (InboundState.QUARANTINED, InboundState.RETRY)
SHOWN_STATES = (*HELD_STATES, InboundState.DISCARDED)
"""`show` also shows a discarded mail: who discarded it, when and why."""
FAILED_AGAIN = (InboundState.QUARANTINED, InboundState.RETRY)
FROM_WIDTH = 48
"""The widest sender `list` prints whole; a longer one is cut with an ellipsis."""
EX_FAILED_AGAIN = 65
"""sysexits.h EX_DATAERR: a replayed mail still cannot be processed."""
_DISCARDED = re.compile(r"^discarded by (?P<by>.+?) at (?P<at>\S+): (?P<why>.*)$", re.MULTILINE)


def _summary(row: InboundMessage) -> dict[str, Any]:
    sender, subject = sender_and_subject(row.raw, row.from_address, row.subject)
    return {
        "id": row.id,
        "state": row.state,
        "received_at": iso(row.received_at),
        "from": sender,
        "subject": subject,
        "stage": row.stage,
        "error": row.error,
        "attempts": row.attempts,
        "next_attempt_at": iso(row.next_attempt_at),
        "size": row.size,
        "source": row.source,
    }


def cmd_list(args: argparse.Namespace) -> int:
    config = configure(args)
    with open_engine(config) as engine, db.session(engine) as session:
        rows = session.execute(
            select(InboundMessage)
            .where(col(InboundMessage.state).in_(HELD_STATES))
            .order_by(col(InboundMessage.id))
        ).scalars()
        found = [_summary(row) for row in rows]
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("quarantine is empty")
        return 0
    senders = [_cut(item["from"] or "-", FROM_WIDTH) for item in found]
    width = max(len("FROM"), *(len(sender) for sender in senders))
    print(f"{'ID':>6} {'STATE':<11} {'STAGE':<9} {'TRIES':>5} {'FROM':<{width}} ERROR")
    for item, sender in zip(found, senders, strict=True):
        error = _cut(first_line(item["error"]), 60)
        print(
            f"{item['id']:>6} {item['state']:<11} {item['stage'] or '-':<9} {item['attempts']:>5} "
            f"{sender:<{width}} {error}"
        )
    return 0


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _held(session: Any, row_id: int, states: tuple[str, ...] = HELD_STATES) -> InboundMessage:
    row = session.get(InboundMessage, row_id)
    if row is None:
        raise UserError(f"no inbound mail #{row_id}")
    if row.state not in states:
        raise UserError(f"inbound mail #{row_id} is {row.state}, not quarantined")
    return row


def discard_record(notes: str) -> dict[str, str] | None:
    """Who discarded a mail, when and why, from the last `discarded by` line of its notes."""
    found = list(_DISCARDED.finditer(notes or ""))
    if not found:
        return None
    last = found[-1]
    return {"by": last["by"], "at": last["at"], "reason": last["why"]}


def _mailbox_note(row: InboundMessage) -> str:
    if row.disposition == LEFT_IN_MAILBOX:
        return "left in the intake folder: too big to fetch whole (only its headers are stored)"
    return "still in the intake folder" if row.disposition == "pending" else "moved out of the intake folder"


def _answers(session: Any, row_id: int) -> list[str]:
    """The mail this inbound mail set off (e.g. the acknowledgement of a quarantined mail)."""
    rows = session.execute(
        select(OutboundMessage)
        .where(col(OutboundMessage.cause_inbound_id) == row_id)
        .order_by(col(OutboundMessage.id))
    ).scalars()
    return [f"#{out.id} {out.kind} to {out.recipient}: {out.state}" for out in rows]


def cmd_show(args: argparse.Namespace) -> int:
    config = configure(args)
    with open_engine(config) as engine, db.session(engine) as session:
        row = _held(session, args.id, SHOWN_STATES)
        detail = _summary(row) | {
            "mailbox": _mailbox_note(row),
            "discarded": discard_record(row.notes) if row.state == InboundState.DISCARDED else None,
            "answered": _answers(session, args.id),
            "reason": row.reason,
            "notes": row.notes,
            "traceback": row.traceback,
        }
        raw = row.raw
    if args.raw:
        sys.stdout.buffer.write(raw)
        return 0
    if args.json:
        print(json.dumps(detail, ensure_ascii=False, indent=2))
        return 0
    discarded = detail.pop("discarded")
    if discarded:
        print(f"{'discarded':<16} by {discarded['by']} at {discarded['at']}: {discarded['reason']}")
    for key, value in detail.items():
        if key == "answered":
            for line in value:
                print(f"{'answered':<16} {line}")
        elif key != "traceback" and value not in (None, ""):
            print(f"{key.replace('_', ' '):<16} {value}")
    header_block = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    print("\nheaders:\n  " + "\n  ".join(header_block.decode("utf-8", "replace").splitlines()[:40]))
    if detail["traceback"]:
        print("\ntraceback:\n" + str(detail["traceback"]))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    if not args.ids and not args.all:
        raise UserError("name the mail to replay, or --all")
    config = configure(args)
    with Daemon(config) as daemon:
        with db.session(daemon.engine) as session:
            if args.all:
                rows = list(
                    session.execute(
                        select(InboundMessage).where(col(InboundMessage.state).in_(HELD_STATES))
                    ).scalars()
                )
            else:
                rows = [_held(session, row_id) for row_id in args.ids]
            for row in rows:
                note = f"replayed by {_who()} at {clock.now().isoformat()}; earlier: {row.stage}: {row.error}"
                row.notes = (row.notes + "\n" if row.notes else "") + note
                row.state, row.attempts, row.next_attempt_at = InboundState.STORED, 0, None
                row.stage = row.error = row.traceback = None
                session.add(row)
            session.commit()
            replayed = [row.id for row in rows]
        daemon.processor.process_stored()
        daemon.deliver()
        failed = []
        with db.session(daemon.engine) as session:
            for row_id in replayed:
                row = session.get(InboundMessage, row_id)
                assert row is not None
                print(f"#{row_id}: {row.state}" + (f" ({row.stage}: {row.error})" if row.error else ""))
                if row.state in FAILED_AGAIN:
                    failed.append(row_id)
    if failed:
        ids = " ".join(f"#{row_id}" for row_id in failed)
        print(f"caredesk: failed again: {ids}; see `caredesk quarantine show ID`", file=sys.stderr)
        return EX_FAILED_AGAIN
    return 0


def cmd_discard(args: argparse.Namespace) -> int:
    config = configure(args)
    with open_engine_for_writing(config) as engine, db.session(engine) as session:
        row = _held(session, args.id)
        note = f"discarded by {_who()} at {clock.now().isoformat()}: {args.reason}"
        row.notes = (row.notes + "\n" if row.notes else "") + note
        row.state, row.next_attempt_at = InboundState.DISCARDED, None
        session.add(row)
        session.commit()
    print(f"#{args.id}: discarded (kept on record)")
    return 0


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
