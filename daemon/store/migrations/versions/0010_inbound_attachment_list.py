"""The attachments of each mail, as the parser found them, kept on its inbound row.

`inbound_message.attachment_list` is a short JSON text: the name, type, size and
SHA-256 of each attachment (`daemon.tickets.attachment_index`). `tickets show`,
the web view and the archive form list a ticket's attachments from it instead of
parsing every stored mail again. Mails stored before this revision keep NULL and
are parsed again when their attachments are listed, as before; nothing is
back-filled, so the upgrade is one `ADD COLUMN` however large the register.

Revision ID: 0010_inbound_attachment_list
Revises: 0009_register_search
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_inbound_attachment_list"
down_revision: str | Sequence[str] | None = "0009_register_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column without a default: SQLite adds it in place, without copying the table.
    op.add_column("inbound_message", sa.Column("attachment_list", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_column("attachment_list")
