"""`caredesk health [--json]`: is the daemon working? Exit 0 healthy, 1 degraded, 2 down.

Made for a monitoring check (the exit codes are Nagios's OK, WARNING and
CRITICAL) and for a person: read-only, safe beside a running daemon, and an
unreachable or missing database is a report ("down", exit 2), not an error.
What each state means is in `daemon.app.health` and docs/operations.md.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from daemon import clock
from daemon.app import health, health_facts
from daemon.commands import configure


def cmd_health(args: argparse.Namespace) -> int:
    config = configure(args)
    thresholds = health.Thresholds.for_poll_interval(max(box.poll_interval for box in config.every_mailbox))
    facts = health_facts.gather(config, clock.now(), thresholds)
    report = health.evaluate(replace(facts, redirect_to=config.smtp.redirect_to), thresholds)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(f"caredesk: {report.status.label}")
        width = max(len(section.name) for section in report.sections)
        for section in report.sections:
            state = "n/a" if section.label else section.status.label
            print(f"  {section.name:<{width}}  {state:<8}  {section.summary}")
    return int(report.status)
