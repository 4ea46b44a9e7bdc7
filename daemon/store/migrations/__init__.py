"""The schema's history: alembic migrations shipped inside the package, configured in code.

Owns where the revisions live (`script_location` is this folder; there is no
alembic.ini), which revision a database is at, what is still to apply, and the
adoption of a database that `create_all` made before migrations existed: it is
stamped at the baseline when its tables are the baseline's, refused otherwise.
`daemon.store.db.upgrade` runs `upgrade` under a lock; `python -m daemon.store.migrations` is
alembic's own command line for developers (docs/development.md).
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, create_engine, inspect

from daemon.config import ConfigError

HERE = Path(__file__).resolve().parent
BASELINE = "0001_baseline"
# alembic_version.version_num is VARCHAR(32): revision ids must fit.
MAX_REVISION_ID = 32

# alembic keeps the environment it is running in module-level state (`alembic.context`,
# `alembic.op`): two threads of one process must not run its commands at once.
# Re-entrant, because adopting an old database runs the baseline on a scratch one.
_alembic_running = threading.RLock()

# alembic says at INFO which dialect it found, every time it runs; `daemon.store.db`
# logs what an operator needs (the revisions applied) itself.
logging.getLogger("alembic").setLevel(logging.WARNING)


class SchemaError(ConfigError):
    """The database's schema cannot be brought to this version without an administrator.

    A configuration error to the command line (exit 78): restarting will not fix it,
    and `caredesk ingest` answers EX_TEMPFAIL, so an MTA keeps the mail meanwhile.
    """


class Revision(NamedTuple):
    id: str
    message: str


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` did: the revision before and after, and the revisions applied."""

    before: str | None
    after: str | None
    applied: tuple[Revision, ...]
    stamped: bool
    """A database made before migrations was adopted at the baseline."""


@dataclass(frozen=True)
class Status:
    current: str | None
    head: str | None
    pending: tuple[Revision, ...]
    unversioned_tables: bool
    """caredesk's tables exist but there is no migration history (made before migrations)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """alembic's configuration, built in code; `connection` is what env.py migrates."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    # Revision ids are `NNNN_slug` (env.py numbers them) and each file is named after its id.
    config.set_main_option("file_template", "%%(rev)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str | None:
    return scripts().get_current_head()


def next_revision_id(message: str) -> str:
    """`0002_add_ticket_channel` for the second revision: numbered, so their order reads at a glance."""
    numbers = [
        int(m.group(1)) for rev in scripts().walk_revisions() if (m := re.match(r"(\d+)_", rev.revision))
    ]
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_") or "revision"
    return f"{max(numbers, default=0) + 1:04d}_{slug}"[:MAX_REVISION_ID].rstrip("_")


def current_revision(connection: Connection) -> str | None:
    """The database's revision; SchemaError when this caredesk does not know it."""
    current = MigrationContext.configure(connection).get_current_revision()
    if current is not None:
        try:
            known = scripts().get_revision(current)
        except CommandError:
            known = None
        if known is None:
            raise SchemaError(
                f"the database is at schema revision {current!r}, which this caredesk does not know: "
                "a newer caredesk upgraded it. Run that version (or newer) against this database."
            )
    return current


def pending_revisions(current: str | None) -> tuple[Revision, ...]:
    """The revisions after `current` up to head, oldest first."""
    if head() is None:
        return ()
    newest_first = scripts().iterate_revisions("heads", current or "base")
    return tuple(Revision(rev.revision, rev.doc) for rev in reversed(list(newest_first)))


def status(connection: Connection) -> Status:
    current = current_revision(connection)
    unversioned = current is None and bool(_unversioned_tables(connection))
    pending = pending_revisions(BASELINE if unversioned else current)
    return Status(current, head(), pending, unversioned)


def upgrade(connection: Connection) -> Upgrade:
    """Stamp a pre-migration database at the baseline if need be, then upgrade to head.

    Runs inside the caller's transaction (committing is the caller's), which must
    keep other processes from migrating at the same time (`daemon.store.db.upgrade`).
    """
    before = current_revision(connection)
    if before == head():
        return Upgrade(before, before, (), stamped=False)
    config = alembic_config(connection)
    stamped = False
    with _alembic_running:
        if before is None and (present := _unversioned_tables(connection)):
            _check_matches_baseline(connection, present)
            command.stamp(config, BASELINE)
            stamped = True
        applied = pending_revisions(BASELINE if stamped else before)
        command.upgrade(config, "head")
    return Upgrade(before, current_revision(connection), applied, stamped)


@functools.cache
def baseline_columns() -> dict[str, frozenset[str]]:
    """Each table of the baseline revision with its column names, read from a scratch database."""
    engine = create_engine("sqlite://")
    try:
        with _alembic_running, engine.begin() as connection:
            command.upgrade(alembic_config(connection), BASELINE)
            inspector = inspect(connection)
            return {
                table: frozenset(column["name"] for column in inspector.get_columns(table))
                for table in inspector.get_table_names()
                if table != "alembic_version"
            }
    finally:
        engine.dispose()


def _unversioned_tables(connection: Connection) -> set[str]:
    """The baseline's tables present in a database that has no migration history."""
    if head() is None:
        return set()
    return set(inspect(connection).get_table_names()) & set(baseline_columns())


def _check_matches_baseline(connection: Connection, present: set[str]) -> None:
    """Refuse to adopt a pre-migration database whose tables are not exactly the baseline's."""
    inspector = inspect(connection)
    problems = []
    for table, expected in sorted(baseline_columns().items()):
        if table not in present:
            problems.append(f"table {table} is missing")
            continue
        actual = {column["name"] for column in inspector.get_columns(table)}
        problems += [f"column {table}.{name} is missing" for name in sorted(expected - actual)]
        problems += [f"column {table}.{name} is not in the baseline" for name in sorted(actual - expected)]
    if problems:
        raise SchemaError(
            "the database has caredesk tables but no migration history (it was made before "
            f"migrations), and they differ from the baseline schema {BASELINE}: "
            + "; ".join(problems)
            + ". Back the database up, make those tables match the baseline (its SQL: "
            "`python -m daemon.store.migrations -x url=URL upgrade 0001_baseline --sql`) or move the data "
            "into a new database, then run `caredesk db upgrade` again."
        )


OUTSIDE_THE_MODELS = ("ticket_search", "ix_ticket_search")
"""What revisions make that the models cannot say (0009: the register's search index on SQLite,
an FTS5 table with its shadow tables `ticket_search_*`, and on PostgreSQL a pg_trgm index;
0011: `ticket_search_queue`, the SQLite tickets waiting for that index)."""


def compared(name: str | None, type_: str, parent_names: object) -> bool:
    """Whether comparing the database with the models (autogenerate, the schema test) looks at an
    object: not at those of `OUTSIDE_THE_MODELS` (alembic's `include_name` hook)."""
    if name is None or type_ not in ("table", "index"):
        return True
    return not any(name == own or name.startswith(own + "_") for own in OUTSIDE_THE_MODELS)
