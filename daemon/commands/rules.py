"""`caredesk rules check|test|replay`: validate rules, try them on mail, replay them over past tickets.

None of these commands writes anything: `check` holds a valid file to the open
tickets of the configured database, read-only (`daemon.commands.rules_tickets`);
`test` reads .eml files (and, with `--history`, the database read-only); `replay` reads past tickets through a
read-only database connection.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from daemon import clock
from daemon.classify.kinds import Kind, classify
from daemon.commands import UserError, open_engine
from daemon.commands.replay import (
    FIELDS,
    Change,
    ReplayReport,
    past_complaints,
    replay,
    sender_history,
)
from daemon.commands.rules_tickets import TicketsVerdict, check_against_tickets
from daemon.config import Config, ConfigError, load_config
from daemon.parse.message import InboundMail
from daemon.parse.parser import parse
from daemon.route.decision import BY_DEFAULT, BY_DETECTION, BY_PRODUCT, Decision, RouteContext
from daemon.route.loader import check_rules
from daemon.route.router import route
from daemon.route.rules import Rules, format_problem
from daemon.store import db


def _read_rules(path: Path, own_addresses: tuple[str, ...]) -> tuple[Rules | None, list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise UserError(f"cannot read {path}: {reason}") from None
    rules, problems = check_rules(text, str(path), own_addresses)
    return rules, [format_problem(problem) for problem in problems]


def _usable_rules(path: Path, config: Config) -> Rules:
    """The rules at `path`; problems go to stderr, and an invalid file ends the command."""
    rules, messages = _read_rules(path, config.own_addresses)
    for message in messages:
        print(message, file=sys.stderr)
    if rules is None:
        raise UserError(f"{path}: the rules are invalid (see `caredesk rules check {path}`)")
    return rules


# ---------------------------------------------------------------------------
# rules check
# ---------------------------------------------------------------------------


def cmd_rules_check(args: argparse.Namespace) -> int:
    config: Config | None
    if args.path:
        # A candidate file can be checked where no configuration is at hand; with one,
        # it is also held to the mailbox address (no rule may send mail there) and
        # to the open tickets of its database.
        try:
            config = load_config(args.config)
        except ConfigError as error:
            config, unconfigured = None, str(error)
        path = Path(args.path)
    else:
        config = load_config(args.config)
        path = config.rules
    rules, messages = _read_rules(path, config.own_addresses if config is not None else ())
    for message in messages:
        print(message)
    if rules is None:
        return 1
    if config is None:
        verdict = TicketsVerdict(notes=[f"open tickets: not checked, no configuration ({unconfigured})"])
    else:
        verdict = check_against_tickets(config, rules)
    for problem in verdict.problems:
        print(format_problem(problem))
    summary = f"{len(rules.rules)} rules, {len(rules.departments)} departments, version {rules.version}"
    if verdict.failure:
        print(f"{path}: the file is valid, {summary}")
        print(f"caredesk: {verdict.failure}", file=sys.stderr)
    elif not verdict.problems:
        print(f"{path}: ok, {summary}")
    for note in verdict.notes:
        print(note)
    return verdict.code


# ---------------------------------------------------------------------------
# rules test
# ---------------------------------------------------------------------------


class _History:
    """The sender's earlier complaints: none assumed, or read from the database (read-only)."""

    def __init__(self, config: Config, enabled: bool) -> None:
        self.engine: Engine | None = None
        self.note = "none assumed (no database read; --history reads it)"
        if enabled:
            # Read-only, and only a database at this version's schema: a missing or
            # outdated one is said in one line (DatabaseNotReady), not guessed around.
            self.engine = db.open_read_only(config.database_url)
            self.note = "from the database, as if the mail arrived now"

    def context(self, mail: InboundMail) -> tuple[RouteContext, int | None, str]:
        """How to route `mail`, how many earlier complaints that counts, and a note saying how."""
        if self.engine is None:
            return RouteContext(), None, self.note
        with Session(self.engine) as session:
            found = sender_history(session, mail.from_address, mail.message_id, clock.now())
        count = len(found.context.prior_complaints)
        if found.ticket_reference is not None:
            return found.context, count, f"from the database, as when this mail made {found.ticket_reference}"
        return found.context, count, self.note

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def _db_error(error: SQLAlchemyError) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


def cmd_rules_test(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    rules_path = Path(args.rules) if args.rules else config.rules
    rules = _usable_rules(rules_path, config)
    history = _History(config, args.history)
    run = _TestRun(rules, config, history, args.verbose)
    results: list[dict[str, Any]] = []
    failed = False
    try:
        for name in args.files:
            try:
                raw = Path(name).read_bytes()
            except OSError as error:
                print(f"caredesk: cannot read {name}: {error.strerror}", file=sys.stderr)
                failed = True
                continue
            results.append(_test_one(run, name, raw))
    except SQLAlchemyError as error:
        raise UserError(f"cannot read the database: {_db_error(error)}") from None
    finally:
        history.close()
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for number, result in enumerate(results):
            if number:
                print()
            print("\n".join(_test_lines(result, rules_path)))
    return 1 if failed else 0


@dataclass(frozen=True, slots=True)
class _TestRun:
    """What one `rules test` routes every mail with, and how much it says."""

    rules: Rules
    config: Config
    history: _History
    verbose: bool
    """Also trace the rules that did not match."""


def _test_one(run: _TestRun, name: str, raw: bytes) -> dict[str, Any]:
    """How the rules route one mail, as the JSON object `rules test --json` prints."""
    rules, own_addresses = run.rules, run.config.own_addresses
    mail = parse(raw, own_addresses=own_addresses)
    context, prior, history_note = run.history.context(mail)
    decision = route(mail, rules, context, trace=run.verbose)
    kind = classify(mail, own_addresses=own_addresses, thread_ticket_id=None)
    result: dict[str, Any] = {
        "file": name,
        "message_id": mail.message_id,
        "from": mail.from_address,
        "to": list(mail.recipients),
        "subject": mail.subject,
        "language": mail.language,
        "kind": kind.kind.value,
        "kind_reason": kind.reason,
        "prior_complaints": prior,
        "history": history_note,
        **decision.as_dict(),
        "why": {
            part: _why(decision, part, rules)
            for part in ("department", "product", "category", "severity", "escalate", "sla")
        },
        "tag_rules": _tag_rules(decision, rules),
    }
    if run.verbose:
        result["misses"] = [
            {"rule": miss.rule, "description": miss.description, "reasons": list(miss.reasons)}
            for miss in decision.misses
        ]
    return result


def _why(decision: Decision, part: str, rules: Rules) -> str:
    """Which rule decided `part`, with the conditions that matched; or which fallback did."""
    by = decision.decided_by.get(part)
    if by is None:
        return ""
    if by == BY_DEFAULT:
        return "default route" if part == "department" else "the default in the rules file"
    if by == BY_DETECTION:
        detected = [note for note in decision.notes if "detected by" in note]
        return detected[0] if detected else "detected from the mail's words"
    if by == BY_PRODUCT:
        return f"the department that owns product {decision.product}"
    matched = next((hit.matched for hit in decision.hits if hit.rule == by), ())
    why = f'rule "{by}": ' + "; ".join(matched)
    if part == "escalate" and not any(rule.then.escalate for rule in rules.rules if rule.name == by):
        # The rule made the complaint major; escalation follows from that.
        return f'because it is major (rule "{by}"): major complaints always go to the general manager'
    return why


def _tag_rules(decision: Decision, rules: Rules) -> dict[str, str]:
    """Each tag, and the first matching rule that gave it."""
    by_name = {rule.name: rule for rule in rules.rules}
    found: dict[str, str] = {}
    for hit in decision.hits:
        for tag in by_name[hit.rule].then.tags:
            found.setdefault(tag, hit.rule)
    return found


def _test_lines(result: dict[str, Any], rules_path: Path) -> list[str]:
    why = result["why"]

    def part(label: str, value: str, key: str) -> str:
        reason = why.get(key, "")
        return f"  {label + ':':<12}{value:<16}{'  ' + reason if reason else ''}".rstrip()

    escalation = "no"
    if result["escalate"]:
        escalation = "yes, to " + (", ".join(result["escalate_to"]) or "nobody (no general manager set)")
    tags = ", ".join(f'{tag} (rule "{rule}")' for tag, rule in result["tag_rules"].items()) or "-"
    lines = [
        result["file"],
        f"  {'mail:':<12}from {result['from'] or '-'} to {', '.join(result['to']) or '-'}",
        f"  {'':<12}subject {_quoted(result['subject'])}, language {result['language']}",
        part("department", result["department"], "department"),
        part("product", result["product"] or "-", "product"),
        part("category", result["category"] or "-", "category"),
        f"  organisation: {result['organisation'] or '-'}",
        part("severity", result["severity"], "severity"),
        f"  {'escalation:':<12}{escalation}",
    ]
    if result["escalate"] and why["escalate"]:
        lines.append(f"  {'':<12}{why['escalate']}")
    lines += [
        part("sla", result["sla_class"] or "-", "sla"),
        f"  {'tags:':<12}{tags}",
        f"  {'history:':<12}{_history_text(result)}",
        f"  {'rules:':<12}{rules_path} version {result['rules_version']}",
    ]
    if result["kind"] != Kind.COMPLAINT.value:
        lines.append(
            f"  note: the daemon would not route this mail: {result['kind']}: {result['kind_reason']}"
        )
    return lines + _rule_lines(result)


def _rule_lines(result: dict[str, Any]) -> list[str]:
    """The rules that matched, with why, then (with --verbose) those that did not."""
    lines = ["  matched rules:" if result["hits"] else "  matched rules: none"]
    for hit in result["hits"]:
        lines.append(f"    {hit['rule']}: {hit['description']}")
        lines.extend(f"      - {reason}" for reason in hit["matched"])
    if "misses" in result:
        lines.append(
            "  rules that did not match:" if result["misses"] else "  rules that did not match: none"
        )
        for miss in result["misses"]:
            lines.append(f"    {miss['rule']}: {miss['description']}")
            lines.extend(f"      - {reason}" for reason in miss["reasons"])
    return lines


def _quoted(text: str) -> str:
    # JSON quoting escapes control characters, so a hostile subject stays one line.
    return json.dumps(text, ensure_ascii=False)


def _history_text(result: dict[str, Any]) -> str:
    if result["prior_complaints"] is None:
        return str(result["history"])
    count = result["prior_complaints"]
    return f"{count} earlier complaint{'s' if count != 1 else ''} in a year ({result['history']})"


# ---------------------------------------------------------------------------
# rules replay
# ---------------------------------------------------------------------------


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option} wants a day as YYYY-MM-DD, not {value!r}") from None


def _period(args: argparse.Namespace, zone: ZoneInfo) -> tuple[datetime, datetime | None]:
    """[since, until) as aware datetimes: whole days in the configured time zone."""
    first = _day(args.since, "--since")
    since = datetime.combine(first, datetime.min.time(), zone)
    if args.until is None:
        return since, None
    last = _day(args.until, "--until")
    if last < first:
        raise UserError("--until is before --since")
    return since, datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)


def cmd_rules_replay(args: argparse.Namespace) -> int:
    if args.examples < 0:
        raise UserError("--examples must be 0 or more")
    config = load_config(args.config)
    since, until = _period(args, ZoneInfo(config.timezone))
    rules_path = Path(args.rules) if args.rules else config.rules
    rules = _usable_rules(rules_path, config)
    with open_engine(config) as engine:
        try:
            complaints = past_complaints(engine, since, until)
            report = replay(complaints, rules, own_addresses=config.own_addresses, examples=args.examples)
        except SQLAlchemyError as error:
            raise UserError(f"cannot read the database: {_db_error(error)}") from None
    period = {"since": args.since, "until": args.until, "timezone": config.timezone}
    if args.json:
        document = {"rules": str(rules_path), "rules_version": rules.version, **period, **report.as_dict()}
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    print("\n".join(_replay_lines(report, rules_path, rules.version, period)))
    return 0


_LABELS = {"department": "department", "product": "product", "severity": "severity", "escalate": "escalation"}


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value is not None else "-"


def _example(change: Change, width: int) -> str:
    line = f"    {change.reference:<{width}}  {_show(change.old)} -> {_show(change.new)}  ({change.why})"
    if change.by_hand is not None:
        agreement = ", as the new rules would" if change.agrees_with_hand else ""
        line += f"  [changed by hand to {_show(change.by_hand)} since{agreement}]"
    return line


def _replay_lines(report: ReplayReport, rules_path: Path, version: str, period: dict[str, Any]) -> list[str]:
    span = f"{period['since']} .. {period['until'] or 'today'} ({period['timezone']})"
    versions = ", ".join(f"{name} ({count})" for name, count in report.routed_by.most_common())
    lines = [
        f"replay of {rules_path} (version {version}) over tickets received {span}",
        f"  examined:     {_count(report.examined, 'ticket')}"
        + (f", routed by rules versions {versions}" if versions else ""),
    ]
    lines.extend(f"  skipped:      {count} ({reason})" for reason, count in sorted(report.skipped.items()))
    width = max((len(c.reference) for changes in report.examples.values() for c in changes), default=0)
    for name in FIELDS:
        count = report.changed[name]
        lines.append(f"  {_LABELS[name] + ':':<14}{count} would change")
        lines.extend(_example(change, width) for change in report.examples[name])
        if count > len(report.examples[name]):
            lines.append(f"    ... and {count - len(report.examples[name])} more")
    lines.append(f"  unchanged:    {report.unchanged}")
    if report.changed_by_hand:
        lines.append(
            f"  by hand:      {_count(report.changed_by_hand, 'ticket')} changed by hand after routing, "
            "compared with what the rules decided then"
        )
        if report.agree_with_hand:
            agreeing = _count(report.agree_with_hand, "proposed change")
            lines.append(f"{'':<16}{agreeing} the same as the hand change")
    lines.append("  nothing was changed (read-only)")
    return lines
