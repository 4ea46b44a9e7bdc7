"""The arguments of `caredesk web` (the command: `daemon.commands.web`)."""

from __future__ import annotations

from typing import Any

from daemon.commands.parsers import Lazy

ROLES = ("care", "admin", "department", "gm")
"""The roles of `daemon.web.accounts.ROLES`, copied so `--help` imports nothing (a test compares them)."""


def register(commands: Any) -> None:
    web = commands.add_parser(
        "web",
        help="the read-only web view: serve it, or manage its accounts",
        description="Without a sub-command: serve the web view (read-only; work is still done by mail).",
    )
    web.add_argument(
        "--listen", metavar="HOST:PORT", help="where to listen (default: [web] listen, else 127.0.0.1:8080)"
    )
    web.set_defaults(handler=Lazy("web", "cmd_web_serve"))
    accounts = web.add_subparsers(title="accounts")

    add = accounts.add_parser("adduser", help="add an account, or change its role or password")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--department", default="", help="role department: the department of rules.yaml")
    add.add_argument("--general-manager", default="", metavar="ADDRESS", help="role gm: the GM's address")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input (no prompt)"
    )
    add.set_defaults(handler=Lazy("web", "cmd_web_adduser"))

    token = accounts.add_parser("token", help="give an account a new API token (printed once)")
    token.add_argument("name")
    token.set_defaults(handler=Lazy("web", "cmd_web_token"))

    remove = accounts.add_parser("deluser", help="remove an account")
    remove.add_argument("name")
    remove.set_defaults(handler=Lazy("web", "cmd_web_deluser"))

    listing = accounts.add_parser("users", help="list the accounts (names and roles; never hashes)")
    listing.set_defaults(handler=Lazy("web", "cmd_web_users"))
