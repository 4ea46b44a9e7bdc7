"""The database tables (sqlmodel): tickets, their history, every message in and out.

The complaint-form fields of DOMAIN.md §2 live on `Ticket`; columns that later
stages fill (root cause, corrective action, effectiveness, ...) start empty.
`TicketEvent` is append-only: every change has who, when, what and why.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from daemon import clock


def utcnow() -> datetime:
    """The default of the timestamp columns: `daemon.clock.now`, so a pinned clock pins them too."""
    return clock.now()


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back aware datetimes, on SQLite and PostgreSQL alike.

    SQLite keeps no time zone, so without this a value read back would be naive and
    comparisons with `now` would fail or, worse, be silently off by the UTC offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        aware: datetime = value.astimezone(UTC)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        result: datetime = value
        if result.tzinfo is None:
            return result.replace(tzinfo=UTC)
        return result.astimezone(UTC)


SLA_RECHECK = datetime(2000, 1, 1, tzinfo=UTC)
"""`Ticket.next_sla_step_at` for "look at the next run": earlier than any run (`store.sla_due`)."""


OPEN_TICKETS = "status NOT IN ('resolved', 'closed')"
"""The condition of the partial indexes on open tickets (migration 0008), as SQL.

A query uses them only when its WHERE says the same, literally: `store.tickets.TicketFilter`
renders its `excluded` statuses inline for that (`sla.stamping.CLOSED_STATUSES`, in this order)."""


def _when(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class Ticket(SQLModel, table=True):
    """One complaint (keluhan): the complaint form and its current state."""

    __tablename__ = "ticket"
    __table_args__ = (
        # The open part of the register, newest first (`caredesk tickets list`): a few
        # thousand rows of a million, counted and paged without reading the closed ones.
        # `status` last: SQLite then counts from the index alone (a covering index).
        Index(
            "ix_ticket_open",
            "id",
            "status",
            sqlite_where=text(OPEN_TICKETS),
            postgresql_where=text(OPEN_TICKETS),
        ),
        Index(
            "ix_ticket_open_department",
            "department",
            "id",
            "status",
            sqlite_where=text(OPEN_TICKETS),
            postgresql_where=text(OPEN_TICKETS),
        ),
        # The web register's first page (open tickets, newest first) reads 50 entries of it.
        # The register's search index is not a model (migration 0009, `daemon.web.register`).
        Index(
            "ix_ticket_open_received",
            "received_at",
            "id",
            sqlite_where=text(OPEN_TICKETS),
            postgresql_where=text(OPEN_TICKETS),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True, max_length=32)
    status: str = Field(default="new", index=True, max_length=32)
    department: str = Field(index=True, max_length=64)
    product: str | None = Field(default=None, index=True, max_length=64)
    severity: str = Field(default="minor", index=True, max_length=16)
    escalated: bool = False
    tags: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    sla_class: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=64)
    channel: str = Field(default="email", index=True, max_length=32)
    origin: str = Field(default="email", index=True, max_length=64)
    customer_email: str = Field(index=True, max_length=320)
    customer_name: str = Field(default="", max_length=320)
    customer_organisation: str = Field(default="", max_length=320)
    pic_phone: str = Field(default="", max_length=64)
    pic_email: str = Field(default="", max_length=320)
    language: str = Field(default="id", max_length=8)
    subject: str = Field(default="", max_length=998)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    root_cause: str | None = Field(default=None, sa_column=Column(Text))
    corrective_action: str | None = Field(default=None, sa_column=Column(Text))
    action_target: date | None = None
    preventive_action: str | None = Field(default=None, sa_column=Column(Text))
    effectiveness: str | None = Field(default=None, sa_column=Column(Text))
    completed_at: datetime | None = _when(default=None, index=True)
    closed_by: str | None = Field(default=None, max_length=320)
    rules_version: str = Field(default="", max_length=32)
    received_at: datetime = _when(index=True)
    created_at: datetime = _when(default_factory=utcnow, index=True)
    updated_at: datetime = _when(default_factory=utcnow)
    # Service levels (`daemon.sla.stamping`): due dates are stamped once, when the
    # ticket is made, on the working-day calendar of the rules then in force.
    # The resolution is `completed_at`; there is no separate column for it.
    first_response_due: datetime | None = _when(default=None)
    """When the first human reply to the customer is due; None where it is not measured (recaps)."""
    resolution_due: datetime | None = _when(default=None, index=True)
    first_responded_at: datetime | None = _when(default=None)
    """When the first `reply` to the customer was queued; the acknowledgement does not count."""
    # The conversation (`daemon.tickets.conversation`).
    watchers: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    """Addresses the customer copied on the complaint: they may follow up too (comma-separated)."""
    related_ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    """The earlier ticket a survey answer reopened as this new complaint, or a near-miss pointed at."""
    survey_score: int | None = None
    survey_comment: str | None = Field(default=None, sa_column=Column(Text))
    resolution_cycle: int = 1
    """1, then one more each time a resolved ticket is reopened (`sla_stamp.restart_resolution_clock`)."""
    next_sla_step_at: datetime | None = _when(default=SLA_RECHECK, index=True)
    """When the SLA ladder next looks at the ticket; None: never until it changes (`store.sla_due`)."""


class TicketEvent(SQLModel, table=True):
    """An append-only history entry: who did what to a ticket, when and why."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime = _when(default_factory=utcnow)
    actor: str = Field(max_length=320)
    action: str = Field(max_length=64)
    field_name: str | None = Field(default=None, max_length=64)
    old_value: str | None = Field(default=None, sa_column=Column(Text))
    new_value: str | None = Field(default=None, sa_column=Column(Text))
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    inbound_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    outbound_id: int | None = Field(default=None, foreign_key="outbound_message.id")
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    """What the event decided, as data: on `routed`, the routing decision (`Decision.as_dict()`).

    None is SQL NULL (not the JSON `null`), as on the rows written before the column existed."""


class InboundMessage(SQLModel, table=True):
    """Every mail the daemon touched, raw bytes first, and what became of it.

    `state` is one of: stored (committed, not yet processed), processed (a ticket or
    a ticket update), ignored (automated mail, recorded and never answered),
    duplicate (the same mail seen before), retry (failed, tried again at
    `next_attempt_at`), quarantined (failed for good, held for a person; `stage`,
    `error` and `traceback` say why), discarded (a person decided so). Nothing is
    ever deleted.
    """

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("source", "source_key", name="uq_inbound_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=512)
    source_key: str = Field(max_length=255)
    uidvalidity: int | None = None
    uid: int | None = None
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    raw_sha256: str = Field(index=True, max_length=64)
    size: int
    message_id: str | None = Field(default=None, index=True, max_length=998)
    logical_key: str | None = Field(default=None, index=True, max_length=64)
    from_address: str = Field(default="", max_length=320)
    subject: str = Field(default="", max_length=998)
    state: str = Field(default="stored", index=True, max_length=16)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    headers_only: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, default=False, server_default=false())
    )
    """Too large to fetch whole: only the headers were stored (`size` is the real size)."""
    next_attempt_at: datetime | None = _when(default=None)
    """For state `retry`: when processing is tried again."""
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    """What people did with this mail (replayed, discarded: who, when, why)."""
    stage: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, sa_column=Column(Text))
    traceback: str | None = Field(default=None, sa_column=Column(Text))
    attempts: int = 0
    """Tries started on this mail, each counted when it is claimed (`store.tickets.claim_waiting`)."""
    lease_owner: str | None = Field(default=None, max_length=128)
    """The daemon process (`host:pid:token`) working on this mail now; None between tries."""
    lease_until: datetime | None = _when(default=None, index=True)
    """Until when `lease_owner`'s claim holds; after it, or once that owner ended, the try counts as lost."""
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    disposition: str = Field(default="pending", index=True, max_length=16)
    received_at: datetime = _when(default_factory=utcnow, index=True)
    """When we stored it."""
    arrived_at: datetime | None = _when(default=None)
    """When the mailbox server received it; the backlog guard looks at this, not at Date:."""
    processed_at: datetime | None = _when(default=None)
    attachment_list: str | None = Field(default=None, sa_column=Column(Text))
    """The attachments the parser found when it read the mail (`daemon.tickets.attachment_index`).

    None for a mail stored before caredesk kept the list, or not parsed yet.
    """


class OutboundMessage(SQLModel, table=True):
    """The outbox: every mail we send, with its exact bytes, before the first attempt.

    A row is written in the same transaction as the change that caused it; the
    sender delivers it later with retries, so an SMTP outage loses nothing.
    A mail whose template could not be rendered is a `failed` row with empty
    `raw` and the `render_context` to render it again (`caredesk outbox retry`).
    """

    __tablename__ = "outbound_message"
    __table_args__ = (UniqueConstraint("kind", "cause_inbound_id", "recipient", name="uq_outbound_cause"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    cause_inbound_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    recipient: str = Field(max_length=320, index=True)
    envelope_from: str = Field(max_length=320)
    message_id: str = Field(unique=True, max_length=998)
    automatic: bool = False
    """An automatic answer to incoming mail (RFC 3834): counted against the per-recipient limits."""
    subject: str = Field(default="", max_length=998)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state: str = Field(default="pending", index=True, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _when(default_factory=utcnow, index=True)
    last_code: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = _when(default=None, index=True)
    created_at: datetime = _when(default_factory=utcnow)
    sent_at: datetime | None = _when(default=None)
    template: str | None = Field(default=None, max_length=255)
    """The template the mail is rendered from; None for rows queued before caredesk recorded it."""
    render_context: str | None = Field(default=None, sa_column=Column(Text))
    """Only while the rendering failed: the template context and envelope as JSON (outbox.enqueue)."""


class AddressStatus(SQLModel, table=True):
    """An address we must not send automatic mail to for a while (it bounced)."""

    __tablename__ = "address_status"

    address: str = Field(primary_key=True, max_length=320)
    undeliverable_until: datetime = _when()
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    updated_at: datetime = _when(default_factory=utcnow)


class Setting(SQLModel, table=True):
    """Small values the daemon keeps for itself, e.g. the generated signing secret."""

    __tablename__ = "setting"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))


class JobClaim(SQLModel, table=True):
    """One row per piece of periodic work done: (job, period) is claimed exactly once.

    A reminder for branch X in 2026-11, an SLA escalation for one ticket and level,
    the monthly report for one recipient: whoever inserts the row first does the
    work, in the same transaction, so restarts and several daemons never repeat it.
    """

    __tablename__ = "job_claim"

    job: str = Field(primary_key=True, max_length=64)
    period: str = Field(primary_key=True, max_length=255)
    claimed_at: datetime = _when(default_factory=utcnow)
    owner: str = Field(default="", max_length=128)


class OperationEvent(SQLModel, table=True):
    """An append-only record of what was done outside any ticket, with who, when and why.

    A monthly report mailed again (`report monthly --resend`), periodic jobs held
    because the clock jumped, an administrator confirming the clock: the actions
    are `daemon.store.vocabulary.Operation`; `subject` names what it was about
    (`report/2026-06/care@...`, `clock`).
    """

    __tablename__ = "operation_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(default_factory=utcnow)
    action: str = Field(max_length=32, index=True)
    subject: str = Field(default="", max_length=255, index=True)
    actor: str = Field(default="", max_length=320)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    outbound_id: int | None = Field(default=None, foreign_key="outbound_message.id")
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    """The facts of the event as data (the clock readings of a hold, the report's counts)."""


class MailboxCheckpoint(SQLModel, table=True):
    """How far an IMAP folder has been read: committed in the same transaction as the mail."""

    __tablename__ = "mailbox_checkpoint"

    source: str = Field(primary_key=True, max_length=512)
    uidvalidity: int
    last_uid: int = 0
    updated_at: datetime = _when(default_factory=utcnow)


class UnfetchedMessage(SQLModel, table=True):
    """A message an IMAP server failed to hand over, by mailbox, UIDVALIDITY and UID.

    The mails behind it are fetched all the same (`daemon.fetch.unfetched`); this
    row says how often it failed, why, and when it is tried again.
    """

    __tablename__ = "unfetched_message"

    source: str = Field(primary_key=True, max_length=512)
    uidvalidity: int = Field(primary_key=True)
    uid: int = Field(primary_key=True)
    attempts: int = 0
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    first_failed_at: datetime = _when(default_factory=utcnow)
    next_attempt_at: datetime = _when(default_factory=utcnow)


class ReferenceCounter(SQLModel, table=True):
    """The last ticket number handed out per prefix and year (CC-2026-000123)."""

    __tablename__ = "reference_counter"

    key: str = Field(primary_key=True, max_length=32)
    value: int = 0


class RecapFile(SQLModel, table=True):
    """One recap spreadsheet a branch sent, kept byte for byte whatever became of it.

    `state` is imported (its good rows became or updated tickets; `problems`
    lists the rows that did not, as JSON) or refused (nothing imported;
    `reason` says why, in Indonesian and English). `month` is `YYYY-MM`, or ''
    when a refused file never said. `branch` is '' for a recap mailed from an
    address that is no branch's (kept unopened, refused). Nothing is ever deleted.
    """

    __tablename__ = "recap_file"

    id: int | None = Field(default=None, primary_key=True)
    branch: str = Field(index=True, max_length=64)
    month: str = Field(default="", index=True, max_length=7)
    received_at: datetime = _when(index=True)
    inbound_id: int | None = Field(default=None, foreign_key="inbound_message.id", index=True)
    filename: str = Field(default="", max_length=255)
    sha256: str = Field(index=True, max_length=64)
    size: int = 0
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    rows_total: int = 0
    rows_imported: int = 0
    rows_refused: int = 0
    rows_created: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    problems: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    state: str = Field(default="received", index=True, max_length=16)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class RecapRowLink(SQLModel, table=True):
    """Which ticket a branch's recap row became: the idempotency key of recap imports.

    `row_key` is `ref:<the branch's own row number>` or, without one,
    `sha256:<date, customer and description>`; it is unique per branch and
    month, so a re-sent or corrected recap updates the same tickets. `row_values`
    holds the row as last imported (JSON), so a re-import changes only what
    the branch changed, never what head office changed on the ticket since.
    """

    __tablename__ = "recap_row_link"
    __table_args__ = (UniqueConstraint("branch", "month", "row_key", name="uq_recap_row_key"),)

    id: int | None = Field(default=None, primary_key=True)
    branch: str = Field(max_length=64)
    month: str = Field(max_length=7)
    row_key: str = Field(max_length=128)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    recap_file_id: int | None = Field(default=None, foreign_key="recap_file.id", index=True)
    """The file that created the ticket or last changed it."""
    sheet: str = Field(default="", max_length=255)
    row: int = 0
    fingerprint: str = Field(default="", max_length=64)
    row_values: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: datetime = _when(default_factory=utcnow)
    updated_at: datetime = _when(default_factory=utcnow)


class RecapAttachment(SQLModel, table=True):
    """A complaint form (PDF, image, Word, ...) that came with a branch's recap mail, kept byte for byte.

    Every attachment of a branch's recap mail that is not a spreadsheet is one
    of these, whatever became of the recap itself: the forms are records of the
    complaints (DOMAIN.md §8). `recap_file_id` points at the recap file of the
    same mail (the first one, when the mail held several; None when the
    spreadsheet could not be kept, e.g. dropped as too large by the parser);
    `inbound_id` always points at the mail. Nothing is ever deleted.
    """

    __tablename__ = "recap_attachment"

    id: int | None = Field(default=None, primary_key=True)
    inbound_id: int = Field(foreign_key="inbound_message.id", index=True)
    recap_file_id: int | None = Field(default=None, foreign_key="recap_file.id", index=True)
    branch: str = Field(index=True, max_length=64)
    month: str = Field(default="", index=True, max_length=7)
    """The recap month of `recap_file_id`'s file; '' when it is not known."""
    filename: str = Field(default="", max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    size: int = 0
    sha256: str = Field(index=True, max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = _when()
