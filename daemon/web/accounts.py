"""Who may look: the web view's accounts, their roles, and what each role may see.

Accounts live in a TOML file of their own (`[web] accounts`), written by
`caredesk web adduser` so the hand-edited configuration never gets rewritten:

    [account.ani]
    role = "care"                  # care | admin | department | gm
    department = ""                # role department: a department of rules.yaml
    general_manager = ""           # role gm: the GM's address in rules.yaml
    password = "$argon2id$v=19$…"  # argon2id hash; never the password itself
    token = "sha256:…"             # the API token's SHA-256; never the token itself

Customer care and admins see every complaint; a department member its
department's; a GM the departments whose `general_manager` is their address.
Only admins see the quarantine and failed outgoing mail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("care", "admin", "department", "gm")
_HASHER = PasswordHasher()
# Checked against when the name is unknown, so an unknown name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(8))


class AccountsError(Exception):
    """The accounts file cannot be used; the message names the file, the account and the problem."""


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: str
    department: str = ""
    general_manager: str = ""
    password_hash: str = ""
    token_hash: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class Scope:
    """The departments an account may see; None: all of them."""

    departments: frozenset[str] | None

    def allows(self, department: str) -> bool:
        return self.departments is None or department in self.departments


def scope_of(account: Account, general_managers: Mapping[str, str]) -> Scope:
    """What `account` may see, given each department's GM address (rules.yaml)."""
    if account.role in ("care", "admin"):
        return Scope(None)
    if account.role == "department":
        return Scope(frozenset({account.department}))
    gm = account.general_manager.strip().lower()
    return Scope(frozenset(name for name, address in general_managers.items() if address.lower() == gm))


def load_accounts(path: Path | None) -> dict[str, Account]:
    """The accounts in `path`, by name; {} when the file does not exist (nobody may log in)."""
    if path is None or not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise AccountsError(f"{path}: {error}") from None
    table = data.get("account", {})
    if not isinstance(table, dict):
        raise AccountsError(f"{path}: [account.NAME] tables expected")
    return {name: _account(path, name, fields) for name, fields in table.items()}


def _account(path: Path, name: str, fields: object) -> Account:
    if not isinstance(fields, dict):
        raise AccountsError(f"{path}: account {name!r} is not a table")
    role = str(fields.get("role", ""))
    if role not in ROLES:
        raise AccountsError(f"{path}: account {name!r}: role {role!r} is not one of {', '.join(ROLES)}")
    account = Account(
        name=name,
        role=role,
        department=str(fields.get("department", "")),
        general_manager=str(fields.get("general_manager", "")),
        password_hash=str(fields.get("password", "")),
        token_hash=str(fields.get("token", "")),
    )
    if role == "department" and not account.department:
        raise AccountsError(f"{path}: account {name!r}: role department needs `department`")
    if role == "gm" and not account.general_manager:
        raise AccountsError(f"{path}: account {name!r}: role gm needs `general_manager` (an address)")
    return account


def check_password(accounts: Mapping[str, Account], name: str, password: str) -> Account | None:
    """The account when `password` is its password; None otherwise, in the same time either way."""
    account = accounts.get(name)
    stored = account.password_hash if account is not None and account.password_hash else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return account if account is not None and account.password_hash else None


def token_digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_token(accounts: Iterable[Account], token: str) -> Account | None:
    """The account whose API token this is, or None."""
    digest = token_digest(token)
    found = None
    for account in accounts:
        if account.token_hash and hmac.compare_digest(account.token_hash, digest):
            found = account
    return found


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def save_accounts(path: Path, accounts: Mapping[str, Account]) -> None:
    """Write the accounts file (0600), replacing it whole: never half written."""
    lines = [
        "# caredesk web accounts: written by `caredesk web adduser`; hashes only, never passwords.",
        "",
    ]
    for account in sorted(accounts.values(), key=lambda a: a.name):
        lines.append(f"[account.{json.dumps(account.name)}]")
        for key, value in (
            ("role", account.role),
            ("department", account.department),
            ("general_manager", account.general_manager),
            ("password", account.password_hash),
            ("token", account.token_hash),
        ):
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write("\n".join(lines))
    os.replace(temporary, path)
