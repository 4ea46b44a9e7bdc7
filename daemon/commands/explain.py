"""`caredesk ingest --explain FILE.eml`: what the daemon would make of a mail, and why, storing nothing.

For an admin asking why a mail was not answered (or was): the mail is parsed
and classified exactly as the daemon does, and the command prints the kind
(complaint, follow-up, recap, automated, bounce) with the header or rule that
decided it, the sender and the header it came from, the decoded subject, the
language, what the daemon would do with it, and for a complaint where the
rules would route it (`daemon.route.decision.explain`).

Nothing is written and nothing is sent. The rules file is read; the database
is only opened read-only, and only to find what needs it (the ticket a reply
belongs to, the mail of ours a bounce returns, the sender's earlier
complaints, and whether the daemon already stored this very mail and what
became of it). Without a reachable database those are "not checked". A file
that cannot be parsed is said so, and the command exits 65 (EX_DATAERR).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from daemon import clock
from daemon.classify.bounces import read_report
from daemon.classify.kinds import Classification, Kind, RecapInbox, classify
from daemon.commands import UserError
from daemon.config import Config, ConfigError, load_config
from daemon.outbox import deliverability
from daemon.outbox.deliverability import BounceSettings
from daemon.outbox.signing import KEY_SETTING
from daemon.parse.message import InboundMail
from daemon.parse.parser import ParseError, parse
from daemon.parse.sender import describe_source
from daemon.route.decision import Decision, RouteContext, explain
from daemon.route.loader import load_rules
from daemon.route.router import route
from daemon.route.rules import Rules, RulesError
from daemon.store import db, queries
from daemon.store.models import AddressStatus, InboundMessage, OutboundMessage, Setting, Ticket
from daemon.tickets.policy import acknowledgement_withheld
from daemon.tickets.threads import Threads

# sysexits.h: the input data was incorrect in some way.
EX_DATAERR = 65
HISTORY_WINDOW = timedelta(days=365)
NOT_CHECKED = "not checked"

_OUTCOMES = {
    Kind.AUTOMATED: "recorded as ignored, never answered",
    Kind.BOUNCE: "recorded as ignored, never answered; a tied bounce is noted on the mail it returns",
    Kind.RECAP: "read as the branch's monthly recap (its rows become or update tickets)",
}


class Lookups:
    """The database, opened read-only, for what only it can tell; or why it is not used."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.engine: Engine | None = None
        self.note = ""
        try:
            self.engine = db.open_read_only(config.database_url)
        except (db.DatabaseNotReady, db.DatabaseUnavailable, ConfigError, SQLAlchemyError) as error:
            self.note = f"{NOT_CHECKED} (database not used: {_first_line(error)})"
        else:
            self.note = f"read-only, {db.public_database_url(config.database_url)}"

    def session(self) -> Session | None:
        return Session(self.engine) if self.engine is not None else None

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _signing_key(session: Session, config: Config) -> bytes | None:
    """The key of our signed addresses: the configured secret, else the one the daemon keeps (read only)."""
    if config.secret:
        return config.secret.encode("utf-8")
    stored = session.get(Setting, KEY_SETTING)
    return stored.value.encode("utf-8") if stored is not None else None


@dataclass(frozen=True)
class Found:
    """What the database told about one mail (all `NOT_CHECKED` without one)."""

    thread_ticket_id: int | None = None
    thread: str = NOT_CHECKED
    bounce: str = NOT_CHECKED
    prior_complaints: tuple[datetime, ...] | None = None
    """When the sender's earlier complaints of the past year were made; None when not checked."""
    undeliverable: str | None = None
    stored: str = NOT_CHECKED
    """What became of this very mail if the daemon already has it: the answer to "why was it not answered"."""


def _stored(session: Session, mail: InboundMail, raw: bytes) -> str:
    """The stored copy of this mail (same bytes, else same Message-ID) and its end state."""
    digest = hashlib.sha256(raw).hexdigest()
    found = (
        session.execute(
            select(InboundMessage)
            .where(col(InboundMessage.raw_sha256) == digest)
            .order_by(col(InboundMessage.id))
        )
        .scalars()
        .first()
    )
    how = "the same bytes"
    if found is None and not mail.message_id_synthetic:
        found = (
            session.execute(
                select(InboundMessage)
                .where(col(InboundMessage.message_id) == mail.message_id)
                .order_by(col(InboundMessage.id))
            )
            .scalars()
            .first()
        )
        how = "the same Message-ID"
    if found is None:
        return "no: the daemon has not seen this mail"
    reason = f": {found.reason}" if found.reason else ""
    return f"yes, as inbound #{found.id} ({how}): {found.state}{reason}"


def _look_up(lookups: Lookups, mail: InboundMail, raw: bytes, rules: Rules) -> Found:
    session = lookups.session()
    if session is None:
        return Found()
    with session:
        key = _signing_key(session, lookups.config)
        thread = Threads(lookups.config, key).find(session, mail, rules)
        ticket = session.get(Ticket, thread.ticket_id) if thread.ticket_id is not None else None
        where = (
            f"ticket {ticket.reference} (found by {thread.via})" if ticket is not None else "no known ticket"
        )
        if thread.near_miss:
            where += f"; {thread.near_miss}"
        settings = BounceSettings(lookups.config, key, clock.now)
        # Read-only: finding the mail a bounce returns only selects.
        returned, how = deliverability.bounced_mail(session, mail, read_report(raw), settings)
        prior = queries.prior_complaint_times(session, mail.from_address, clock.now() - HISTORY_WINDOW)
        status = session.get(AddressStatus, mail.from_address) if mail.from_address else None
        dead = None
        if status is not None and status.undeliverable_until > clock.now():
            dead = f"undeliverable until {status.undeliverable_until:%Y-%m-%d} ({status.reason})"
        stored = _stored(session, mail, raw)
        return Found(thread.ticket_id, where, _tied_text(returned, how), prior, dead, stored)


def _tied_text(returned: OutboundMessage | None, how: str) -> str:
    if returned is None:
        return "not tied: it returns none of the mails we sent"
    return f"tied to outbound #{returned.id} ({returned.kind} to {returned.recipient}) by {how}"


def _sender_source(mail: InboundMail) -> str:
    """Which header the sender came from, in the words of the ticket history."""
    if not mail.from_address:
        return "no usable sender in From, Sender, Reply-To or Return-Path"
    return describe_source(mail.sender_source) or "the From header"


def _outcome(mail: InboundMail, decided: Classification, found: Found) -> str:
    if decided.kind in _OUTCOMES:
        return _OUTCOMES[decided.kind]
    if decided.kind == Kind.FOLLOW_UP:
        return f"added to {found.thread}"
    if not mail.from_address:
        return "quarantined for a person: no usable sender address"
    withheld = acknowledgement_withheld(mail, backlog=False)
    if withheld is None and found.undeliverable:
        withheld = f"the address is {found.undeliverable}"
    answer = f"no acknowledgement ({withheld})" if withheld else "acknowledged automatically"
    return f"a new ticket, routed as below; {answer}"


def explain_mail(name: str, raw: bytes, rules: Rules, lookups: Lookups) -> dict[str, Any]:
    """Everything `--explain` says about one mail, as the JSON object `--json` prints."""
    config = lookups.config
    mail = parse(raw, own_addresses=config.own_addresses)
    found = _look_up(lookups, mail, raw, rules)
    decided = classify(
        mail,
        own_addresses=config.own_addresses,
        thread_ticket_id=found.thread_ticket_id,
        recaps=RecapInbox(rules, config.address),
    )
    decision: Decision | None = None
    if decided.kind == Kind.COMPLAINT:
        context = RouteContext(now=clock.now(), prior_complaints=found.prior_complaints or ())
        decision = route(mail, rules, context)
    prior = found.prior_complaints
    return {
        "file": name,
        "kind": decided.kind.value,
        "reason": decided.reason,
        "sender": mail.from_address,
        "sender_name": mail.from_name,
        "sender_from": _sender_source(mail),
        "subject": mail.subject,
        "language": mail.language,
        "message_id": mail.message_id,
        "parser": mail.parser,
        "thread": found.thread,
        "bounce_tied": (found.bounce if decided.kind == Kind.BOUNCE else None),
        "prior_complaints": len(prior) if prior is not None else None,
        "outcome": _outcome(mail, decided, found),
        "route": decision.as_dict() if decision is not None else None,
        "route_explained": explain(decision) if decision is not None else [],
        "stored": found.stored,
        "database": lookups.note,
    }


def _text(result: dict[str, Any]) -> list[str]:
    def row(label: str, value: object) -> str:
        return f"  {label + ':':<13}{value}"

    lines = [
        result["file"],
        row("class", result["kind"]),
        row("decided by", result["reason"]),
        row("sender", f"{result['sender'] or '-'} ({result['sender_from']})"),
        row("name", json.dumps(result["sender_name"], ensure_ascii=False)),
        row("subject", json.dumps(result["subject"], ensure_ascii=False)),
        row("language", result["language"]),
        row("message-id", result["message_id"]),
        row("ticket", result["thread"]),
        row("stored", result["stored"]),
    ]
    if result["bounce_tied"] is not None:
        lines.append(row("bounce", result["bounce_tied"]))
    lines.append(row("outcome", result["outcome"]))
    if result["route_explained"]:
        lines.append("  routing:")
        lines.extend(f"    {line}" for line in result["route_explained"])
    else:
        lines.append(row("routing", "none: only a new complaint is routed"))
    lines.append(row("database", result["database"]))
    lines.append("  nothing was stored or sent")
    return lines


def _rules(config: Config) -> Rules:
    try:
        return load_rules(config.rules)
    except RulesError as error:
        raise UserError(f"{config.rules}: the rules are invalid:\n{error}") from None


def _read(name: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as error:
        raise UserError(f"cannot read {name}: {error.strerror}") from None


def cmd_explain(args: argparse.Namespace) -> int:
    """`ingest --explain`: 0 when every file was explained, 65 when one could not be parsed."""
    config = load_config(args.config)
    rules = _rules(config)
    raws = [(name, _read(name)) for name in args.files]
    lookups = Lookups(config)
    results: list[dict[str, Any]] = []
    code = 0
    try:
        for name, raw in raws:
            try:
                results.append(explain_mail(name, raw, rules, lookups))
            except ParseError as error:
                print(f"caredesk: {name}: cannot be parsed: {error}", file=sys.stderr)
                results.append({"file": name, "error": f"cannot be parsed: {error}"})
                code = EX_DATAERR
    except SQLAlchemyError as error:
        raise UserError(f"cannot read the database: {_first_line(error)}") from None
    finally:
        lookups.close()
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        explained = [_text(result) for result in results if "error" not in result]
        print("\n\n".join("\n".join(lines) for lines in explained))
    return code
