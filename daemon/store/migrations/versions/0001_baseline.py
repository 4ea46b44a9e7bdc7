"""Baseline: every table as create_all made it before caredesk had migrations.

Constraints carry the names PostgreSQL gives them by default (`ticket_pkey`,
`ticket_related_ticket_id_fkey`, `outbound_message_message_id_key`): a database
made by this revision and one made by create_all on PostgreSQL are the same, and
later revisions can name what they change on both. A database create_all made
is not built by this revision but stamped at it (`daemon.store.migrations`). No column
has a server default: the models fill defaults in Python.

Revision ID: 0001_baseline
Revises: nothing, the first revision
Create Date: 2026-11-21 09:20:12.336837
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_baseline"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "address_status",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("undeliverable_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address", name="address_status_pkey"),
    )
    op.create_table(
        "job_claim",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=255), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("job", "period", name="job_claim_pkey"),
    )
    op.create_table(
        "mailbox_checkpoint",
        sa.Column("source", sa.String(length=512), nullable=False),
        sa.Column("uidvalidity", sa.Integer(), nullable=False),
        sa.Column("last_uid", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name="mailbox_checkpoint_pkey"),
    )
    op.create_table(
        "reference_counter",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="reference_counter_pkey"),
    )
    op.create_table(
        "setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="setting_pkey"),
    )
    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("sla_class", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("customer_email", sa.String(length=320), nullable=False),
        sa.Column("customer_name", sa.String(length=320), nullable=False),
        sa.Column("customer_organisation", sa.String(length=320), nullable=False),
        sa.Column("pic_phone", sa.String(length=64), nullable=False),
        sa.Column("pic_email", sa.String(length=320), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("corrective_action", sa.Text(), nullable=True),
        sa.Column("action_target", sa.Date(), nullable=True),
        sa.Column("preventive_action", sa.Text(), nullable=True),
        sa.Column("effectiveness", sa.Text(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=320), nullable=True),
        sa.Column("rules_version", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("watchers", sa.Text(), nullable=False),
        sa.Column("related_ticket_id", sa.Integer(), nullable=True),
        sa.Column("survey_score", sa.Integer(), nullable=True),
        sa.Column("survey_comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["related_ticket_id"], ["ticket.id"], name="ticket_related_ticket_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="ticket_pkey"),
    )
    op.create_index("ix_ticket_customer_email", "ticket", ["customer_email"], unique=False)
    op.create_index("ix_ticket_department", "ticket", ["department"], unique=False)
    op.create_index("ix_ticket_reference", "ticket", ["reference"], unique=True)
    op.create_index("ix_ticket_status", "ticket", ["status"], unique=False)
    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=512), nullable=False),
        sa.Column("source_key", sa.String(length=255), nullable=False),
        sa.Column("uidvalidity", sa.Integer(), nullable=True),
        sa.Column("uid", sa.Integer(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("raw_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("logical_key", sa.String(length=64), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name="inbound_message_ticket_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="inbound_message_pkey"),
        sa.UniqueConstraint("source", "source_key", name="uq_inbound_source_key"),
    )
    op.create_index("ix_inbound_message_disposition", "inbound_message", ["disposition"], unique=False)
    op.create_index("ix_inbound_message_logical_key", "inbound_message", ["logical_key"], unique=False)
    op.create_index("ix_inbound_message_message_id", "inbound_message", ["message_id"], unique=False)
    op.create_index("ix_inbound_message_raw_sha256", "inbound_message", ["raw_sha256"], unique=False)
    op.create_index("ix_inbound_message_state", "inbound_message", ["state"], unique=False)
    op.create_index("ix_inbound_message_ticket_id", "inbound_message", ["ticket_id"], unique=False)
    op.create_table(
        "outbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("cause_inbound_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("envelope_from", sa.String(length=320), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["cause_inbound_id"], ["inbound_message.id"], name="outbound_message_cause_inbound_id_fkey"
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name="outbound_message_ticket_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="outbound_message_pkey"),
        sa.UniqueConstraint("kind", "cause_inbound_id", "recipient", name="uq_outbound_cause"),
        sa.UniqueConstraint("message_id", name="outbound_message_message_id_key"),
    )
    op.create_index(
        "ix_outbound_message_next_attempt_at", "outbound_message", ["next_attempt_at"], unique=False
    )
    op.create_index("ix_outbound_message_recipient", "outbound_message", ["recipient"], unique=False)
    op.create_index("ix_outbound_message_state", "outbound_message", ["state"], unique=False)
    op.create_index("ix_outbound_message_ticket_id", "outbound_message", ["ticket_id"], unique=False)
    op.create_table(
        "recap_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_imported", sa.Integer(), nullable=False),
        sa.Column("rows_refused", sa.Integer(), nullable=False),
        sa.Column("rows_created", sa.Integer(), nullable=False),
        sa.Column("rows_updated", sa.Integer(), nullable=False),
        sa.Column("rows_unchanged", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["inbound_id"], ["inbound_message.id"], name="recap_file_inbound_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="recap_file_pkey"),
    )
    op.create_index("ix_recap_file_branch", "recap_file", ["branch"], unique=False)
    op.create_index("ix_recap_file_inbound_id", "recap_file", ["inbound_id"], unique=False)
    op.create_index("ix_recap_file_month", "recap_file", ["month"], unique=False)
    op.create_index("ix_recap_file_sha256", "recap_file", ["sha256"], unique=False)
    op.create_index("ix_recap_file_state", "recap_file", ["state"], unique=False)
    op.create_table(
        "recap_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("recap_file_id", sa.Integer(), nullable=True),
        sa.Column("branch", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound_message.id"], name="recap_attachment_inbound_id_fkey"
        ),
        sa.ForeignKeyConstraint(
            ["recap_file_id"], ["recap_file.id"], name="recap_attachment_recap_file_id_fkey"
        ),
        sa.PrimaryKeyConstraint("id", name="recap_attachment_pkey"),
    )
    op.create_index("ix_recap_attachment_branch", "recap_attachment", ["branch"], unique=False)
    op.create_index("ix_recap_attachment_inbound_id", "recap_attachment", ["inbound_id"], unique=False)
    op.create_index("ix_recap_attachment_month", "recap_attachment", ["month"], unique=False)
    op.create_index("ix_recap_attachment_recap_file_id", "recap_attachment", ["recap_file_id"], unique=False)
    op.create_index("ix_recap_attachment_sha256", "recap_attachment", ["sha256"], unique=False)
    op.create_table(
        "recap_row_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("row_key", sa.String(length=128), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("recap_file_id", sa.Integer(), nullable=True),
        sa.Column("sheet", sa.String(length=255), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("row_values", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recap_file_id"], ["recap_file.id"], name="recap_row_link_recap_file_id_fkey"
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name="recap_row_link_ticket_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="recap_row_link_pkey"),
        sa.UniqueConstraint("branch", "month", "row_key", name="uq_recap_row_key"),
    )
    op.create_index("ix_recap_row_link_recap_file_id", "recap_row_link", ["recap_file_id"], unique=False)
    op.create_index("ix_recap_row_link_ticket_id", "recap_row_link", ["ticket_id"], unique=False)
    op.create_table(
        "ticket_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("field_name", sa.String(length=64), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=True),
        sa.Column("outbound_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["inbound_id"], ["inbound_message.id"], name="ticket_event_inbound_id_fkey"),
        sa.ForeignKeyConstraint(
            ["outbound_id"], ["outbound_message.id"], name="ticket_event_outbound_id_fkey"
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name="ticket_event_ticket_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="ticket_event_pkey"),
    )
    op.create_index("ix_ticket_event_ticket_id", "ticket_event", ["ticket_id"], unique=False)


def downgrade() -> None:
    # Indexes and constraints go with their tables; referring tables go first.
    op.drop_table("ticket_event")
    op.drop_table("recap_row_link")
    op.drop_table("recap_attachment")
    op.drop_table("recap_file")
    op.drop_table("outbound_message")
    op.drop_table("inbound_message")
    op.drop_table("ticket")
    op.drop_table("setting")
    op.drop_table("reference_counter")
    op.drop_table("mailbox_checkpoint")
    op.drop_table("job_claim")
    op.drop_table("address_status")
