"""The database: tables, engine, named queries, claims, migrations."""
