"""The refresh token at rest: encrypted with a key derived from the signing secret.

The key is HKDF-SHA256 over the signing key (`secret`, or the one kept in the
database), used by Fernet (AES-128-CBC with HMAC-SHA256). The token is kept in
the database (`setting` row `oauth2-refresh-token`) or, with `[oauth2] token_file`,
in a 0600 file. A grant the provider refused is remembered by its fingerprint
(`oauth2-revoked`), so a restarted daemon does not ask again until a new login
replaced it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine

from daemon import private
from daemon.store import db
from daemon.store.models import Setting

TOKEN_SETTING = "oauth2-refresh-token"
REVOKED_SETTING = "oauth2-revoked"


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


def fernet_key(signing_key: bytes) -> bytes:
    """The Fernet key derived from the signing key (HKDF-SHA256, its own `info`)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"caredesk oauth2 refresh token")
    return base64.urlsafe_b64encode(derived.derive(signing_key))


class TokenVault:
    """Loads and saves the one grant, encrypted; `token_file` None keeps it in the database."""

    def __init__(self, engine: Engine, signing_key: bytes, token_file: Path | None = None) -> None:
        self.engine = engine
        self.fernet = Fernet(fernet_key(signing_key))
        self.token_file = token_file

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

    def save(self, grant: Grant) -> None:
        """Store `grant` (a login, or a refresh token the provider rotated)."""
        payload = {"refresh_token": grant.refresh_token, "saved_at": grant.saved_at, "account": grant.account}
        sealed = self.fernet.encrypt(json.dumps(payload).encode("utf-8")).decode("ascii")
        if self.token_file is not None:
            private.private_directory(self.token_file.parent)
            temporary = self.token_file.with_name(f".{self.token_file.name}.tmp")
            with os.fdopen(private.open_private(temporary), "w", encoding="ascii") as handle:
                handle.write(sealed + "\n")
            os.replace(temporary, self.token_file)
        else:
            self._put(TOKEN_SETTING, sealed)

    def revoked(self) -> str:
        """The fingerprint of the grant the provider refused, '' when none was."""
        with db.session(self.engine) as session:
            row = session.get(Setting, REVOKED_SETTING)
            return row.value if row is not None else ""

    def mark_revoked(self, fingerprint: str) -> None:
        self._put(REVOKED_SETTING, fingerprint)

    def _read(self) -> str | None:
        if self.token_file is not None:
            try:
                return self.token_file.read_text(encoding="ascii").strip() or None
            except FileNotFoundError:
                return None
            except (OSError, UnicodeDecodeError) as error:
                raise VaultError(f"cannot read {self.token_file}: {error}") from None
        with db.session(self.engine) as session:
            row = session.get(Setting, TOKEN_SETTING)
            return row.value if row is not None else None

    def _put(self, key: str, value: str) -> None:
        with db.session(self.engine) as session:
            row = session.get(Setting, key)
            if row is None:
                session.add(Setting(key=key, value=value))
            else:
                row.value = value
            session.commit()
