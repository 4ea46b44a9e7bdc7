"""`caredesk web`: serve the read-only web view, and keep its accounts (`daemon.web`).

`caredesk web` serves on `--listen`, else `[web] listen`, else 127.0.0.1:8080,
reading the configured database without ever writing to it. `adduser` asks
for the password twice (or reads it from standard input) and stores only its
argon2 hash; `token` prints a new API token once and stores its SHA-256.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import replace

from daemon.commands import UserError, configure
from daemon.config.metrics import metrics_config
from daemon.config.schema import Config, ConfigError
from daemon.web.accounts import (
    Account,
    AccountsError,
    hash_password,
    load_accounts,
    new_token,
    save_accounts,
    token_digest,
)

DEFAULT_LISTEN = "127.0.0.1:8080"
MIN_PASSWORD = 10


def _accounts_path(config: Config) -> object:
    if config.web.accounts is None:
        raise UserError("no [web] accounts file is configured")
    return config.web.accounts


def _load(config: Config) -> dict[str, Account]:
    try:
        return load_accounts(config.web.accounts)
    except AccountsError as error:
        raise UserError(str(error)) from None


def _save(config: Config, accounts: dict[str, Account]) -> None:
    assert config.web.accounts is not None
    save_accounts(config.web.accounts, accounts)


def cmd_web_serve(args: argparse.Namespace) -> int:
    config = configure(args)
    listen = args.listen or config.web.listen or DEFAULT_LISTEN
    try:
        checked = metrics_config({"listen": listen}).listen
    except ConfigError as error:
        raise UserError(str(error).replace("metrics.listen", "--listen", 1)) from None
    from daemon.web.serve import serve

    return serve(config, checked)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise UserError("the two passwords differ; nothing changed")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters; nothing changed")
    return password


def cmd_web_adduser(args: argparse.Namespace) -> int:
    config = configure(args)
    _accounts_path(config)
    if args.role == "department" and not args.department:
        raise UserError("role department needs --department NAME (a department of rules.yaml)")
    if args.role == "gm" and not args.general_manager:
        raise UserError("role gm needs --general-manager ADDRESS (the GM's address in rules.yaml)")
    accounts = _load(config)
    known = accounts.get(args.name)
    account = Account(
        name=args.name,
        role=args.role,
        department=args.department if args.role == "department" else "",
        general_manager=args.general_manager if args.role == "gm" else "",
        password_hash=hash_password(_password(args)),
        token_hash=known.token_hash if known is not None else "",
    )
    accounts[args.name] = account
    _save(config, accounts)
    print(f"{'changed' if known else 'added'} {args.name} ({args.role}) in {config.web.accounts}")
    return 0


def cmd_web_token(args: argparse.Namespace) -> int:
    config = configure(args)
    accounts = _load(config)
    if args.name not in accounts:
        raise UserError(f"no account {args.name!r}; add it with caredesk web adduser")
    token = new_token()
    accounts[args.name] = replace(accounts[args.name], token_hash=token_digest(token))
    _save(config, accounts)
    print(token)
    print(f"the API token of {args.name}: shown once, only its hash is kept", file=sys.stderr)
    return 0


def cmd_web_deluser(args: argparse.Namespace) -> int:
    config = configure(args)
    accounts = _load(config)
    if accounts.pop(args.name, None) is None:
        raise UserError(f"no account {args.name!r}")
    _save(config, accounts)
    print(f"removed {args.name}")
    return 0


def cmd_web_users(args: argparse.Namespace) -> int:
    config = configure(args)
    for account in sorted(_load(config).values(), key=lambda a: a.name):
        scope = account.department or account.general_manager
        flags = ", ".join(
            flag for flag, on in (("password", account.password_hash), ("token", account.token_hash)) if on
        )
        print(f"{account.name}\t{account.role}\t{scope or '-'}\t{flags or '-'}")
    return 0
