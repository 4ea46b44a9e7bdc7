"""Command-line commands, one module per command group; shared helpers here.

Each module has `register(commands)`, adding its sub-commands to the parser.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine

from daemon import db
from daemon.config import Config, load_config

EX_USAGE_ERROR = 1
EX_TEMPFAIL = 75


class UserError(Exception):
    """A mistake in what was asked; printed without a traceback, exit code 1."""


def configure(args: argparse.Namespace) -> Config:
    """Load the configuration named on the command line and set up logging from it."""
    config = load_config(args.config)
    logging.basicConfig(
        level=getattr(logging, config.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # mail-parser logs a line for every MIME part it does not know; that is not
    # news for an operator, failures reach our own log through the parse stage.
    logging.getLogger("mailparser").setLevel(logging.ERROR)
    return config


@contextlib.contextmanager
def open_engine(config: Config) -> Iterator[Engine]:
    engine = db.make_engine(config.database_url)
    try:
        db.create_schema(engine)
        yield engine
    finally:
        engine.dispose()


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
