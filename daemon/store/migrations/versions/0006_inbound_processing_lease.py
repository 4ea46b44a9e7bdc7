"""A mail being processed carries a lease: which daemon process has it, and until when.

Several daemons share one database: a try on a mail is claimed with an owner
(`host:pid:token`) and an expiry, so a daemon never counts another's live try as
a crash, and a try whose owner died or whose lease ran out is taken over.
Both columns are nullable and empty on existing rows: nobody holds them.

Revision ID: 0006_inbound_processing_lease
Revises: 0005_unfetched_messages
Create Date: 2026-12-02 13:05:41.120377
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_inbound_processing_lease"
down_revision: str | Sequence[str] | None = "0005_unfetched_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
