"""The refresh token at rest: encrypted with a key derived from the signing secret.

The key is HKDF-SHA256 over the signing key (`secret`, or the one kept in the
database), used by Fernet (AES-128-CBC with HMAC-SHA256). The token is kept in
the database (`setting` row `oauth2-refresh-token`) or, with `[oauth2] token_file`,
in a 0600 file. A grant the provider refused is remembered by its fingerprint
(`oauth2-revoked`), so a restarted daemon does not ask again until a new login
replaced it. What `caredesk auth status` and `caredesk health` show (which grant,
the access token's expiry, the last refresh error) is kept in the clear beside
it (`oauth2-status`): fingerprints and times, never a token.

A mailbox of several (`[[mailbox]]`) other than the first has its own grant, its
own `slot`: the keys and the file name get `:<name>` / `.<name>` appended. The
first mailbox and SMTP share the grant of the empty slot (one account, the
shared mailbox caredesk reads and sends as).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine
from sqlmodel import Session

from daemon import private
from daemon.store import db
from daemon.store.models import Setting

TOKEN_SETTING = "oauth2-refresh-token"
REVOKED_SETTING = "oauth2-revoked"
STATUS_SETTING = "oauth2-status"


class VaultError(Exception):
    """The stored token cannot be read (another secret, a damaged file)."""


@dataclass(frozen=True)
class Grant:
    """What `caredesk auth login` stored: the refresh token and when and for whom."""

    refresh_token: str
    saved_at: str
    account: str = ""

    @property
    def fingerprint(self) -> str:
        """Names this grant without revealing it (logs, the revoked marker, alert claims)."""
        return hashlib.sha256(self.refresh_token.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class TokenStatus:
    """The grant's state in the clear: no token, only its fingerprint and times (ISO 8601)."""

    grant: str = ""
    """The fingerprint of the stored grant ('' before the first login)."""
    saved_at: str = ""
    account: str = ""
    refreshed_at: str = ""
    """When an access token was last got."""
    expires_at: str = ""
    """When that access token expires."""
    error: str = ""
    """Why the last refresh failed ('' after a success or a new login)."""
    error_at: str = ""

    def encode(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def decode(cls, text: str | None) -> TokenStatus:
        try:
            values = json.loads(text) if text else {}
        except ValueError:
            values = {}
        known = {k: str(v) for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def slot_keys(slot: str) -> tuple[str, str, str]:
    """The `setting` keys of `slot`: the sealed token, the revoked marker, the status."""
    suffix = f":{slot}" if slot else ""
    return TOKEN_SETTING + suffix, REVOKED_SETTING + suffix, STATUS_SETTING + suffix


def slot_file(token_file: Path | None, slot: str) -> Path | None:
    if token_file is None or not slot:
        return token_file
    return token_file.with_name(f"{token_file.name}.{slot}")


def fernet_key(signing_key: bytes) -> bytes:
    """The Fernet key derived from the signing key (HKDF-SHA256, its own `info`)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"caredesk oauth2 refresh token")
    return base64.urlsafe_b64encode(derived.derive(signing_key))


class TokenVault:
    """Loads and saves the one grant, encrypted; `token_file` None keeps it in the database."""

    def __init__(
        self, engine: Engine, signing_key: bytes, token_file: Path | None = None, slot: str = ""
    ) -> None:
        self.engine = engine
        self.fernet = Fernet(fernet_key(signing_key))
        self.token_file = slot_file(token_file, slot)
        self.token_key, self.revoked_key, self.status_key = slot_keys(slot)

    def load(self) -> Grant | None:
        """The stored grant; None when nobody ran `caredesk auth login` yet."""
        sealed = self._read()
        if sealed is None:
            return None
        try:
            values = json.loads(self.fernet.decrypt(sealed.encode("ascii")))
        except (InvalidToken, ValueError) as error:
            raise VaultError(
                "the stored OAuth2 refresh token cannot be decrypted (was `secret` changed?); "
                "run `caredesk auth login` again"
            ) from error
        return Grant(values["refresh_token"], values.get("saved_at", ""), values.get("account", ""))

    def save(self, grant: Grant, *, login: bool = False) -> None:
        """Store `grant`: a refresh token the provider rotated, or (`login`) a new login's."""
        payload = {"refresh_token": grant.refresh_token, "saved_at": grant.saved_at, "account": grant.account}
        sealed = self.fernet.encrypt(json.dumps(payload).encode("utf-8")).decode("ascii")
        if self.token_file is not None:
            private.private_directory(self.token_file.parent)
            temporary = self.token_file.with_name(f".{self.token_file.name}.tmp")
            with os.fdopen(private.open_private(temporary), "w", encoding="ascii") as handle:
                handle.write(sealed + "\n")
            os.replace(temporary, self.token_file)
        else:
            self._put(self.token_key, sealed)
        # A new login starts a clean record; a rotation keeps the refresh times.
        previous = TokenStatus() if login else self.status()
        self.note(replace(previous, grant=grant.fingerprint, saved_at=grant.saved_at, account=grant.account))

    def status(self) -> TokenStatus:
        with db.session(self.engine) as session:
            row = session.get(Setting, self.status_key)
            return TokenStatus.decode(row.value if row is not None else None)

    def note(self, status: TokenStatus) -> None:
        """Record what `caredesk auth status` and `caredesk health` show."""
        self._put(self.status_key, status.encode())

    def revoked(self) -> str:
        """The fingerprint of the grant the provider refused, '' when none was."""
        with db.session(self.engine) as session:
            row = session.get(Setting, self.revoked_key)
            return row.value if row is not None else ""

    def mark_revoked(self, fingerprint: str) -> None:
        self._put(self.revoked_key, fingerprint)

    def _read(self) -> str | None:
        if self.token_file is not None:
            try:
                return self.token_file.read_text(encoding="ascii").strip() or None
            except FileNotFoundError:
                return None
            except (OSError, UnicodeDecodeError) as error:
                raise VaultError(f"cannot read {self.token_file}: {error}") from None
        with db.session(self.engine) as session:
            row = session.get(Setting, self.token_key)
            return row.value if row is not None else None

    def _put(self, key: str, value: str) -> None:
        with db.session(self.engine) as session:
            row = session.get(Setting, key)
            if row is None:
                session.add(Setting(key=key, value=value))
            else:
                row.value = value
            session.commit()


@dataclass(frozen=True)
class SlotState:
    """What the database says about a slot without decrypting anything (`caredesk health`)."""

    stored: bool
    revoked: str
    status: TokenStatus

    @property
    def paused(self) -> bool:
        """The stored grant is the one the provider refused: the mailbox waits for a login."""
        return self.stored and bool(self.revoked) and self.revoked == self.status.grant


def read_state(session: Session, token_file: Path | None, slot: str = "") -> SlotState:
    """The slot's state, read in `session` (a read-only one will do)."""
    token_key, revoked_key, status_key = slot_keys(slot)
    path = slot_file(token_file, slot)

    def value(key: str) -> str | None:
        row = session.get(Setting, key)
        return row.value if row is not None else None

    stored = path.is_file() if path is not None else value(token_key) is not None
    return SlotState(stored, value(revoked_key) or "", TokenStatus.decode(value(status_key)))
