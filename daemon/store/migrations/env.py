"""alembic's environment for caredesk: run by alembic for every command, never imported.

Online it migrates the connection handed over in `config.attributes["connection"]`
(by `daemon.store.db.upgrade` or `python -m daemon.store.migrations`), inside that connection's
transaction; offline (`--sql`) it prints SQL for the dialect of `sqlalchemy.url`.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, types
from sqlmodel import SQLModel

from daemon.store import (
    migrations,
    models,  # noqa: F401 - models registers every table on the metadata
)

config = context.config
target_metadata = SQLModel.metadata


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | bool:
    """Render wrapper types as the SQL type underneath, so revisions never import daemon.store.models.

    `UTCDateTime` is `DateTime(timezone=True)` and sqlmodel's `AutoString(n)` is
    `String(n)` in the database; a revision must stay valid when the models change.
    """
    if kind == "type" and isinstance(item, types.TypeDecorator):
        underneath = item.impl_instance
        # Only the generic types are `sa.<Name>`; anything else keeps alembic's rendering.
        if type(underneath).__module__ == "sqlalchemy.sql.sqltypes":
            return f"sa.{underneath!r}"
    return False


def number_revision(context: MigrationContext, revision: Any, directives: list[MigrationScript]) -> None:
    """Name a new revision `NNNN_slug`; write nothing when autogenerate found no change."""
    script = directives[0]
    options = config.cmd_opts
    if getattr(options, "autogenerate", False) and all(ops.is_empty() for ops in script.upgrade_ops_list):
        directives[:] = []
        print("No change between daemon/models.py and the migrations: no revision written.")
        return
    if not getattr(options, "rev_id", None):
        script.rev_id = migrations.next_revision_id(script.message or "")


OPTIONS: dict[str, Any] = {
    "target_metadata": target_metadata,
    "compare_type": True,
    "compare_server_default": True,
    "render_item": render_item,
    "include_name": migrations.compared,
    "process_revision_directives": number_revision,
}


def run_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or "sqlite://"
    context.configure(url=url, literal_binds=True, render_as_batch=url.startswith("sqlite"), **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_online(connection: Connection) -> None:
    # SQLite cannot ALTER most things: batch mode copies the table into a new one instead.
    sqlite = connection.dialect.name == "sqlite"
    # DDL is transactional on SQLite as on PostgreSQL (alembic assumes otherwise for
    # SQLite): the whole upgrade is one transaction, all or nothing.
    context.configure(connection=connection, render_as_batch=sqlite, transactional_ddl=True, **OPTIONS)
    with context.begin_transaction():
        if sqlite:
            # A batch copy drops and renames a table that other tables refer to; with
            # foreign keys enforced (daemon.store.db turns them on) the check must wait for
            # the commit, when the copy is complete. Resets itself at the commit.
            connection.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("migrate through daemon.store.db.upgrade or `python -m daemon.store.migrations`")
    run_online(connection)
