"""`caredesk auth login|status`: the OAuth2 grant of `auth = "oauth2"`.

`login` runs the one-time login an admin does for the shared mailbox: the
device authorization grant (RFC 8628, `daemon.oauth.device`) by default, or
with `--browser` the loopback redirect with PKCE (`daemon.oauth.loopback`),
which Google needs for the Gmail scope. The refresh token it gets is stored
encrypted by the vault (`daemon.oauth.vault`), in the database or in
`[oauth2] token_file`; a running daemon takes it at its next poll, and a
mailbox paused on a refused grant is polled again. `status` shows what is
stored, without decrypting it: the grant, the access token's expiry and the
last refresh error.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from daemon import clock
from daemon.app.oauth_gate import grant_slot, grant_users
from daemon.commands import UserError, configure, open_engine, open_engine_for_writing
from daemon.config import Config, imap_login
from daemon.oauth import device, loopback
from daemon.oauth.vault import Grant, SlotState, TokenVault, read_state
from daemon.outbox import signing
from daemon.store import db


def cmd_login(args: argparse.Namespace) -> int:
    config = configure(args)
    _require_oauth2(config)
    slot, account, users = _target(config, args.mailbox, args.smtp)
    with open_engine_for_writing(config) as engine:
        # The database and the key first: a login that cannot be stored is not started.
        vault = TokenVault(engine, signing.load_key(engine, config.secret), config.oauth2.token_file, slot)
        try:
            token = _browser(config, args) if args.browser else _device(config)
        except device.LoginFailed as error:
            raise UserError(str(error)) from None
        refresh = token.get("refresh_token")
        if not refresh:
            raise UserError(
                "the provider gave no refresh token: the scope must include offline_access (Microsoft), "
                "or the Google client must be a desktop app"
            )
        grant = Grant(str(refresh), clock.now().isoformat(), account)
        vault.save(grant, login=True)
    where = str(vault.token_file) if vault.token_file is not None else "the database"
    print(f"stored OAuth2 grant {grant.fingerprint} for {account or 'the account'} in {where}, encrypted.")
    print(f"used by: {', '.join(users) or 'nothing yet'}; a running daemon takes it at its next poll.")
    if not users:
        print('note: no mailbox (nor [smtp]) says auth = "oauth2" yet: set it to use this grant.')
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    config = configure(args)
    _require_oauth2(config)
    slots = _slots(config)
    with open_engine(config) as engine, db.session(engine) as session:
        states = {slot: read_state(session, config.oauth2.token_file, slot) for slot in slots}
    settings = config.oauth2
    if args.json:
        document = {
            "provider": settings.provider,
            "client_id": settings.client_id,
            "mechanism": settings.mechanism,
            "token_file": str(settings.token_file) if settings.token_file else None,
            "grants": [_state_json(slot, users, states[slot]) for slot, users in slots.items()],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    kept = str(settings.token_file) if settings.token_file else "the database"
    print(f"OAuth2: provider {settings.provider}, client {settings.client_id}, {settings.mechanism.upper()}")
    print(f"refresh tokens kept encrypted in {kept}")
    for slot, users in slots.items():
        print(f"grant for {', '.join(users) or 'nothing'}:")
        for line in _state_lines(states[slot]):
            print(f"  {line}")
    return 0


def _require_oauth2(config: Config) -> None:
    if not config.oauth2.configured:
        raise UserError(
            'no [oauth2] section: set provider = "microsoft", "google" or "custom" and client_id '
            "(docs/operations.md, Microsoft 365 and Google Workspace)"
        )


def _target(config: Config, mailbox: str | None, smtp: bool) -> tuple[str, str, list[str]]:
    """The vault slot to log in, the account to show, and what uses that grant."""
    boxes = {box.name: box for box in config.every_mailbox}
    if mailbox is not None and mailbox not in boxes:
        raise UserError(f"no mailbox is named {mailbox!r}: the mailboxes are {', '.join(boxes)}")
    slot = grant_slot(config, mailbox)
    if smtp and slot:
        raise UserError(
            f"SMTP shares the grant of the first mailbox ({config.every_mailbox[0].name}), "
            f"not of {mailbox!r}: leave out --mailbox or --smtp"
        )
    users = _slots(config).get(slot, [])
    box = boxes[mailbox] if mailbox is not None else config.every_mailbox[0]
    if smtp or box.scheme == "maildir":
        account = config.smtp.username or imap_login(config.smtp.url)[0]
    else:
        account = imap_login(box.url)[0]
    return slot, account, users


def _slots(config: Config) -> dict[str, list[str]]:
    """Each vault slot in use, with what logs in with it; the first mailbox's always."""
    return {"": []} | grant_users(config)


def _device(config: Config) -> dict[str, Any]:
    code = device.request_code(config.oauth2)
    if code.message:
        print(code.message, flush=True)
    else:
        print(f"To sign in, open {code.verification_uri} and enter the code {code.user_code}", flush=True)
    if code.verification_uri_complete:
        print(f"(or open {code.verification_uri_complete})", flush=True)
    minutes = max(1, round(code.expires_in / 60))
    print(f"user code: {code.user_code}", flush=True)
    print(f"waiting for the sign-in (the code expires in {minutes} min; Ctrl-C stops) ...", flush=True)
    return device.poll(config.oauth2, code)


def _browser(config: Config, args: argparse.Namespace) -> dict[str, Any]:
    def announce(url: str) -> None:
        print("Open this address in a browser on this machine (or forward the port with ssh -L):", flush=True)
        print(url, flush=True)
        print("waiting for the browser to come back ...", flush=True)

    return loopback.login(config.oauth2, announce, port=args.port)


def _state_lines(state: SlotState) -> list[str]:
    status = state.status
    if not state.stored:
        return ["no refresh token stored: run `caredesk auth login`"]
    lines = [f"grant {status.grant or '?'} stored {status.saved_at or '?'} for {status.account or '?'}"]
    if state.paused:
        lines.append("PAUSED: the provider refused this grant; run `caredesk auth login`")
    elif status.expires_at:
        lines.append(f"access token valid until {status.expires_at} (got {status.refreshed_at})")
    else:
        lines.append("no access token yet: the daemon gets one at its next poll")
    if status.error:
        lines.append(f"last refresh error ({status.error_at}): {status.error}")
    return lines


def _state_json(slot: str, users: list[str], state: SlotState) -> dict[str, Any]:
    status = state.status
    return {
        "slot": slot or None,
        "used_by": users,
        "stored": state.stored,
        "paused": state.paused,
        "grant": status.grant or None,
        "saved_at": status.saved_at or None,
        "account": status.account or None,
        "access_token_expires_at": status.expires_at or None,
        "refreshed_at": status.refreshed_at or None,
        "last_error": status.error or None,
        "last_error_at": status.error_at or None,
    }
