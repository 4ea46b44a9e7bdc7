"""The arguments of `caredesk auth login|status` (the commands: `daemon.commands.auth`)."""

from __future__ import annotations

from typing import Any

from daemon.commands.parsers import Lazy


def register(commands: Any) -> None:
    group = commands.add_parser("auth", help='the OAuth2 login of auth = "oauth2" (Microsoft 365, Google)')
    verbs = group.add_subparsers(title="auth")
    login = verbs.add_parser(
        "login", help="log in once for the mailbox (device code, or --browser) and store the grant"
    )
    login.add_argument("--mailbox", metavar="NAME", help="the mailbox of several (default: the first)")
    login.add_argument(
        "--smtp", action="store_true", help="the grant is for [smtp] (shared with the first mailbox)"
    )
    login.add_argument(
        "--browser",
        action="store_true",
        help="log in in a browser, redirected to 127.0.0.1 (PKCE): what Google needs for Gmail",
    )
    login.add_argument(
        "--port",
        type=int,
        default=0,
        help="with --browser: the local port to listen on (default: any free one)",
    )
    login.set_defaults(handler=Lazy("auth", "cmd_login"))
    status = verbs.add_parser("status", help="the stored grant, the access token's expiry, the last error")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=Lazy("auth", "cmd_status"))
