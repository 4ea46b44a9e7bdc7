"""Facts that were text become data: a mail fetched as headers only, a routing decision.

`inbound_message.headers_only` is true for a mail too large to fetch whole; it
used to be told only by the words of `reason`, and existing rows are marked from
them. `ticket_event.data` holds, as JSON, what an event decided: the routing
decision (department, severity, the matched rules and why) on the `routed`
event. Events written before this revision keep their text only.

Revision ID: 0004_structured_facts
Revises: 0003_outbound_template_context
Create Date: 2026-12-02 06:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_structured_facts"
down_revision: str | Sequence[str] | None = "0003_outbound_template_context"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("headers_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    inbound = sa.table(
        "inbound_message", sa.column("headers_only", sa.Boolean()), sa.column("reason", sa.Text())
    )
    op.execute(inbound.update().where(inbound.c.reason.like("oversize:%")).values(headers_only=True))
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_event", schema=None) as batch_op:
        batch_op.drop_column("data")
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_column("headers_only")
