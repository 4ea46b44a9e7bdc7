"""A message the IMAP server cannot hand over is recorded, not retried blindly at every poll.

`unfetched_message` has one row per mailbox, UIDVALIDITY and UID whose FETCH
failed: how often, the last error and when it is tried next. Empty at first:
nothing of the kind was recorded before.

Revision ID: 0005_unfetched_messages
Revises: 0004_structured_facts
Create Date: 2026-12-02 12:09:18.448487
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_unfetched_messages"
down_revision: str | Sequence[str] | None = "0004_structured_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unfetched_message",
        sa.Column("source", sa.String(length=512), nullable=False),
        sa.Column("uidvalidity", sa.Integer(), nullable=False),
        sa.Column("uid", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "uidvalidity", "uid", name="unfetched_message_pkey"),
    )


def downgrade() -> None:
    op.drop_table("unfetched_message")
