"""Fixtures the integration tests share (a module's own fixture of the same name wins)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from daemon.store import db


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The database of `database_url`, made current by the migrations, disposed of afterwards."""
    made = db.open_for_writing(database_url)
    try:
        yield made
    finally:
        made.dispose()
