"""`caredesk clock status|confirm`: the periodic jobs' view of time, and lifting a hold.

The daemon holds its periodic jobs (SLA ladder, monthly report and its reminder,
branch-recap deadlines) when the clock moved further than the `[periodic]`
bounds since they last ran (`daemon.app.clock_guard`). `status` shows the
clock, the last-seen time, the bounds, the hold and the recent holds and
confirmations. `confirm --reason TEXT` says the clock is right now: it lifts the
hold and takes the clock's reading as the last-seen time, recorded with who
and why. Run before starting a daemon that was stopped longer than the bound,
it keeps that start from being held.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from daemon import clock
from daemon.app.clock_guard import SUBJECT
from daemon.commands import UserError, configure, iso, open_engine, open_engine_for_writing, who
from daemon.config import Config
from daemon.periodic.clock_check import Bounds, duration, judge
from daemon.store import clock_state, db, operations
from daemon.store.models import OperationEvent
from daemon.store.vocabulary import Operation

CLOCK_ACTIONS = (Operation.CLOCK_HELD, Operation.CLOCK_CONFIRMED)
RECENT = 10
"""How many holds and confirmations `status` lists."""


def cmd_status(args: argparse.Namespace) -> int:
    config = configure(args)
    now = clock.now()
    with open_engine(config) as engine, db.session(engine) as session:
        last = clock_state.last_seen(session)
        held = clock_state.hold(session)
        events = operations.recorded(session, actions=CLOCK_ACTIONS, subject_prefix=SUBJECT, limit=RECENT)
    bounds = Bounds.from_config(config.periodic)
    jump = judge(last, now, bounds)
    if args.json:
        document = {
            "now": iso(now),
            "last_seen": iso(last),
            "max_clock_forward_hours": config.periodic.max_clock_forward_hours,
            "max_clock_backward_minutes": config.periodic.max_clock_backward_minutes,
            "held": held is not None,
            "hold": _hold_json(held),
            "would_hold": jump.describe() if jump is not None and held is None else None,
            "events": [_event_json(event) for event in events],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    zone = ZoneInfo(config.timezone)
    ran = _local(last, zone) if last else "never (no check until the periodic jobs first run)"
    print(f"clock now: {_local(now, zone)}")
    print(f"last run:  {ran}")
    print(f"bounds:    {_bounds_text(config)}")
    if held is not None:
        print(f"HELD since {_local(held.clock, zone)} (noticed by {held.owner}): {held.reason}")
        print('  if the clock is right now: caredesk clock confirm --reason "..."')
    elif jump is not None:
        print(f"not held, but the next periodic run will be: {jump.describe()}")
    else:
        print("not held: the periodic jobs run")
    for event in events:
        print(f"  {_local(event.at, zone)}  {event.action:<16} {event.actor}: {event.reason}")
    return 0


def cmd_confirm(args: argparse.Namespace) -> int:
    reason = args.reason.strip()
    if not reason:
        raise UserError("--reason must say why the clock is right")
    config = configure(args)
    now, actor = clock.now(), who()
    with open_engine_for_writing(config) as engine, db.session(engine) as session:
        last = clock_state.last_seen(session)
        lifted = clock_state.release_hold(session, now)
        operations.record(
            session,
            OperationEvent(
                at=now,
                action=Operation.CLOCK_CONFIRMED,
                subject=SUBJECT,
                actor=actor,
                reason=reason,
                data={"clock": now.isoformat(), "last_seen": iso(last), "lifted": _hold_json(lifted)},
            ),
        )
        session.commit()
    zone = ZoneInfo(config.timezone)
    if lifted is not None:
        print(f"hold lifted: {lifted.reason}")
        print(f"the periodic jobs run again from the clock's reading now, {_local(now, zone)}")
    else:
        print("the periodic jobs were not held")
        print(f"last-seen time set to the clock's reading now, {_local(now, zone)}")
    print(f"recorded: confirmed by {actor}: {reason}")
    return 0


def _bounds_text(config: Config) -> str:
    forward, backward = config.periodic.max_clock_forward_hours, config.periodic.max_clock_backward_minutes
    ahead = f"{forward} hours ahead" if forward else "no limit ahead"
    behind = f"{backward} minutes behind" if backward else "no limit behind"
    return f"{ahead}, {behind} ([periodic] max_clock_forward_hours, max_clock_backward_minutes)"


def _local(when: datetime, zone: ZoneInfo) -> str:
    return f"{when.astimezone(zone):%Y-%m-%d %H:%M:%S %Z}"


def _hold_json(held: clock_state.Hold | None) -> dict[str, Any] | None:
    if held is None:
        return None
    return {
        "last_seen": iso(held.last_seen),
        "clock": iso(held.clock),
        "step": duration(held.clock - held.last_seen),
        "reason": held.reason,
        "owner": held.owner,
    }


def _event_json(event: OperationEvent) -> dict[str, Any]:
    return {"at": iso(event.at), "action": event.action, "actor": event.actor, "reason": event.reason}
