"""`python -m daemon.store.migrations ...`: alembic's command line on caredesk's migrations, no alembic.ini.

    python -m daemon.store.migrations revision --autogenerate -m "add ticket channel"
    python -m daemon.store.migrations history
    python -m daemon.store.migrations -x url=postgresql:// upgrade head --sql

Without `-x url=...` a command runs on a scratch SQLite database brought to head
first, which is what `revision --autogenerate` compares the models with. New
revisions are numbered (`0002_add_ticket_channel`) and formatted with ruff.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence

from alembic.config import CommandLine, Config

from daemon.store import db, migrations


def main(argv: Sequence[str] | None = None) -> int:
    cli = CommandLine(prog="python -m daemon.store.migrations")
    options = cli.parser.parse_args(argv)
    if not hasattr(options, "cmd"):
        cli.parser.error("a command is needed, e.g. revision --autogenerate -m MESSAGE")
    config = migrations.alembic_config()
    config.cmd_opts = options
    _format_new_revisions_with_ruff(config)
    url = dict(arg.split("=", 1) for arg in options.x or [] if "=" in arg).get("url")
    if getattr(options, "sql", False):
        config.set_main_option("sqlalchemy.url", url or "sqlite://")
        cli.run_cmd(config, options)
        return 0
    with tempfile.TemporaryDirectory(prefix="caredesk-migrations-") as scratch:
        engine = db.make_engine(url or f"sqlite:///{scratch}/scratch.db")
        try:
            if url is None:
                db.upgrade(engine)
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                cli.run_cmd(config, options)
        finally:
            engine.dispose()
    return 0


def _format_new_revisions_with_ruff(config: Config) -> None:
    hooks = {
        "hooks": "ruff_format, ruff_check",
        "ruff_check.type": "module",
        "ruff_check.module": "ruff",
        "ruff_check.options": "check --fix REVISION_SCRIPT_FILENAME",
        "ruff_format.type": "module",
        "ruff_format.module": "ruff",
        "ruff_format.options": "format REVISION_SCRIPT_FILENAME",
    }
    for key, value in hooks.items():
        config.set_section_option("post_write_hooks", key, value)


if __name__ == "__main__":
    sys.exit(main())
