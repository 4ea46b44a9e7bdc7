"""The words the tables hold: inbound states, outbound states and kinds, history actions.

Each is a `StrEnum`, so a member is the very text stored in its column and
compares equal to it: rows read back from the database are plain strings and
`row.state == InboundState.PROCESSED` still holds. Code names the member, never
the bare text, so a misspelt state is an AttributeError at import, not a
silent mismatch in a query.
"""

from __future__ import annotations

from enum import StrEnum


class InboundState(StrEnum):
    """What became of a mail we stored (`inbound_message.state`)."""

    STORED = "stored"
    """Committed with its raw bytes, not yet processed."""
    PROCESSED = "processed"
    """Became a ticket or a ticket update."""
    IGNORED = "ignored"
    """Automated mail, recorded and never answered."""
    DUPLICATE = "duplicate"
    """The same mail seen before."""
    RETRY = "retry"
    """Failed; tried again at `next_attempt_at`."""
    QUARANTINED = "quarantined"
    """Failed for good; held for a person with its stage and error."""
    DISCARDED = "discarded"
    """A person decided so."""


WAITING_STATES = (InboundState.STORED, InboundState.RETRY)
"""The states of a mail that processing still has to take."""


class OutboundState(StrEnum):
    """Where an outgoing mail is (`outbound_message.state`)."""

    PENDING = "pending"
    SENDING = "sending"
    """Leased by a sender for one attempt."""
    RETRY = "retry"
    """A temporary failure; tried again at `next_attempt_at`."""
    SENT = "sent"
    FAILED = "failed"
    """Given up on, or never rendered; `caredesk outbox retry` sends it again."""
    SUPPRESSED = "suppressed"
    """Chosen not to send (a limit, our own address, a bounce), with the reason."""
    UNCERTAIN = "uncertain"
    """The server may have taken it: not sent again without a person."""


class OutboundKind(StrEnum):
    """Why we send a mail (`outbound_message.kind`); also the suffix of its history actions."""

    ACKNOWLEDGEMENT = "ack"
    NOTICE = "notice"
    """A new ticket, to its department."""
    ESCALATION = "escalation"
    """A major complaint, to the general manager."""
    FORWARD = "forward"
    """The customer's follow-up, to the department."""
    REASSIGNED = "reassigned"
    CONFIRMATION = "confirmation"
    """The answer to a department's command mail."""
    REPLY = "reply"
    """A department's answer, relayed to the customer."""
    RESOLUTION = "resolution"
    SURVEY = "survey"
    SLA_REMINDER = "sla-reminder"
    SLA_ESCALATION = "sla-escalation"
    AUTO_LIMIT = "auto-limit"
    """Once a day: why a recipient hears nothing more automatically."""
    OPS_ALERT = "ops-alert"
    QUARANTINE_DIGEST = "quarantine-digest"
    """Once per poll, to the admin: the mail quarantined in it and why."""
    QUARANTINE_ACK = "quarantine-ack"
    """To the customer of a quarantined mail: received, and a person is looking at it."""
    MONTHLY_REPORT = "monthly-report"
    RESULTS_REMINDER = "results-reminder"
    RECAP_REPLY = "recap-reply"
    RECAP_REMINDER = "recap-reminder"
    RECAP_MISSING = "recap-missing"


class Operation(StrEnum):
    """What an operations record says happened (`operation_event.action`)."""

    REPORT_RESENT = "report-resent"
    """A month's report queued again to a recipient (`caredesk report monthly --resend`), with why."""
    CLOCK_HELD = "clock-held"
    """The clock moved past a `[periodic]` bound: periodic jobs wait for `caredesk clock confirm`."""
    CLOCK_CONFIRMED = "clock-confirmed"
    """An administrator confirmed the clock: periodic jobs run again."""


class Action(StrEnum):
    """What a history entry says happened (`ticket_event.action`).

    Mail has its own actions, one per outbound kind: see `queued`, `failed`,
    `suppressed`, `retried`.
    """

    CREATED = "created"
    ROUTED = "routed"
    CHANGED = "changed"
    NOTE = "note"
    UNVERIFIED_NOTE = "unverified-note"
    FOLLOW_UP = "follow-up"
    FIRST_RESPONSE = "first-response"
    CARE_ANSWER = "care-answer"
    """Customer care answered the customer from the shared mailbox; caredesk saw the copy."""
    RESOLUTION_CYCLE = "resolution-cycle"
    SURVEY = "survey"
    SURVEY_COMPLAINT = "survey-complaint"
    AUTOMATED_REPLY = "automated-reply"
    BOUNCE = "bounce"

    @staticmethod
    def queued(kind: str) -> str:
        return f"queued-{kind}"

    @staticmethod
    def failed(kind: str) -> str:
        """The mail could not be rendered."""
        return f"failed-{kind}"

    @staticmethod
    def suppressed(kind: str) -> str:
        return f"suppressed-{kind}"

    @staticmethod
    def retried(kind: str) -> str:
        return f"retried-{kind}"

    @staticmethod
    def sla_step(step: str) -> str:
        """A step of the SLA ladder: `sla-reminder`, `sla-breach`, `sla-second-level`."""
        return f"sla-{step}"
