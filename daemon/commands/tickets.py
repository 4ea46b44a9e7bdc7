"""`caredesk tickets list|show|attachments`: the complaint register and one complaint in full.

The register is `daemon.commands.ticket_list`. Due dates and breach flags are
computed against the current time. The text view of `tickets show` prints
every time in the configured time zone, yes/no and plain lists
(`daemon.commands.ticket_values`); `--json` keeps ISO times with their offset,
booleans and lists. `tickets show --format html|pdf` renders the complaint form for the archive
(`daemon.report.form`). `tickets show` lists the attachments of the ticket's
mails (name, type, size, SHA-256); `tickets attachments` writes them out
(`daemon.commands.ticket_attachments`). The text and JSON views read the ticket
through the plain driver (`daemon.store.rawread`) when they can, else through
the ORM, which also explains a database that is not ready: the same output either way.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from daemon import clock
from daemon.commands import UserError, configure, open_engine
from daemon.commands.ticket_values import json_text, local_time, text_value
from daemon.route.decision import BY_DETECTION, BY_PRODUCT
from daemon.store import rawread
from daemon.tickets.attachment_index import listed_attachments
from daemon.tickets.attachments import size_text
from daemon.tickets.summary import DetailParts, detail_of

if TYPE_CHECKING:
    from daemon.config import Config


def cmd_tickets_show(args: argparse.Namespace) -> int:
    config = configure(args)
    now = clock.now()
    if args.format in ("html", "pdf"):
        return _complaint_form(config, args, now)
    with rawread.open_reader(config.database_url) as reader:
        detail = None if reader is None else plain_detail(reader, args.reference, now)
    if detail is None:
        from daemon.store import db, queries
        from daemon.tickets.views import ticket_detail

        with open_engine(config) as engine, db.session(engine) as session:
            ticket = queries.find_ticket(session, args.reference)
            if ticket is None:
                raise UserError(f"no ticket {args.reference}")
            detail = ticket_detail(session, ticket, now)
    if args.json or args.format == "json":
        print(json_text(detail))
        return 0
    print_detail(detail, ZoneInfo(config.timezone))
    return 0


def plain_detail(reader: rawread.Reader, reference: str, now: datetime) -> dict[str, Any]:
    """`daemon.tickets.views.ticket_detail` of the ticket `reference`, read through the plain driver."""
    ticket = rawread.ticket_by_reference(reader, reference)
    if ticket is None:
        raise UserError(f"no ticket {reference}")
    mails = rawread.processed_mails(reader, ticket.id)
    attachments = [item.as_dict() for item in listed_attachments(mails, ticket.reference)]
    parts = DetailParts(
        related_reference=rawread.reference_of(reader, ticket.related_ticket_id),
        events=rawread.ticket_events(reader, ticket.id),
        inbound=rawread.inbound_messages(reader, ticket.id),
        outbound=rawread.outbound_messages(reader, ticket.id),
        attachments=attachments,
    )
    return detail_of(ticket, now, parts)


def attachment_lines(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    """The attachments of `tickets show --json` (`TicketAttachment.as_dict`) as lines for people."""
    return [
        f"  {entry['filename']}  {entry['content_type']}  {size_text(int(entry['size']))}  "
        f"sha256 {entry['sha256']}  from {entry['from'] or '-'} (inbound #{entry['inbound_id']})"
        for entry in entries
    ]


ALWAYS_SHOWN = frozenset({"customer_organisation", "category"})
"""Form fields the text view prints even when empty (as `-`)."""


def print_detail(detail: Mapping[str, Any], zone: tzinfo) -> None:
    """The text view of `ticket_detail`: times in `zone`, yes/no, lists joined with commas."""
    skip = {"history", "messages", "description", "attachments"}
    for key, value in detail.items():
        if key in skip:
            continue
        if value in (None, "", []) and key not in ALWAYS_SHOWN:
            continue
        shown = "-" if value in (None, "", []) else text_value(value, zone)
        print(f"{key.replace('_', ' '):<18} {shown}")
    print("\ndescription:\n  " + "\n  ".join(str(detail["description"]).splitlines()))
    attachments = detail["attachments"]
    print(f"\nattachments ({len(attachments)}):" if attachments else "\nattachments: none")
    for line in attachment_lines(attachments):
        print(line)
    print("\nhistory:")
    for event in detail["history"]:
        print("\n".join(history_lines({**event, "at": local_time(event["at"], zone)})))
    print("\nmessages:")
    for message in detail["messages"]:
        who = message.get("from") or message.get("to")
        state = f"[{message['state']}]"
        at = local_time(message["at"], zone)
        print(f"  {at}  {message['direction']:<3} {who:<28} {state} {message['subject']}")


def history_lines(event: Mapping[str, Any]) -> list[str]:
    """How the text view prints one history entry (as `_history_entry` gives it).

    A `routed` entry with its decision as data prints the rules version in place of
    the reason text, then one indented line per matched condition (`routing_lines`);
    every other entry is one line ending with its reason, as it always was.
    """
    change = f" {event['field']}: {event['old'] or ''} -> {event['new']}" if event["field"] else ""
    head = f"  {event['at']}  {event['actor']:<28} {event['action']}{change}"
    decision = event.get("data")
    if event["action"] != "routed" or not isinstance(decision, Mapping):
        return [f"{head}  {event['reason']}"]
    version = decision.get("rules_version")
    routed = [f"      {line}" for line in routing_lines(decision, event["new"])]
    return [f"{head}  rules {version}" if version else head, *routed]


def routing_lines(decision: Mapping[str, Any], department: str | None = None) -> list[str]:
    """A stored routing decision (`Decision.as_dict()`) as lines for people.

    One line per condition of each matched rule, saying what else the rule
    decided, then why the complaint is major and the notes on choices no rule
    made. `department` is the one the event set: when it is not the routed one
    (a recap row naming a product overrides a default route), a line says so.
    """
    routed = decision.get("department") or "-"
    decided_by: Mapping[str, str] = decision.get("decided_by") or {}
    lines: list[str] = []
    for hit in decision.get("hits") or ():
        rule = hit.get("rule", "?")
        fields = [name for name, by in decided_by.items() if by == rule]
        decided = f" (decided {', '.join(fields)})" if fields else ""
        lines.extend(
            f'routed to {routed}: rule "{rule}" matched {condition}{decided}'
            for condition in hit.get("matched") or ("its conditions",)
        )
    if not lines:
        lines.append(f"routed to {routed}: no rule matched ({_chosen_by(decided_by.get('department'))})")
    if department and department != routed:
        lines.append(f"department set to {department} in place of the routed {routed}")
    if decision.get("major_reason"):
        lines.append(f"major because {decision['major_reason']}")
    lines.extend(f"note: {note}" for note in decision.get("notes") or ())
    return lines


def _chosen_by(marker: str | None) -> str:
    """Words for how the department was chosen when no rule matched (a `decided_by` marker)."""
    if marker == BY_DETECTION:
        return "detected from the mail's words"
    if marker == BY_PRODUCT:
        return "the owner of the product"
    return "the default route"


def _complaint_form(config: Config, args: argparse.Namespace, now: datetime) -> int:
    """The complaint form of one ticket as html or pdf (the report package is loaded only here)."""
    from daemon.commands.report import load_checked_rules, write_output
    from daemon.report.form import build_form
    from daemon.report.html_out import form_html
    from daemon.report.pdf import PdfUnavailable, html_to_pdf
    from daemon.store import db, queries

    rules = load_checked_rules(config.rules)
    with open_engine(config) as engine, db.session(engine) as session:
        ticket = queries.find_ticket(session, args.reference)
        if ticket is None:
            raise UserError(f"no ticket {args.reference}")
        form = build_form(session, rules, ticket, now=now, timezone=config.timezone)
    html = form_html(form, organisation=config.name)
    if args.format == "html":
        write_output(html, args.out)
        return 0
    try:
        write_output(html_to_pdf(html), args.out)
    except PdfUnavailable as error:
        raise UserError(str(error)) from None
    return 0
