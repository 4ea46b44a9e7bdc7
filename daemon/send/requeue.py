"""A person's second chance for outgoing mail that will not go out on its own.

`caredesk outbox retry` lands here. A row whose rendering failed is rendered
again with the current templates; a failed or uncertain delivery is made due
again for `daemon.send.delivery` to send. Each retry leaves an event on the
row's ticket saying who asked and what was done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from daemon.outbox.compose import TemplateFailure
from daemon.outbox.enqueue import Mailer
from daemon.store import queries
from daemon.store.models import OutboundMessage, Ticket
from daemon.store.vocabulary import Action, OutboundState

log = logging.getLogger("caredesk.outbox")

# What will not go out without a person: given up on after the retries or a
# permanent refusal (or never rendered), and delivered-or-not after a crash.
RETRYABLE_STATES = (OutboundState.FAILED, OutboundState.UNCERTAIN)


@dataclass(frozen=True)
class Retried:
    """What `retry` did to one outbox row, for the command line to print."""

    id: int
    ok: bool
    """False for an unknown id and for a mail that still cannot be rendered."""
    what: str
    """One line: the row (kind, recipient, ticket) and what was done."""
    queued: bool = False
    """The row is due again: delivering now sends it."""


def failed_ids(session: Session) -> list[int]:
    """Every row in state `failed`, oldest first: what `caredesk outbox retry --failed` takes."""
    statement = (
        select(col(OutboundMessage.id))
        .where(col(OutboundMessage.state) == OutboundState.FAILED)
        .order_by(col(OutboundMessage.id))
    )
    return list(session.execute(statement).scalars())


def retry(session: Session, mailer: Mailer, outbound_id: int, *, actor: str, now: datetime) -> Retried:
    """Give one row another chance, recorded on its ticket as `retried-<kind>` by `actor`.

    A row whose rendering failed is rendered again with the current templates and
    its own Message-ID; if the template is still broken it stays `failed` with the
    new error. A failed or uncertain delivery is set back to `pending` with its
    attempts reset, sending the very bytes stored. Other states are left alone.
    The caller commits.
    """
    # Locked (on PostgreSQL) so a daemon settling the same row meanwhile waits for us.
    row = session.get(OutboundMessage, outbound_id, with_for_update=True)
    if row is None:
        return Retried(outbound_id, False, f"#{outbound_id}: no such outgoing mail")
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
    label = f"#{row.id} {row.kind} to {row.recipient}" + (f" ({ticket.reference})" if ticket else "")
    retrying = _Retrying(session, outbound_id, row, ticket, label, actor, now)
    if row.state not in RETRYABLE_STATES:
        return retrying.answer(True, f"{row.state}, nothing to retry")
    earlier = row.last_error or "no error recorded"
    if row.raw:
        done = f"{row.state} delivery set back to pending"
    else:
        rendered = _render_again(retrying, mailer)
        if isinstance(rendered, Retried):
            return rendered
        done = rendered
    row.state, row.attempts, row.next_attempt_at = OutboundState.PENDING, 0, now
    row.last_error = row.last_code = None
    row.lease_owner = row.lease_until = None
    session.add(row)
    retrying.record(f"{done}; earlier: {earlier}")
    log.info("outbound %s (%s to %s) retried by %s: %s", row.id, row.kind, row.recipient, actor, done)
    return retrying.answer(True, done, queued=True)


@dataclass(frozen=True)
class _Retrying:
    """One row `retry` is giving another chance: where it is recorded, by whom and when."""

    session: Session
    outbound_id: int
    row: OutboundMessage
    ticket: Ticket | None
    label: str
    """The row as `retry` names it: id, kind, recipient and ticket."""
    actor: str
    now: datetime

    def answer(self, ok: bool, what: str, *, queued: bool = False) -> Retried:
        """What `retry` says about the row: its label, then what was done."""
        return Retried(self.outbound_id, ok, f"{self.label}: {what}", queued=queued)

    def record(self, reason: str) -> None:
        """The `retried-<kind>` event on the row's ticket (none for mail without a ticket)."""
        if self.ticket is not None:
            queries.add_event(
                self.session,
                self.ticket,
                queries.History(
                    actor=self.actor,
                    action=Action.retried(self.row.kind),
                    at=self.now,
                    reason=reason[:2000],
                    outbound_id=self.row.id,
                ),
            )


def _render_again(retrying: _Retrying, mailer: Mailer) -> str | Retried:
    """Render a row that never was, with the current templates: what was done, or the final answer.

    The answer is final when the template is still broken (the row stays
    failed) and when the fresh mail is held back for its recipient (suppressed).
    """
    session, row, now = retrying.session, retrying.row, retrying.now
    try:
        row.subject, row.raw = mailer.rerender(row, now)
    except (TemplateFailure, ValueError) as error:
        row.last_error = str(error)[:2000]
        session.add(row)
        retrying.record(f"still cannot be rendered: {error}")
        log.error(
            "outbound %s (%s, template %s) still cannot be rendered: %s",
            row.id,
            row.kind,
            row.template,
            error,
        )
        return retrying.answer(False, f"still cannot be rendered, stays failed: {error}")
    row.render_context = None
    done = "rendered again with the current templates"
    held = mailer.held_on_retry(session, row.recipient, now) if row.automatic else None
    if held is not None:
        row.state, row.last_error = OutboundState.SUPPRESSED, held
        session.add(row)
        retrying.record(f"{done}, but not sent: {held}")
        return retrying.answer(True, f"{done}, but suppressed: {held}")
    return done
