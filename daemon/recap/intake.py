"""Branch recaps arriving by mail: recognising them, importing them, keeping the forms, answering.

The mail pipeline asks `handle_recap_mail` about every mail that is not
automated, before it is taken for a follow-up or a complaint. A mail is a
recap when

* its sender is one of a branch's addresses (rules.yaml `branches`) and it
  carries a spreadsheet (.xlsx, .xlsm, .xls, .xlsb, .csv by name or content
  type): each spreadsheet goes through `receive_recap`; or
* it is addressed to the care address, carries a spreadsheet and says
  `rekap`/`recap` in its subject, but its sender is no branch's: nothing is
  read or imported, each spreadsheet is kept unopened as a refused
  `RecapFile` with branch `''` (so `caredesk recap status` shows the attempt
  and customer care can register the address), and the sender is told why.

Either way the mail is `processed`, never becomes a complaint ticket and
never gets the complaint acknowledgement; its raw bytes stay in
`inbound_message`. Every other attachment of a branch's recap mail is a
complaint form, kept as a `RecapAttachment`. A spreadsheet the parser had to
drop as too large still makes the mail a recap: it is refused as oversized
(the bytes are only in the raw mail), rather than the mail becoming a ticket.

The reply to the branch (templates/recap_reply.txt) has the summary, every
problem by sheet, row and column, each refusal with its reason, the forms
kept and the major complaints escalated. New major tickets (and tickets a
corrected file made major) are escalated to their department's General
Manager with templates/escalation.txt, as the pipeline does for mail.
Everything happens in the caller's transaction (the pipeline's SAVEPOINT).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from daemon.config import Config
from daemon.outbox.compose import ticket_fields
from daemon.outbox.enqueue import Mailer
from daemon.parse.message import Attachment, InboundMail
from daemon.recap.reader import RecapRefused
from daemon.recap.receive import RecapOutcome, receive_recap
from daemon.route.rules import Branch, Rules
from daemon.store import queries
from daemon.store.models import InboundMessage, RecapAttachment, RecapFile, RecapRowLink, Ticket, TicketEvent

log = logging.getLogger("caredesk.recap")

REPLY_KIND = "recap-reply"
REPLY_TEMPLATE = "recap_reply.txt"
NOT_BRANCH_TEMPLATE = "recap_not_branch.txt"
ESCALATION_TEMPLATE = "escalation.txt"
MAX_LISTED_PROBLEMS = 1000
"""Problems listed in one reply per file; the rest are counted (all are kept on the `RecapFile`)."""
MAX_LISTED_UPDATES = 200

SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".xlsb", ".xltx", ".xltm", ".csv"})
_SUFFIX_OF_TYPE: Mapping[str, str] = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template": ".xltx",
    "application/vnd.ms-excel.sheet.macroenabled.12": ".xlsm",
    "application/vnd.ms-excel.template.macroenabled.12": ".xltm",
    "application/vnd.ms-excel.sheet.binary.macroenabled.12": ".xlsb",
    "application/vnd.ms-excel": ".xls",
    "application/excel": ".xls",
    "application/x-excel": ".xls",
    "application/x-msexcel": ".xls",
    "text/csv": ".csv",
    "application/csv": ".csv",
    "text/comma-separated-values": ".csv",
}
_RECAP_WORD = re.compile(r"\b(?:rekap|recap)", re.IGNORECASE)
_DROPPED = re.compile(r"^attachment dropped: (?P<name>.+) is over ")
_MAJOR_BECAUSE = re.compile(r"^major because (?P<why>.+)$", re.MULTILINE)

NOT_A_BRANCH = RecapRefused(
    "alamat pengirim tidak terdaftar sebagai alamat biro, jadi rekap tidak diimpor",
    "the sender's address is not a branch address, so the recap was not imported",
)


@dataclass(frozen=True, slots=True)
class RecapMail:
    """A mail recognised as a recap: who sent it and what it carries."""

    branch: Branch | None
    """The sending branch; None for a recap from an address that is no branch's."""
    spreadsheets: tuple[Attachment, ...]
    forms: tuple[Attachment, ...]
    """Every other attachment: complaint forms (PDF, images, Word, ...)."""
    dropped: tuple[str, ...] = ()
    """Names of spreadsheets the parser dropped for their size."""


def is_spreadsheet(filename: str, content_type: str) -> bool:
    suffix = PurePosixPath(filename.lower()).suffix
    return suffix in SPREADSHEET_SUFFIXES or _bare_type(content_type) in _SUFFIX_OF_TYPE


def recognise(mail: InboundMail, rules: Rules, care_address: str) -> RecapMail | None:
    """The recap in `mail`, or None when it is not one (pure)."""
    spreadsheets = tuple(a for a in mail.attachments if is_spreadsheet(a.filename, a.content_type))
    forms = tuple(a for a in mail.attachments if not is_spreadsheet(a.filename, a.content_type))
    dropped = tuple(name for name in _dropped_names(mail.defects) if is_spreadsheet(name, ""))
    if not spreadsheets and not dropped:
        return None
    branch = rules.branch_for(mail.from_address) if mail.from_address else None
    if branch is not None:
        return RecapMail(branch, spreadsheets, forms, dropped)
    addressed = care_address.lower() in (address.lower() for address in mail.recipients)
    if addressed and _RECAP_WORD.search(mail.subject):
        return RecapMail(None, spreadsheets, forms, dropped)
    return None


def handle_recap_mail(
    session: Session,
    *,
    row: InboundMessage,
    mail: InboundMail,
    rules: Rules,
    mailer: Mailer,
    clock: Callable[[], datetime],
    config: Config,
) -> bool:
    """Handle `mail` when it is a recap (True, with `row` processed); False leaves it to the pipeline."""
    found = recognise(mail, rules, config.address)
    if found is None:
        return False
    assert row.id is not None, "the inbound row is stored before it is processed"
    now = clock()
    intake = _RecapIntake(session, row, mail, rules, mailer, clock, config)
    if found.branch is None:
        intake.refuse_sender(found, now)
    else:
        intake.receive(found, found.branch, now)
    row.state, row.processed_at = "processed", now
    return True


class _RecapIntake:
    """One recap mail: its row, its parsed value, and what the reply needs."""

    def __init__(
        self,
        session: Session,
        row: InboundMessage,
        mail: InboundMail,
        rules: Rules,
        mailer: Mailer,
        clock: Callable[[], datetime],
        config: Config,
    ) -> None:
        self.session = session
        self.row = row
        self.inbound_id: int = row.id or 0
        self.mail = mail
        self.rules = rules
        self.mailer = mailer
        self.clock = clock
        self.config = config
        self.zone = ZoneInfo(config.timezone)

    # -- a branch's recap -----------------------------------------------------

    def receive(self, found: RecapMail, branch: Branch, now: datetime) -> None:
        outcomes = [self.receive_one(branch, attachment) for attachment in found.spreadsheets]
        outcomes.extend(self.keep_dropped(branch, name, now) for name in found.dropped)
        forms = self.keep_forms(found.forms, branch, outcomes, now)
        escalated = escalate_major(
            self.session,
            outcomes,
            branch=branch,
            rules=self.rules,
            mailer=self.mailer,
            config=self.config,
            inbound_id=self.inbound_id,
            now=now,
        )
        context = reply_context(
            org={"name": self.config.name, "address": self.config.address},
            branch=branch,
            outcomes=outcomes,
            forms=forms,
            escalated=escalated,
            received=self.row.received_at.astimezone(self.zone),
        )
        # Not "auto-replied": the Mailer limits those per recipient (loop
        # protection), and a registered branch correcting its file four times
        # in an hour must get the row-level feedback every time.
        self.reply(REPLY_TEMPLATE, context, auto_submitted="auto-generated")
        months = sorted({outcome.month for outcome in outcomes if outcome.imported})
        if months:
            self.row.reason = f"branch recap {branch.id} {','.join(months)}"
        else:
            refusal = next(outcome.refused for outcome in outcomes if outcome.refused is not None)
            self.row.reason = f"recap refused: {branch.id}: {refusal.english}"
        log.info(
            "recap mail inbound #%s from %s (%r): %d file(s), %d form(s), %d escalated: %s",
            self.inbound_id,
            branch.id,
            self.mail.from_address,
            len(outcomes),
            len(forms),
            len(escalated),
            self.row.reason,
        )

    def receive_one(self, branch: Branch, attachment: Attachment) -> RecapOutcome:
        return receive_recap(
            self.session,
            branch=branch,
            filename=reader_name(attachment),
            data=attachment.payload,
            inbound_id=self.inbound_id,
            rules=self.rules,
            clock=self.clock,
            reference_prefix=self.config.reference_prefix,
            zone=self.zone,
        )

    def keep_dropped(self, branch: Branch, name: str, now: datetime) -> RecapOutcome:
        """A spreadsheet too large for the parser to keep: refused, recorded, its bytes only in the mail."""
        refusal = RecapRefused(
            "berkas terlalu besar untuk diterima lewat email (maksimum 25 MB per lampiran)",
            "the file is too large to be received by mail (at most 25 MB per attachment)",
        )
        recap_file = _refused_file(branch.id, name, b"", self.inbound_id, refusal, now)
        self.session.add(recap_file)
        self.session.flush()
        return RecapOutcome(recap_file, "", refused=refusal)

    def keep_forms(
        self, forms: Sequence[Attachment], branch: Branch, outcomes: Sequence[RecapOutcome], now: datetime
    ) -> list[dict[str, object]]:
        """Keep every complaint form as a `RecapAttachment` of the mail's (first imported) recap file."""
        kept = [o for o in outcomes if o.imported] or list(outcomes)
        first = kept[0] if kept else None
        listed: list[dict[str, object]] = []
        for form in forms:
            self.session.add(
                RecapAttachment(
                    inbound_id=self.inbound_id,
                    recap_file_id=first.recap_file.id if first is not None else None,
                    branch=branch.id,
                    month=first.month if first is not None else "",
                    filename=form.filename[:255],
                    content_type=form.content_type[:255],
                    size=form.size,
                    sha256=form.sha256,
                    data=form.payload,
                    received_at=now,
                )
            )
            listed.append(
                {"filename": form.filename, "content_type": form.content_type, "size": _size(form.size)}
            )
        return listed

    # -- a recap from an address that is no branch's --------------------------

    def refuse_sender(self, found: RecapMail, now: datetime) -> None:
        files = [*((a.filename, a.payload) for a in found.spreadsheets), *((n, b"") for n in found.dropped)]
        for filename, data in files:
            self.session.add(_refused_file("", filename, data, self.inbound_id, NOT_A_BRANCH, now))
        context = {
            "org": {"name": self.config.name, "address": self.config.address},
            "sender": self.mail.from_address,
            "subject": self.mail.subject,
            "files": [filename for filename, _ in files],
            "received": self.row.received_at.astimezone(self.zone).strftime("%d-%m-%Y %H:%M %Z"),
        }
        # A stranger's address: an RFC 3834 auto-reply, under the Mailer's limits.
        self.reply(NOT_BRANCH_TEMPLATE, context, auto_submitted="auto-replied")
        self.row.reason = (
            f"recap refused: sender {self.mail.from_address or '(none)'} is not a branch address"
        )
        log.info("recap mail inbound #%s refused: %s", self.inbound_id, self.row.reason)

    # -- the reply ------------------------------------------------------------

    def reply(self, template: str, context: Mapping[str, object], *, auto_submitted: str) -> None:
        if not self.mail.from_address:
            log.warning("recap mail inbound #%s has no sender address: no reply", self.inbound_id)
            return
        self.mailer.queue(
            self.session,
            kind=REPLY_KIND,
            recipient=self.mail.from_address,
            template=template,
            context=context,
            auto_submitted=auto_submitted,
            cause_inbound_id=self.inbound_id,
            in_reply_to=None if self.mail.message_id_synthetic else self.mail.message_id,
            language="id",
        )


def reader_name(attachment: Attachment) -> str:
    """The attachment's name, with the suffix its content type implies when the name has none we know.

    The reader goes by the suffix; `rekap` sent as `text/csv` must read as CSV.
    """
    if PurePosixPath(attachment.filename.lower()).suffix in SPREADSHEET_SUFFIXES:
        return attachment.filename
    return attachment.filename + _SUFFIX_OF_TYPE.get(_bare_type(attachment.content_type), "")


def _bare_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def _dropped_names(defects: Iterable[str]) -> list[str]:
    return [match.group("name") for defect in defects if (match := _DROPPED.match(defect))]


def _refused_file(
    branch: str, filename: str, data: bytes, inbound_id: int, refusal: RecapRefused, now: datetime
) -> RecapFile:
    return RecapFile(
        branch=branch,
        received_at=now,
        inbound_id=inbound_id,
        filename=filename[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        raw=data,
        state="refused",
        reason=refusal.reason,
    )


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB"
    if count >= 1024:
        return f"{count / 1024:.0f} kB"
    return f"{count} bytes"


# ---------------------------------------------------------------------------
# The reply's context (pure)
# ---------------------------------------------------------------------------


def reply_context(
    *,
    org: Mapping[str, str],
    branch: Branch,
    outcomes: Sequence[RecapOutcome],
    forms: Sequence[Mapping[str, object]],
    escalated: Sequence[Mapping[str, str]],
    received: datetime,
) -> dict[str, object]:
    """What templates/recap_reply.txt shows: one entry per file, the forms and the escalations."""
    files = [file_context(outcome) for outcome in outcomes]
    return {
        "org": dict(org),
        "branch": {"id": branch.id, "name": branch.name},
        "received": received.strftime("%d-%m-%Y %H:%M %Z"),
        "files": files,
        "months": sorted({outcome.month for outcome in outcomes if outcome.imported}),
        "totals": {
            "imported": sum(outcome.recap_file.rows_imported for outcome in outcomes),
            "refused_rows": sum(outcome.recap_file.rows_refused for outcome in outcomes),
            "refused_files": sum(1 for outcome in outcomes if not outcome.imported),
        },
        "forms": list(forms),
        "escalated": list(escalated),
    }


def file_context(outcome: RecapOutcome) -> dict[str, object]:
    recap = outcome.recap_file
    summary = outcome.summary
    sheets: dict[str, list[dict[str, object]]] = {}
    for problem in outcome.problems[:MAX_LISTED_PROBLEMS]:
        sheets.setdefault(problem.sheet, []).append(
            {"row": problem.row, "column": problem.column, "cell": problem.cell, "message": problem.message}
        )
    updated = summary.updated if summary is not None else ()
    return {
        "filename": recap.filename,
        "month": outcome.month,
        "imported": outcome.imported,
        "reason_id": outcome.refused.indonesian if outcome.refused is not None else "",
        "reason_en": outcome.refused.english if outcome.refused is not None else "",
        "rows_total": recap.rows_total,
        "rows_imported": recap.rows_imported,
        "rows_refused": recap.rows_refused,
        "created": len(summary.created) if summary is not None else 0,
        "updated": len(updated),
        "unchanged": len(summary.unchanged) if summary is not None else 0,
        "problems_total": len(outcome.problems),
        "problems_unlisted": max(0, len(outcome.problems) - MAX_LISTED_PROBLEMS),
        "sheets": [{"name": name, "problems": problems} for name, problems in sheets.items()],
        "updated_rows": [
            {"sheet": r.sheet, "row": r.row, "reference": r.reference, "changes": ", ".join(r.changes)}
            for r in updated[:MAX_LISTED_UPDATES]
        ],
        "updated_unlisted": max(0, len(updated) - MAX_LISTED_UPDATES),
        "notes": list(outcome.notes),
    }


# ---------------------------------------------------------------------------
# Major complaints in a recap: escalated to the General Manager
# ---------------------------------------------------------------------------


def escalate_major(
    session: Session,
    outcomes: Sequence[RecapOutcome],
    *,
    branch: Branch,
    rules: Rules,
    mailer: Mailer,
    config: Config,
    inbound_id: int,
    now: datetime,
) -> list[dict[str, str]]:
    """Escalate the recap's new major tickets, and those a corrected row made major; what was done.

    The outbox row carries no `cause_inbound_id`: one recap may escalate many
    tickets to the same General Manager, and (kind, cause, recipient) is
    unique. Exactly once still holds: a ticket is created, or made major, in
    this transaction only, and a re-sent file changes nothing.
    """
    created = {r.ticket_id for o in outcomes if o.summary is not None for r in o.summary.created}
    raised = {
        r.ticket_id
        for o in outcomes
        if o.summary is not None
        for r in o.summary.updated
        if "severity" in r.changes
    }
    if not created and not raised:
        return []
    # Escalated like a mailed complaint: major, or a rule said escalate. A
    # corrected row that made a ticket major escalates it once, if nothing had.
    statement = (
        select(Ticket)
        .where(
            col(Ticket.id).in_(created | raised),
            col(Ticket.escalated) | (col(Ticket.severity) == "major"),
        )
        .order_by(col(Ticket.id))
    )
    candidates = [
        ticket
        for ticket in session.execute(statement).scalars()
        if (ticket.id in created and ticket.escalated)
        or (ticket.id in raised and ticket.severity == "major" and not ticket.escalated)
    ]
    escalation = _Escalation(session, branch, rules, mailer, config, inbound_id, now)
    escalation.read_reasons([ticket.id for ticket in candidates if ticket.id is not None])
    return [escalation.escalate(ticket, raised=not ticket.escalated) for ticket in candidates]


class _Escalation:
    def __init__(
        self,
        session: Session,
        branch: Branch,
        rules: Rules,
        mailer: Mailer,
        config: Config,
        inbound_id: int,
        now: datetime,
    ) -> None:
        self.session = session
        self.branch = branch
        self.rules = rules
        self.mailer = mailer
        self.config = config
        self.inbound_id = inbound_id
        self.now = now
        self.zone: tzinfo = ZoneInfo(config.timezone)
        self.links: dict[int, RecapRowLink] = {}
        self.routed: dict[int, str] = {}

    def read_reasons(self, ids: list[int]) -> None:
        """Read what the reasons need (row links, routing explanations) in two queries."""
        if not ids:
            return
        links = select(RecapRowLink).where(col(RecapRowLink.ticket_id).in_(ids))
        self.links = {link.ticket_id or 0: link for link in self.session.execute(links).scalars()}
        events = select(TicketEvent).where(
            col(TicketEvent.ticket_id).in_(ids), col(TicketEvent.action) == "routed"
        )
        self.routed = {event.ticket_id: event.reason for event in self.session.execute(events).scalars()}

    def escalate(self, ticket: Ticket, *, raised: bool) -> dict[str, str]:
        if raised:
            ticket.escalated = True
            self.session.add(ticket)
        reason = self.major_reason(ticket)
        department = self.rules.departments.get(ticket.department)
        done = {"reference": ticket.reference, "department": ticket.department, "to": ""}
        if department is None or not department.general_manager:
            self.event(ticket, "escalation-missing", f"department {ticket.department} has no general manager")
            log.warning(
                "recap ticket %s is major but %s has no general manager", ticket.reference, ticket.department
            )
            return done
        self.mailer.queue(
            self.session,
            kind="escalation",
            recipient=department.general_manager,
            template=ESCALATION_TEMPLATE,
            context=self.context(ticket, department.id, department.name, reason),
            ticket=ticket,
            language="id",
        )
        self.event(ticket, "escalated", reason)
        done["to"] = department.general_manager
        return done

    def major_reason(self, ticket: Ticket) -> str:
        assert ticket.id is not None
        link = self.links.get(ticket.id)
        said: Mapping[str, object] = json.loads(link.row_values) if link is not None else {}
        reasons: list[str] = []
        if said.get("severity") == "major":
            reasons.append(f"dicatat mayor oleh {self.branch.name} / recorded as major by {self.branch.name}")
        match = _MAJOR_BECAUSE.search(self.routed.get(ticket.id, ""))
        if match:
            reasons.append(match.group("why"))
        if not reasons:
            reasons.append("aturan rute / a routing rule")
        if link is not None:
            reasons.append(f"rekap/recap {link.month}, lembar/sheet '{link.sheet}' baris/row {link.row}")
        if ticket.status == "resolved" and ticket.completed_at is not None:
            done = ticket.completed_at.astimezone(self.zone).strftime("%d-%m-%Y")
            reasons.append(f"sudah diselesaikan pada / already resolved on {done}")
        return "; ".join(reasons)

    def context(
        self, ticket: Ticket, department_id: str, department_name: str, reason: str
    ) -> dict[str, object]:
        return {
            "org": {"name": self.config.name, "address": self.config.address},
            "ticket": ticket_fields(ticket, self.zone, department_name),
            "department": {"id": department_id, "name": department_name},
            "language": "id",
            "missing_contact": not ticket.pic_phone,
            "routing": [],
            "major_reason": reason,
        }

    def event(self, ticket: Ticket, action: str, reason: str) -> None:
        queries.add_event(
            self.session,
            ticket,
            actor="caredesk",
            action=action,
            at=self.now,
            reason=reason,
            inbound_id=self.inbound_id,
        )
