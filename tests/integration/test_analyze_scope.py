"""The planner statistics after a migration cover the daemon's own schema, not the whole database.

A bare `ANALYZE` goes through every table of every schema: on a PostgreSQL database
shared with other schemas (other desks, other applications) the daemon that migrated
sat out the first poll for as long as that took.
"""

from __future__ import annotations

import secrets

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text

from daemon.store import db
from tests.conftest import PG_ADMIN_DSN

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_statistics_are_refreshed_for_this_schema_only(database_url: str) -> None:
    neighbour = f"t_neighbour_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(neighbour)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(neighbour)))
        conn.execute(
            sql.SQL("CREATE TABLE {}.rows AS SELECT generate_series(1, 10) AS n").format(
                sql.Identifier(neighbour)
            )
        )
    engine = db.make_engine(database_url)
    try:
        db.create_schema(engine)  # a fresh schema: the migrations run, then the statistics
        with engine.connect() as connection:
            tuples = text(
                "SELECT c.reltuples FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace "
                "WHERE s.nspname = :schema AND c.relname = :table"
            )
            ours = connection.execute(text("SELECT current_schema()")).scalar_one()
            analysed = connection.execute(tuples, {"schema": ours, "table": "ticket"}).scalar_one()
            theirs = connection.execute(tuples, {"schema": neighbour, "table": "rows"}).scalar_one()
    finally:
        engine.dispose()
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(neighbour)))
    assert analysed >= 0  # -1: never analysed
    assert theirs == -1
