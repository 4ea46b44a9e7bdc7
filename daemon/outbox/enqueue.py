"""Queueing outgoing mail: render a template, compose the bytes, write the outbox row.

Every mail caredesk sends goes through `Mailer.queue`, inside the caller's
transaction, so the mail exists exactly when the change that caused it exists.
Delivery is the outbox sender's job (`daemon.send.delivery`).

Automatic answers to incoming mail (acknowledgements, confirmations: RFC 3834
"auto-replied") are limited per recipient and per ticket, never go to our own
addresses nor to an address that bounced, and the row of a mail we chose not to
send is kept as `suppressed` with the reason: nothing is dropped silently.

A mail whose template is missing or broken is kept as a `failed` row with no
bytes, a `failed-<kind>` event on its ticket and, in `render_context`, what it
takes to render it again: `Mailer.rerender` does that for `caredesk outbox
retry`, with the row's own Message-ID, once the template is fixed.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, case, func, select, update
from sqlmodel import Session, col

from daemon.config import Config
from daemon.outbox import signing
from daemon.outbox.compose import (
    Attachment,
    Envelope,
    Renderer,
    TemplateFailure,
    compose,
    new_message_id,
    without_tag,
)
from daemon.sla.stamping import UPDATE_KINDS
from daemon.store import claims, queries, sla_due
from daemon.store.models import AddressStatus, OutboundMessage, Ticket
from daemon.store.vocabulary import Action, OutboundKind, OutboundState

log = logging.getLogger("caredesk.mailer")

AUTO_REPLIED = "auto-replied"
LIMIT_NOTICE_KIND = OutboundKind.AUTO_LIMIT
STAFF_KINDS = (OutboundKind.CONFIRMATION,)
"""Automatic answers that go only to staff who passed the sender check (`limits.staff_per_*`)."""


class NotRebuildable(ValueError):
    """A failed row that holds nothing to render it again from (queued before caredesk kept it)."""


@dataclass(frozen=True)
class Queued:
    """What `Mailer.queue` stored: the outbox row, its state and, when it will not go out, why."""

    id: int
    state: str
    """`pending`, `failed` (the template could not be rendered) or `suppressed`."""
    error: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """One mail to queue: its kind and recipient, the template that renders it, what it answers.

    `attachments` are (filename, MIME type, bytes), e.g. a report's spreadsheet;
    `cause_inbound_id` ties the mail to the incoming one it answers, so the same
    answer to the same mail is never queued twice.
    """

    kind: str
    recipient: str
    template: str
    context: Mapping[str, object]
    auto_submitted: str = "auto-generated"
    ticket: Ticket | None = None
    cause_inbound_id: int | None = None
    in_reply_to: str | None = None
    language: str = "id"
    attachments: Sequence[Attachment] = ()
    sender: str = ""
    """The From, and where replies go: a mailbox's `reply_from` ('' = the top-level `address`)."""


class Mailer:
    def __init__(
        self,
        config: Config,
        renderer: Renderer,
        clock: Callable[[], datetime],
        signing_key: bytes | None = None,
    ) -> None:
        self.config = config
        self.renderer = renderer
        self.clock = clock
        self.signing_key = signing_key
        self.own_addresses = frozenset({*config.own_addresses, config.admin_address} - {""})

    def queue(self, session: Session, mail: Outgoing) -> Queued | None:
        """Queue one mail and say what was stored; None when this (kind, cause, recipient) was queued before.

        A broken template never blocks the change that caused the mail: the row is
        stored as `failed` with the error and what it takes to render it again, its
        ticket's history gets `failed-<kind>`, and the log says so at ERROR.
        """
        now = self.clock()
        mail = dataclasses.replace(mail, recipient=mail.recipient.strip().lower())
        automatic = mail.auto_submitted == AUTO_REPLIED and mail.kind != LIMIT_NOTICE_KIND
        values = self._row(mail, now)
        held = self._why_not_send(session, mail, now) if automatic else None
        if held is not None and values["state"] == OutboundState.PENDING:
            values["state"], values["last_error"] = OutboundState.SUPPRESSED, held
        keys = ["kind", "cause_inbound_id", "recipient"]
        outbound_id = queries.insert_ignore_returning(session, OutboundMessage, values, keys)
        if outbound_id is None:
            return None
        if mail.kind in UPDATE_KINDS and mail.ticket is not None and mail.ticket.id is not None:
            # A human message to the customer moves the update interval: the SLA ladder looks again.
            sla_due.mark_changed(session, [mail.ticket.id])
        if self.config.smtp.verp and self.signing_key is not None:
            # The return path names this very row, so a bounce can be tied to it
            # without trusting anything inside the bounce.
            return_path = signing.return_path(self.signing_key, self.config.address, outbound_id)
            session.execute(
                update(OutboundMessage)
                .where(col(OutboundMessage.id) == outbound_id)
                .values(envelope_from=return_path)
            )
        last_error = values.get("last_error")
        queued = Queued(
            int(outbound_id), str(values["state"]), str(last_error) if last_error is not None else None
        )
        if queued.state == OutboundState.FAILED:
            log.error(
                "cannot render %s (template %s) to %s: %s; kept as failed outbound %s, "
                "`caredesk outbox retry %s` sends it once the template is fixed",
                mail.kind,
                mail.template,
                mail.recipient,
                queued.error,
                outbound_id,
                outbound_id,
            )
        if mail.ticket is not None:
            self._record_on_ticket(session, mail, queued, now)
        if held is not None:
            log.warning("not sending %s to %s: %s", mail.kind, mail.recipient, held)
            self._limit_notice(session, mail.recipient, held, now)
        return queued

    def _row(self, mail: Outgoing, now: datetime) -> dict[str, object]:
        """The outbox row of `mail`, rendered; `failed` with what renders it again when it cannot be."""
        message_id = new_message_id(mail.kind, self.config.domain)
        reply_to = mail.sender or self.reply_address(mail.ticket)
        values: dict[str, object] = {
            "kind": mail.kind,
            "ticket_id": mail.ticket.id if mail.ticket is not None else None,
            "cause_inbound_id": mail.cause_inbound_id,
            "recipient": mail.recipient,
            "envelope_from": mail.sender or self.config.address,
            "message_id": message_id,
            "automatic": mail.auto_submitted == AUTO_REPLIED and mail.kind != LIMIT_NOTICE_KIND,
            "subject": "",
            "raw": b"",
            "state": OutboundState.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "template": mail.template,
        }
        try:
            values["subject"], values["raw"] = self._render(
                mail, message_id=message_id, date=now, reply_to=reply_to
            )
        except (TemplateFailure, ValueError) as error:
            values["state"], values["last_error"] = OutboundState.FAILED, str(error)
            # Only a failed rendering keeps its context: a rendered row's bytes are
            # final (a resend sends them again, never renders anew), so storing every
            # context would keep the customer's text twice for nothing, while for a
            # failed one it is the only record of what the mail was to say.
            values["render_context"] = render_record(mail, reply_to)
        return values

    @staticmethod
    def _record_on_ticket(session: Session, mail: Outgoing, queued: Queued, now: datetime) -> None:
        """The ticket's history line for a queued, held or unrendered mail."""
        assert mail.ticket is not None
        if queued.state == OutboundState.FAILED:
            action, reason = Action.failed(mail.kind), f"to {mail.recipient}: not rendered: {queued.error}"
        elif queued.state == OutboundState.SUPPRESSED:
            action, reason = Action.suppressed(mail.kind), f"to {mail.recipient}: {queued.error}"
        else:
            action, reason = Action.queued(mail.kind), f"to {mail.recipient}"
        queries.add_event(
            session,
            mail.ticket,
            queries.History(
                actor="caredesk",
                action=action,
                at=now,
                reason=reason,
                outbound_id=queued.id,
            ),
        )

    def rerender(self, row: OutboundMessage, now: datetime) -> tuple[str, bytes]:
        """The subject and bytes of a row whose rendering failed, rendered with the current templates.

        The row's own Message-ID is kept, so the mail threads and deduplicates as the
        one that was meant to go out; the Date is `now`, when it is composed. Raises
        TemplateFailure while the template is still broken, NotRebuildable when the
        row holds nothing to render from. The row itself is not changed.
        """
        if row.template is None or row.render_context is None:
            raise NotRebuildable(
                f"outbound {row.id} keeps no template context (queued before caredesk stored it): "
                "it cannot be rendered again"
            )
        try:
            record = json.loads(row.render_context)
            attachments = [
                (str(item["filename"]), str(item["mime_type"]), base64.b64decode(item["content"]))
                for item in record.get("attachments", [])
            ]
            context = dict(record["context"])
        except (KeyError, TypeError, ValueError) as error:
            raise NotRebuildable(
                f"outbound {row.id}: its stored template context is unreadable: {error}"
            ) from None
        mail = Outgoing(
            kind=row.kind,
            recipient=row.recipient,
            template=row.template,
            context=context,
            auto_submitted=str(record.get("auto_submitted") or "auto-generated"),
            in_reply_to=record.get("in_reply_to"),
            language=str(record.get("language") or "id"),
            attachments=attachments,
            sender=str(record.get("sender") or ""),
        )
        return self._render(mail, message_id=row.message_id, date=now, reply_to=record.get("reply_to"))

    def held_on_retry(self, session: Session, recipient: str, now: datetime) -> str | None:
        """Why a re-rendered automatic answer must still not go out: our own address, or a bounce.

        The hourly and daily limits are not applied again: the row was counted
        against them when it was queued, and a person asked for it to be sent.
        """
        return self._never_send(session, recipient, now)

    def _render(
        self, mail: Outgoing, *, message_id: str, date: datetime, reply_to: str | None
    ) -> tuple[str, bytes]:
        rendered = self.renderer.render(mail.template, mail.context)
        envelope = Envelope(
            from_name=self.config.name,
            from_address=mail.sender or self.config.address,
            to=mail.recipient,
            message_id=message_id,
            date=date,
            auto_submitted=mail.auto_submitted,
            loop_marker=self.config.instance,
            reply_to=reply_to,
            in_reply_to=mail.in_reply_to,
            references=(mail.in_reply_to,) if mail.in_reply_to else (),
            language=mail.language,
        )
        return rendered.subject, compose(envelope, rendered, mail.attachments)

    def reply_address(self, ticket: Ticket | None) -> str:
        """Where replies about `ticket` should go: its signed address when the mailbox allows."""
        if ticket is None or self.signing_key is None or not self.config.mailbox.plus_addressing:
            return self.config.address
        return signing.reply_address(self.signing_key, self.config.address, ticket.reference)

    def _why_not_send(self, session: Session, mail: Outgoing, now: datetime) -> str | None:
        """The reason an automatic answer to `mail.recipient` must not go out now, or None.

        Customers and robots share one low limit, which is what stops a mail loop.
        Confirmations of command mails go only to staff who passed the sender check,
        who may send dozens of commands a day: they count against their own, much
        higher limit, and never use up the customer limit of the same address.
        """
        if self._own(mail.recipient):
            return OWN_ADDRESS
        # The limits hold per recipient over all tickets; since a ticket's mails to a
        # recipient are among all mails to that recipient, the same numbers per ticket
        # can never be the stricter check, so one query answers both, and it reads the
        # address's bounce record as well.
        staff = mail.kind in STAFF_KINDS
        bounced, last_hour, last_day = self._automatic_counts(session, mail.recipient, now, staff=staff)
        if bounced is not None:
            return bounced
        limits = self.config.limits
        if staff:
            per_hour, per_day = limits.staff_per_hour, limits.staff_per_day
        else:
            per_hour, per_day = limits.auto_per_hour, limits.auto_per_day
        which = "confirmations" if staff else "automatic mails"
        if last_hour >= per_hour:
            return f"limit reached: {last_hour} {which} to this address in the last hour"
        if last_day >= per_day:
            return f"limit reached: {last_day} {which} to this address in the last day"
        return None

    def _never_send(self, session: Session, recipient: str, now: datetime) -> str | None:
        """Our own addresses, and an address that bounced lately, get no automatic mail."""
        if self._own(recipient):
            return OWN_ADDRESS
        # Bounces are recorded by the mails before this one, flushed by their SAVEPOINTs.
        with session.no_autoflush:
            status = session.get(AddressStatus, recipient)
        if status is None:
            return None
        return _bounced(status.undeliverable_until, status.reason, now)

    def _own(self, recipient: str) -> bool:
        return without_tag(recipient) in self.own_addresses

    @staticmethod
    def _automatic_counts(
        session: Session, recipient: str, now: datetime, *, staff: bool
    ) -> tuple[str | None, int, int]:
        """Why `recipient` bounced (None: it did not lately), and the automatic mails to it
        in the last hour and the last day: of staff kinds, or the others. One statement."""
        hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(days=1)
        values = {"recipient": recipient, "hour_ago": hour_ago, "day_ago": day_ago}
        # Outbox rows are written straight away (`queries.insert_ignore_returning`), and
        # bounces by the mails before this one are flushed by their SAVEPOINTs: no flush needed.
        with session.no_autoflush:
            until, reason, last_day, last_hour = session.execute(_AUTOMATIC_COUNTS[staff], values).one()
        bounced = None if until is None else _bounced(until, reason, now)
        return bounced, int(last_hour), int(last_day)

    def _limit_notice(self, session: Session, recipient: str, reason: str, now: datetime) -> None:
        """Tell a held-back recipient once a day why they hear nothing more automatically."""
        if not reason.startswith("limit reached"):
            return
        if not claims.claim(session, LIMIT_NOTICE_KIND, f"{recipient}/{now:%Y-%m-%d}", now=now):
            return
        self.queue(
            session,
            Outgoing(
                kind=LIMIT_NOTICE_KIND,
                recipient=recipient,
                template="auto_limit.txt",
                context={"org": {"name": self.config.name, "address": self.config.address}},
                auto_submitted=AUTO_REPLIED,
            ),
        )


OWN_ADDRESS = "our own address: never answered automatically"


def _bounced(until: datetime, reason: str, now: datetime) -> str | None:
    """The reason no automatic mail goes to an address that bounced, while `until` is ahead."""
    if until <= now:
        return None
    return f"address bounced ({reason}); no automatic mail until {until:%Y-%m-%d}"


def _automatic_counts_statement(*, staff: bool) -> Select[Any]:
    """The statement of `Mailer._automatic_counts`, built once: its values are parameters."""
    created = col(OutboundMessage.created_at)
    in_last_hour = case((created >= bindparam("hour_ago"), 1), else_=0)
    kinds = col(OutboundMessage.kind).in_(STAFF_KINDS)
    status = col(AddressStatus.address) == bindparam("recipient")
    return select(
        select(col(AddressStatus.undeliverable_until)).where(status).scalar_subquery(),
        select(col(AddressStatus.reason)).where(status).scalar_subquery(),
        func.count(),
        func.coalesce(func.sum(in_last_hour), 0),
    ).where(
        col(OutboundMessage.recipient) == bindparam("recipient"),
        col(OutboundMessage.automatic).is_(True),
        kinds if staff else ~kinds,
        col(OutboundMessage.state) != OutboundState.SUPPRESSED,
        created >= bindparam("day_ago"),
    )


_AUTOMATIC_COUNTS = {staff: _automatic_counts_statement(staff=staff) for staff in (True, False)}


def render_record(mail: Outgoing, reply_to: str | None) -> str | None:
    """The JSON a failed rendering keeps to be rendered again: the context, the envelope, the files.

    Values JSON has no type for are stored as what templates can still show:
    dates and times as ISO text, dataclasses (e.g. `lifecycle.Change`) as objects
    with the same field names (jinja2 reads `change.field` from either), sets as
    lists, anything else as its text. None, with the reason logged, for a context
    that cannot be stored at all (keys that are not text): the row then says it
    cannot be rebuilt, instead of the mail's change failing.
    """
    record = {
        "context": dict(mail.context),
        "auto_submitted": mail.auto_submitted,
        "reply_to": reply_to,
        "sender": mail.sender,
        "in_reply_to": mail.in_reply_to,
        "language": mail.language,
        "attachments": [
            {"filename": name, "mime_type": mime_type, "content": base64.b64encode(content).decode("ascii")}
            for name, mime_type, content in mail.attachments
        ],
    }
    try:
        return json.dumps(record, default=_jsonable, ensure_ascii=False)
    except (TypeError, ValueError) as error:
        log.error("cannot keep the template context of a failed mail: %s", error)
        return None


def _jsonable(value: Any) -> Any:
    """`json.dumps`'s fallback for the values template contexts hold besides JSON's own."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    # Paths, decimals and the like: their text is what a template would have shown.
    return str(value)
