"""What `caredesk health` reads: the database (read-only), rules.yaml and the configuration.

Nothing is created, migrated or written: the database is opened as the other
read-only commands open it (`db.read_only_engine`), and a database that cannot
be reached, does not exist or holds no caredesk schema is a fact to report
(`Facts.broken`), not an error to raise.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session

from daemon.app.health import Configured, Facts, RulesFacts, Schema, Thresholds
from daemon.app.oauth_gate import grant_facts
from daemon.app.polling import by_identity
from daemon.app.rules_reload import content_version
from daemon.app.service import make_mailbox_factory
from daemon.config import Config
from daemon.route.loader import check_rules
from daemon.route.rules import format_problem
from daemon.store import db, heartbeat, migrations, monitoring
from daemon.store.db import public_database_url


def gather(config: Config, now: datetime, thresholds: Thresholds) -> Facts:
    """The facts at `now`; `thresholds.attention` says how far back "recent" failures reach."""
    url = config.database_url
    facts = Facts(
        now=now,
        database=public_database_url(url),
        mailbox=make_mailbox_factory(config)().identity,
        rules=rules_facts(config),
        mailboxes=tuple(Configured(box.name, identity) for identity, box in by_identity(config).items()),
    )
    try:
        engine = db.read_only_engine(url)
    except db.DatabaseNotReady as error:
        return _broken(facts, str(error), reachable=False)
    try:
        try:
            connection = engine.connect()
        except (OperationalError, psycopg.OperationalError) as error:
            return _broken(
                facts, f"database {facts.database} unreachable: {db.unreachable_reason(error)}", False
            )
        with connection:
            facts = _read(connection, facts, thresholds)
            if facts.broken:
                return facts
            with Session(bind=connection) as session:
                return replace(facts, grants=grant_facts(config, session))
    finally:
        engine.dispose()


def _read(connection: Connection, facts: Facts, thresholds: Thresholds) -> Facts:
    try:
        status = migrations.status(connection)
    except migrations.SchemaError as error:
        return _broken(facts, str(error))
    schema = Schema(status.current, status.head, len(status.pending))
    if status.unversioned_tables:
        reason = "its caredesk tables were made before migrations: run 'caredesk db upgrade' to adopt them"
        return _broken(facts, reason, schema=schema)
    if status.current is None:
        reason = "it has no caredesk schema: the daemon makes it when it first starts ('caredesk db upgrade')"
        return _broken(facts, reason, schema=schema)
    since = facts.now - thresholds.attention
    try:
        with Session(bind=connection) as session:
            polls = tuple(heartbeat.poll_records(session))
            outbox = monitoring.outbox_summary(session, since)
            inbound = monitoring.inbound_summary(session, since)
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return _broken(facts, f"cannot read it: {reason}", schema=schema)
    return Facts(
        now=facts.now,
        database=facts.database,
        mailbox=facts.mailbox,
        mailboxes=facts.mailboxes,
        schema=schema,
        polls=polls,
        outbox=outbox,
        inbound=inbound,
        rules=facts.rules,
    )


def _broken(facts: Facts, reason: str, reachable: bool = True, schema: Schema | None = None) -> Facts:
    return Facts(
        now=facts.now,
        database=facts.database,
        mailbox=facts.mailbox,
        mailboxes=facts.mailboxes,
        schema=schema,
        broken=reason,
        reachable=reachable,
        rules=facts.rules,
    )


def rules_facts(config: Config) -> RulesFacts:
    """rules.yaml as the daemon would read it at its next poll: its version, and its errors if any."""
    path = config.rules
    try:
        text = path.read_bytes().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return RulesFacts(str(path), None, (f"cannot read the rules file: {reason}",))
    rules, problems = check_rules(text, str(path), config.own_addresses)
    errors = () if rules is not None else tuple(format_problem(p) for p in problems if p.severity == "error")
    return RulesFacts(str(path), content_version(text), errors)
