"""The migration revisions, oldest first by number (`0001_baseline`, `0002_...`); alembic loads them."""
