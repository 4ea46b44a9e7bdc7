"""The arguments of `caredesk rules check|test|replay` (the commands: `daemon.commands.rules`)."""

from __future__ import annotations

from typing import Any

from daemon.commands.parsers import Lazy


def register(commands: Any) -> None:
    rules = commands.add_parser("rules", help="routing rules").add_subparsers(title="rules")
    check = rules.add_parser("check", help="validate a rules file")
    check.add_argument("path", nargs="?")
    check.set_defaults(handler=Lazy("rules", "cmd_rules_check"))

    test = rules.add_parser("test", help="dry run: how the rules route some mails, and why")
    test.add_argument("files", nargs="+", metavar="FILE.eml")
    test.add_argument("--rules", metavar="PATH", help="a rules file (default: the configured one)")
    test.add_argument("--verbose", "-v", action="store_true", help="also list the rules that did not match")
    test.add_argument("--json", action="store_true", help="print a JSON array, one object per mail")
    test.add_argument(
        "--history",
        action="store_true",
        help="count the sender's earlier complaints in the configured database (read-only)",
    )
    test.set_defaults(handler=Lazy("rules", "cmd_rules_test"))

    replay_parser = rules.add_parser("replay", help="what candidate rules would change on past tickets")
    replay_parser.add_argument("--since", required=True, metavar="YYYY-MM-DD", help="first day received")
    replay_parser.add_argument("--until", metavar="YYYY-MM-DD", help="last day received (default: today)")
    replay_parser.add_argument("--rules", metavar="PATH", help="candidate rules (default: the configured)")
    replay_parser.add_argument("--examples", type=int, default=5, metavar="N", help="examples per change")
    replay_parser.add_argument("--json", action="store_true")
    replay_parser.set_defaults(handler=Lazy("rules", "cmd_rules_replay"))
