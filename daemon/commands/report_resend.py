"""`caredesk report monthly --resend --reason TEXT` and `--history`: a month's report mailed again, on record.

`--resend` makes the month's report again as of now and queues it through the
daemon's mailer to its usual recipients (Customer Care, each general manager
their part), or to those named with `--recipient`, then delivers at once. Each
mail says it replaces the earlier one and why; each resend is recorded with who
asked and why (`daemon.report.resend`), printed and logged. Refused while the
periodic jobs are held because the clock jumped (the report would be made by
the same clock), and for a month that is not over.

`--history` lists every sending of the month's report: the monthly job's and
each resend, with who and why.
"""

from __future__ import annotations

import argparse
import logging
from zoneinfo import ZoneInfo

from daemon.app.service import Daemon
from daemon.commands import UserError, open_engine, who
from daemon.config import Config
from daemon.report import resend
from daemon.report.mailing import ReportMail
from daemon.report.periods import Month
from daemon.route.rules import Rules
from daemon.store import clock_state, db
from daemon.store.models import OutboundMessage
from daemon.store.vocabulary import OutboundState

log = logging.getLogger("caredesk.report")


def run(args: argparse.Namespace, config: Config, rules: Rules, month: Month) -> int:
    if args.history and (args.resend or args.reason is not None or args.recipient):
        raise UserError("--history only shows: give it without --resend, --reason and --recipient")
    if args.history:
        return _history(config, month)
    if not args.resend:
        raise UserError("--reason and --recipient go with --resend")
    if args.out or args.department:
        raise UserError(
            "--resend mails the report to its usual recipients: leave out --out and --department "
            "(name recipients with --recipient)"
        )
    reason = (args.reason or "").strip()
    if not reason:
        raise UserError('--resend needs --reason "...": why the report goes out again (the mail says it too)')
    return _resend(config, rules, month, reason, tuple(args.recipient))


def _resend(config: Config, rules: Rules, month: Month, reason: str, only: tuple[str, ...]) -> int:
    actor = who()
    with Daemon(config) as daemon:
        with db.session(daemon.engine) as session:
            held = clock_state.hold(session)
        if held is not None:
            raise UserError(
                f"the periodic jobs are held because the clock jumped ({held.reason}); a report made "
                "now could be wrong too: fix the clock, or confirm it (caredesk clock confirm), first"
            )
        job = ReportMail(rules, daemon.mailer, daemon.clock(), config.timezone, config.name, reissue=reason)
        try:
            results = resend.resend_monthly(daemon.engine, job, month, actor=actor, only=only)
        except resend.ResendRefused as error:
            raise UserError(f"cannot resend the report of {month}: {error}") from None
        if any(result.state == OutboundState.PENDING for result in results):
            daemon.deliver()
        with db.session(daemon.engine) as session:
            for result in results:
                row = session.get(OutboundMessage, result.outbound_id) if result.outbound_id else None
                _tell(month, result, row.state if row is not None else result.state, actor, reason)
    print(f"recorded: by {actor}: {reason}  (caredesk report monthly --month {month} --history)")
    return 0


def _tell(month: Month, result: resend.Resent, state: str, actor: str, reason: str) -> None:
    """One recipient's resend, on standard output and in the log."""
    before = f"first sent {result.first_sent:%Y-%m-%d %H:%M} UTC" if result.first_sent else "not sent before"
    print(f"report {month} re-sent to {result.recipient}: outbox #{result.outbound_id} {state} ({before})")
    if result.error:
        print(f"  {result.error}")
    log.warning(
        "monthly report %s re-sent to %s by %s (outbox #%s, %s): %s",
        month,
        result.recipient,
        actor,
        result.outbound_id,
        state,
        reason,
    )


def _history(config: Config, month: Month) -> int:
    with open_engine(config) as engine:
        lines = resend.history(engine, month)
    if not lines:
        print(f"the report of {month} was not sent")
        return 0
    zone = ZoneInfo(config.timezone)
    for line in lines:
        when = f"{line.at.astimezone(zone):%Y-%m-%d %H:%M %Z}"
        if line.action == "sent":
            print(f"{when}  sent     {line.recipient}  (the monthly job)")
        else:
            mail = f"outbox #{line.outbound_id}"
            print(f"{when}  re-sent  {line.recipient}  by {line.actor}, {mail}: {line.reason}")
    return 0
