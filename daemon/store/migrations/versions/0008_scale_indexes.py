"""Indexes for a register of a million tickets, and the SLA ladder's next look at each ticket.

`ticket.next_sla_step_at` is when the SLA ladder must next look at a ticket
(`daemon.store.sla_due`); the ladder reads only the tickets whose moment has
come, through its index. Existing open tickets get their receipt time, a moment
already past: the first ladder run looks at each of them once and writes the
exact value; resolved and closed tickets get NULL (nothing is ever due on them).

The other indexes serve the periodic jobs and commands that read one range of
a large table: stale outbox leases (`lease_until`), the results reminder
(`completed_at`), the first day of an installation (`min(created_at)`,
`min(received_at)`), stale intake leases (`inbound_message.lease_until`). Two
partial indexes hold only the open tickets (neither resolved nor closed), by id
and by department and id: `caredesk tickets list` counts and pages them without
reading the closed ones, which are nearly all of a large register.

Revision ID: 0008_scale_indexes
Revises: 0007_operation_events
Create Date: 2026-12-03 07:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_scale_indexes"
down_revision: str | Sequence[str] | None = "0007_operation_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column) -> index name, as the models name them (`index=True`).
_INDEXES = (
    ("ticket", "next_sla_step_at"),
    ("ticket", "completed_at"),
    ("ticket", "created_at"),
    ("ticket", "received_at"),
    ("inbound_message", "received_at"),
    ("outbound_message", "lease_until"),
    ("inbound_message", "lease_until"),
    ("recap_file", "received_at"),
)

# The open tickets: `daemon.store.models.OPEN_TICKETS` as it was when this revision was written.
_OPEN = "status NOT IN ('resolved', 'closed')"
# name -> columns of the partial indexes on the open tickets.
# `status` comes last so that SQLite counts them from the index alone.
_OPEN_INDEXES = (
    ("ix_ticket_open", ["id", "status"]),
    ("ix_ticket_open_department", ["department", "id", "status"]),
)


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_sla_step_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE ticket SET next_sla_step_at = received_at WHERE status NOT IN ('resolved', 'closed')")
    for table, column in _INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)
    for name, columns in _OPEN_INDEXES:
        op.create_index(
            name,
            "ticket",
            columns,
            unique=False,
            sqlite_where=sa.text(_OPEN),
            postgresql_where=sa.text(_OPEN),
        )


def downgrade() -> None:
    for name, _ in reversed(_OPEN_INDEXES):
        op.drop_index(name, table_name="ticket")
    for table, column in reversed(_INDEXES):
        op.drop_index(f"ix_{table}_{column}", table_name=table)
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("next_sla_step_at")
