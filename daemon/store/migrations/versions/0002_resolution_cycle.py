"""A ticket counts its resolution cycles: a reopened ticket gets a new resolution due date.

Existing tickets are in their first cycle. The column is added nullable, filled
with 1 and then made NOT NULL, so that no server default is left behind (the
models fill defaults in Python).

Revision ID: 0002_resolution_cycle
Revises: 0001_baseline
Create Date: 2026-11-21 09:29:11.743848
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_resolution_cycle"
down_revision: str | Sequence[str] | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolution_cycle", sa.Integer(), nullable=True))
    op.execute("UPDATE ticket SET resolution_cycle = 1")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.alter_column("resolution_cycle", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("resolution_cycle")
