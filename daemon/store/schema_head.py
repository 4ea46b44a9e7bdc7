"""Is a database at this caredesk's schema revision? Answered without alembic, for the common case.

Every read-only command checks the schema first (`daemon.store.db.open_read_only`).
alembic's own answer means importing alembic and walking its revision scripts,
a good part of a short command's time (`caredesk tickets list`). Here the newest
revision is read from the revision files' text (`revision = "..."`, `down_revision
= "..."`), and the database's from its `alembic_version` table. When the two are
the same, nothing else is needed; in any other case (no table, another revision,
revision files this reading does not understand) `is_at_head` says False and the
caller asks `daemon.store.migrations`, which explains what is wrong.
`tests/unit/test_cli_imports.py` checks that `head()` is alembic's head.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection

VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION = re.compile(r'^revision(?:\s*:\s*str)?\s*=\s*"([^"]+)"', re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=\n]*=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r'"([^"]+)"')


@functools.cache
def head() -> str | None:
    """The newest revision id, from the revision files; None when they do not name exactly one."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        for line in _DOWN_REVISION.findall(source):
            parents.update(_QUOTED.findall(line))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


VERSION_QUERY = "SELECT version_num FROM alembic_version"
"""The revisions a database records; `daemon.store.rawread` asks it through the plain driver."""


def is_head(recorded: Sequence[str]) -> bool:
    """Whether `recorded` (the rows of `VERSION_QUERY`) is exactly this caredesk's newest revision."""
    wanted = head()
    return wanted is not None and list(recorded) == [wanted]


def is_at_head(connection: Connection) -> bool:
    """True when the database records exactly this caredesk's newest revision, and nothing else."""
    from sqlalchemy import inspect, text

    if head() is None or not inspect(connection).has_table("alembic_version"):
        return False
    return is_head(list(connection.execute(text(VERSION_QUERY)).scalars()))
