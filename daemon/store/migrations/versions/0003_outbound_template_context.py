"""An outgoing mail remembers its template, and a failed rendering the means to render it again.

`template` names the template of every new row. `render_context` holds, only
while a row's rendering has failed, the JSON of the template context and of the
envelope facts, so that `caredesk outbox retry` can render it again with the
same Message-ID once the template is fixed. Both columns are nullable and left
empty on existing rows: what they would hold was never recorded, and a failed
row without a context is reported as one that cannot be rebuilt.

Revision ID: 0003_outbound_template_context
Revises: 0002_resolution_cycle
Create Date: 2026-12-02 01:04:12.674002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_outbound_template_context"
down_revision: str | Sequence[str] | None = "0002_resolution_cycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("render_context", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_column("render_context")
        batch_op.drop_column("template")
