"""Is caredesk working? The judgement of `caredesk health`, from facts read out of the database.

Pure: `evaluate(facts, thresholds)` turns what `daemon.app.health_facts` read
into a `Report` of sections, each healthy, degraded or down, and the report is
as bad as its worst section. What counts (docs/operations.md, "Health"):

* **down**: the database cannot be reached, does not exist, has no caredesk
  schema or one newer than this caredesk; a configured mailbox (of one or
  several) was never polled successfully, or not for `poll_down` (30 poll
  intervals, at least 30 minutes).
* **degraded**: a configured mailbox's last successful poll is older than
  `poll_degraded` (5 poll intervals, at least 5 minutes); outgoing mail has waited longer than
  `backlog` (15 minutes), or incoming mail has been stored that long without
  being processed; outgoing mail queued in the last `attention` (7 days) failed
  or its delivery is uncertain, or incoming mail was quarantined in that time
  (older ones are still counted, but no longer change the status: a failed mail
  cannot be dismissed, only sent again); the schema is older than this
  caredesk's; rules.yaml cannot be read or is invalid (the daemon keeps the
  last good rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from daemon.app.health_token import TOKEN_NOTE, GrantFacts, judge_grants
from daemon.store.heartbeat import PollRecord
from daemon.store.monitoring import Held, InboundSummary, OutboxSummary

BACKLOG = timedelta(minutes=15)
ATTENTION = timedelta(days=7)


class Status(IntEnum):
    """A section's or the whole report's state; its value is the exit code of `caredesk health`."""

    HEALTHY = 0
    DEGRADED = 1
    DOWN = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Thresholds:
    poll_degraded: timedelta
    poll_down: timedelta
    backlog: timedelta = BACKLOG
    attention: timedelta = ATTENTION

    @classmethod
    def for_poll_interval(cls, seconds: int) -> Thresholds:
        interval = timedelta(seconds=seconds)
        return cls(max(5 * interval, timedelta(minutes=5)), max(30 * interval, timedelta(minutes=30)))

    def as_dict(self) -> dict[str, int]:
        return {
            "poll_degraded_seconds": _seconds(self.poll_degraded),
            "poll_down_seconds": _seconds(self.poll_down),
            "backlog_seconds": _seconds(self.backlog),
            "attention_seconds": _seconds(self.attention),
        }


@dataclass(frozen=True, slots=True)
class Schema:
    current: str | None
    head: str | None
    pending: int


@dataclass(frozen=True, slots=True)
class RulesFacts:
    path: str
    file_version: str | None
    """The content version of rules.yaml as it is now; None when it cannot be read."""
    problems: tuple[str, ...] = ()
    """Why the file cannot be read, or its errors as `caredesk rules check` prints them."""


@dataclass(frozen=True, slots=True)
class Configured:
    """A mailbox of the configuration: its name and its identity (the key of its poll records)."""

    name: str
    identity: str


@dataclass(frozen=True, slots=True)
class Facts:
    """What the database and the configuration say at `now`; `broken` when the database could not be read."""

    now: datetime
    database: str
    mailbox: str
    """The configured mailbox's identity."""
    schema: Schema | None = None
    broken: str = ""
    """Why the database cannot be read ('' when it could)."""
    reachable: bool = True
    """False when not even a connection could be made (or the SQLite file does not exist)."""
    polls: tuple[PollRecord, ...] = ()
    outbox: OutboxSummary | None = None
    inbound: InboundSummary | None = None
    rules: RulesFacts | None = None
    redirect_to: str = ""
    """`[smtp] redirect_to`: the one address every outgoing mail goes to ('' = its recipients)."""
    grants: tuple[GrantFacts, ...] = ()
    """The OAuth2 grants of `auth = "oauth2"` (none: nothing logs in with OAuth2)."""
    mailboxes: tuple[Configured, ...] = ()
    """Every configured mailbox, `mailbox` first; () = `mailbox` alone."""

    @property
    def configured(self) -> tuple[Configured, ...]:
        return self.mailboxes or (Configured("default", self.mailbox),)


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    status: Status
    summary: str
    """One line for people."""
    fields: dict[str, Any] = field(default_factory=dict)
    """The same, as data for `--json`."""
    label: str = ""
    """What to show instead of the status ('not applicable'); it counts as healthy."""

    @property
    def shown(self) -> str:
        return self.label or self.status.label


@dataclass(frozen=True, slots=True)
class Report:
    checked_at: datetime
    sections: tuple[Section, ...]
    thresholds: Thresholds

    @property
    def status(self) -> Status:
        return max((section.status for section in self.sections), default=Status.HEALTHY)

    @property
    def problems(self) -> list[str]:
        return [f"{s.name}: {s.summary}" for s in self.sections if s.status is not Status.HEALTHY]

    def as_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "status": self.status.label,
            "checked_at": self.checked_at.isoformat(),
            "problems": self.problems,
        }
        for section in self.sections:
            document[section.name] = {
                "status": section.shown,
                "summary": section.summary,
            } | section.fields
        document["thresholds"] = self.thresholds.as_dict()
        return document


def evaluate(facts: Facts, thresholds: Thresholds) -> Report:
    sections = [_database(facts)]
    if not facts.broken:
        assert facts.outbox is not None and facts.inbound is not None
        sections += [
            _mailboxes(facts, thresholds),
            _outbox(facts.outbox, facts.now, thresholds),
            _inbound(facts.inbound, facts.now, thresholds),
            _quarantine(facts.inbound.quarantined, thresholds),
        ]
    sections += [_rules(facts), _token(facts), _delivery(facts)]
    return Report(facts.now, tuple(sections), thresholds)


def _token(facts: Facts) -> Section:
    """The OAuth2 grants (`daemon.app.health_token`); not applicable without OAuth2."""
    if not facts.grants:
        return Section("token_expiry", Status.HEALTHY, TOKEN_NOTE, {"applicable": False}, "not applicable")
    status, summary, fields = judge_grants(facts.grants)
    return Section("token_expiry", Status(status), summary, fields)


def _delivery(facts: Facts) -> Section:
    """Where outgoing mail goes: its recipients, or (staging) one address; either is healthy."""
    if not facts.redirect_to:
        return Section(
            "delivery", Status.HEALTHY, "outgoing mail goes to its recipients", {"redirect_to": None}
        )
    summary = f"staging: every outgoing mail goes to {facts.redirect_to} ([smtp] redirect_to)"
    return Section("delivery", Status.HEALTHY, summary, {"redirect_to": facts.redirect_to})


def _database(facts: Facts) -> Section:
    schema = facts.schema
    fields: dict[str, Any] = {"url": facts.database, "reachable": facts.reachable}
    if schema is not None:
        fields["schema"] = {"current": schema.current, "head": schema.head, "pending": schema.pending}
    if facts.broken:
        return Section("database", Status.DOWN, facts.broken, fields | {"error": facts.broken})
    assert schema is not None
    if schema.pending:
        summary = (
            f"schema at revision {schema.current}, this caredesk needs {schema.head} ({schema.pending} "
            "pending): the daemon applies them when it starts, or run 'caredesk db upgrade'"
        )
        return Section("database", Status.DEGRADED, summary, fields)
    return Section(
        "database", Status.HEALTHY, f"{facts.database}, schema at revision {schema.current}", fields
    )


def _mailboxes(facts: Facts, thresholds: Thresholds) -> Section:
    """Each configured mailbox judged by its last successful poll; the section is as bad as the worst."""
    records = {record.mailbox: record for record in facts.polls}
    configured = facts.configured
    names = {box.identity: box.name for box in configured}
    listed = [_poll_fields(record, facts.now, name=names.get(record.mailbox)) for record in records.values()]
    missing = [box for box in configured if box.identity not in records]
    listed[:0] = [_poll_fields(PollRecord(box.identity), facts.now, name=box.name) for box in missing]
    judged = [
        _judged(records.get(box.identity, PollRecord(box.identity)), facts.now, thresholds)
        for box in configured
    ]
    status = max(status for status, _ in judged)
    if len(configured) == 1:
        summary = judged[0][1]
    else:
        summary = "; ".join(f"{box.name} {text}" for box, (_, text) in zip(configured, judged, strict=True))
    return Section("mailbox", status, summary, {"mailboxes": listed})


def _judged(record: PollRecord, now: datetime, thresholds: Thresholds) -> tuple[Status, str]:
    """One mailbox's status and line: by the age of its last successful poll."""
    failure = _failure_text(record)
    if record.succeeded_at is None:
        return Status.DOWN, f"{record.mailbox}: never polled successfully{failure}"
    age = now - record.succeeded_at
    summary = f"{record.mailbox}: last successful poll {_ago(age)} ago{failure}"
    if age > thresholds.poll_down:
        return Status.DOWN, summary
    if age > thresholds.poll_degraded:
        return Status.DEGRADED, summary
    return Status.HEALTHY, summary


def _poll_fields(record: PollRecord, now: datetime, *, name: str | None) -> dict[str, Any]:
    """One mailbox's poll record as data; `name` is its configured name (None: no longer configured)."""
    age = None if record.succeeded_at is None else _seconds(now - record.succeeded_at)
    return {
        "mailbox": record.mailbox,
        "name": name,
        "configured": name is not None,
        "last_success": _iso(record.succeeded_at),
        "last_success_age_seconds": age,
        "last_failure": _iso(record.failed_at),
        "last_error": record.error or None,
    }


def _failure_text(record: PollRecord) -> str:
    failing = record.failed_at is not None and (
        record.succeeded_at is None or record.failed_at > record.succeeded_at
    )
    return (
        f"; the last poll failed ({record.failed_at:%Y-%m-%d %H:%M} UTC): {record.error}" if failing else ""
    )


def _outbox(outbox: OutboxSummary, now: datetime, thresholds: Thresholds) -> Section:
    waiting, failed, uncertain = outbox.waiting, outbox.failed, outbox.uncertain
    age = None if waiting.oldest is None else now - waiting.oldest
    fields = {
        "backlog": waiting.count,
        "oldest_pending": _iso(waiting.oldest),
        "oldest_pending_age_seconds": None if age is None else _seconds(age),
        "failed": failed.count,
        "uncertain": uncertain.count,
        "failed_recent": failed.recent,
        "uncertain_recent": uncertain.recent,
    }
    parts = [f"{waiting.count} waiting" + ("" if age is None else f", the oldest for {_ago(age)}")]
    parts.append(f"{failed.count} failed and {uncertain.count} uncertain")
    if failed.recent or uncertain.recent:
        parts.append(
            f"{failed.recent + uncertain.recent} of them queued in the last {_ago(thresholds.attention)} "
            "('caredesk outbox list --state failed', then 'caredesk outbox retry')"
        )
    late = age is not None and age > thresholds.backlog
    status = Status.DEGRADED if late or failed.recent or uncertain.recent else Status.HEALTHY
    return Section("outbox", status, "; ".join(parts), fields)


def _inbound(inbound: InboundSummary, now: datetime, thresholds: Thresholds) -> Section:
    stored = inbound.stored
    age = None if stored.oldest is None else now - stored.oldest
    fields = {
        "waiting": stored.count,
        "oldest_waiting": _iso(stored.oldest),
        "oldest_waiting_age_seconds": None if age is None else _seconds(age),
        "retrying": inbound.retry.count,
    }
    summary = f"{_mails(stored.count)} stored, not processed yet" + (
        "" if age is None else f", the oldest for {_ago(age)}"
    )
    summary += f"; {inbound.retry.count} waiting for another try"
    status = Status.DEGRADED if age is not None and age > thresholds.backlog else Status.HEALTHY
    return Section("inbound", status, summary, fields)


def _quarantine(quarantined: Held, thresholds: Thresholds) -> Section:
    fields = {"count": quarantined.count, "recent": quarantined.recent}
    summary = f"{_mails(quarantined.count)} held"
    if quarantined.recent:
        summary += (
            f", {quarantined.recent} in the last {_ago(thresholds.attention)} "
            "('caredesk quarantine list', then replay or discard)"
        )
    return Section("quarantine", Status.DEGRADED if quarantined.recent else Status.HEALTHY, summary, fields)


def _rules(facts: Facts) -> Section:
    configured = next((p for p in facts.polls if p.mailbox == facts.mailbox), None)
    in_force = configured.rules_version if configured and configured.rules_version else None
    rules = facts.rules
    assert rules is not None
    fields = {
        "path": rules.path,
        "in_force": in_force,
        "file": rules.file_version,
        "problems": list(rules.problems),
    }
    if rules.problems:
        kept = f"; the daemon keeps version {in_force}" if in_force else ""
        summary = f"{rules.path} is refused: {rules.problems[0]}{kept} ('caredesk rules check')"
        return Section("rules", Status.DEGRADED, summary, fields)
    if in_force is None:
        summary = f"{rules.path}: version {rules.file_version} (the daemon has not said which it uses yet)"
    elif in_force == rules.file_version:
        summary = f"version {in_force} in force, as in {rules.path}"
    else:
        summary = (
            f"version {in_force} in force; {rules.path} is now {rules.file_version}, taken at the next poll"
        )
    return Section("rules", Status.HEALTHY, summary, fields)


def _mails(count: int) -> str:
    return f"{count} mail" if count == 1 else f"{count} mails"


def _seconds(span: timedelta) -> int:
    return int(span.total_seconds())


def _ago(span: timedelta) -> str:
    """A span in its largest whole unit: `42 s`, `7 min`, `3 h`, `2 days`."""
    seconds = max(0, _seconds(span))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
