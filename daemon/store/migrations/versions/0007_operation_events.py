"""What was done outside any ticket, with who, when and why: `operation_event`.

A monthly report mailed again (`caredesk report monthly --resend`) with its
reason, periodic jobs held because the clock jumped, an administrator confirming
the clock. Empty at first: nothing of the kind was recorded before.

Revision ID: 0007_operation_events
Revises: 0006_inbound_processing_lease
Create Date: 2026-12-02 16:16:55.201102
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_operation_events"
down_revision: str | Sequence[str] | None = "0006_inbound_processing_lease"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "operation_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outbound_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(none_as_null=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["outbound_id"], ["outbound_message.id"], name="operation_event_outbound_id_fkey"
        ),
        sa.PrimaryKeyConstraint("id", name="operation_event_pkey"),
    )
    with op.batch_alter_table("operation_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operation_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_operation_event_subject"), ["subject"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("operation_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operation_event_subject"))
        batch_op.drop_index(batch_op.f("ix_operation_event_action"))
    op.drop_table("operation_event")
