"""The periodic jobs' view of time, kept in the database: the last-seen time and a hold.

Two `setting` rows, shared by every daemon on the database:

* `periodic-last-seen`: when the periodic jobs last ran (ISO 8601, UTC);
* `periodic-hold`: present while they are held because the clock jumped (JSON:
  the last-seen time, the clock's reading, why, and which process noticed).

The hold is inserted once (`INSERT ... ON CONFLICT DO NOTHING`): of several
daemons noticing the same jump, one wins and tells the admin. What the decision
is lives in `daemon.periodic.clock_check`; the history of holds and confirmations
is in `operation_event` (`daemon.store.operations`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from daemon.store.models import Setting
from daemon.store.queries import insert_ignore

LAST_SEEN_KEY = "periodic-last-seen"
HOLD_KEY = "periodic-hold"


@dataclass(frozen=True, slots=True)
class Hold:
    """Periodic jobs are held: since when, against which last-seen time, and why."""

    last_seen: datetime
    clock: datetime
    """What the clock said when the jump was noticed."""
    reason: str
    owner: str
    """The daemon process that noticed it (`host:pid:token`)."""

    def as_json(self) -> str:
        return json.dumps(
            {
                "last_seen": self.last_seen.isoformat(),
                "clock": self.clock.isoformat(),
                "reason": self.reason,
                "owner": self.owner,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Hold:
        values = json.loads(text)
        return cls(
            last_seen=_instant(values["last_seen"]),
            clock=_instant(values["clock"]),
            reason=str(values.get("reason", "")),
            owner=str(values.get("owner", "")),
        )


def last_seen(session: Session) -> datetime | None:
    """When the periodic jobs last ran, or None on a database that never ran them."""
    row = session.get(Setting, LAST_SEEN_KEY)
    return None if row is None else _instant(row.value)


def set_last_seen(session: Session, when: datetime) -> None:
    """Record `when` as the last-seen time (in the caller's transaction)."""
    value = when.astimezone(UTC).isoformat()
    if not insert_ignore(session, Setting, {"key": LAST_SEEN_KEY, "value": value}, ["key"]):
        row = session.get(Setting, LAST_SEEN_KEY, populate_existing=True)
        assert row is not None
        row.value = value
        session.add(row)
    session.flush()


def hold(session: Session) -> Hold | None:
    """The hold on the periodic jobs, or None when they may run."""
    row = session.get(Setting, HOLD_KEY, populate_existing=True)
    return None if row is None else Hold.from_json(row.value)


def place_hold(session: Session, held: Hold) -> bool:
    """Hold the periodic jobs; True when this call placed the hold (no other process had)."""
    return insert_ignore(session, Setting, {"key": HOLD_KEY, "value": held.as_json()}, ["key"])


def release_hold(session: Session, now: datetime) -> Hold | None:
    """Lift the hold and take `now` as the last-seen time; the hold that was lifted, if any."""
    held = hold(session)
    row = session.get(Setting, HOLD_KEY)
    if row is not None:
        session.delete(row)
    set_last_seen(session, now)
    return held


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
