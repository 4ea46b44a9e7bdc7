"""Signed tokens: return paths (VERP) and, later, per-ticket reply addresses.

A token is an HMAC-SHA256 over a purpose and a value, cut to a short lower-case
base32 string (lower case because some mail systems change the case of the local
part). The key comes from the `secret`/`secret_file` setting, or, on the embedded
default, is generated once and kept in the database so it survives restarts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from sqlalchemy import Engine

from daemon.store import db
from daemon.store.models import Setting
from daemon.store.queries import insert_ignore

KEY_SETTING = "signing-key"


def load_key(engine: Engine, configured: str) -> bytes:
    """The signing key: the configured secret, else the one kept in the database."""
    if configured:
        return configured.encode("utf-8")
    with db.session(engine) as session:
        # Several daemons starting at once agree: the first insert wins.
        insert_ignore(session, Setting, {"key": KEY_SETTING, "value": secrets.token_hex(32)}, ["key"])
        session.commit()
        stored = session.get(Setting, KEY_SETTING)
        assert stored is not None
        return stored.value.encode("utf-8")


def sign(key: bytes, purpose: str, value: str, length: int = 16) -> str:
    digest = hmac.new(key, f"{purpose}|{value}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:length]


def verify(key: bytes, purpose: str, value: str, token: str, length: int = 16) -> bool:
    return hmac.compare_digest(sign(key, purpose, value, length), token.lower())


_VERP = re.compile(r"^(?P<local>[^@+]+)\+b\.(?P<id>\d{1,18})\.(?P<sig>[a-z2-7]{10})@(?P<domain>.+)$", re.I)


def return_path(key: bytes, address: str, outbound_id: int) -> str:
    """`care+b.<id>.<sig>@domain`: a bounce to it names exactly one outgoing mail."""
    local, _, domain = address.partition("@")
    return f"{local}+b.{outbound_id}.{sign(key, 'verp', str(outbound_id), 10)}@{domain}"


def outbound_from_return_path(key: bytes, address: str, candidate: str) -> int | None:
    """The outgoing mail a bounce address names, if we signed it for our address."""
    match = _VERP.match(candidate.strip().lower())
    if match is None:
        return None
    local, _, domain = address.lower().partition("@")
    if match["local"] != local or match["domain"] != domain:
        return None
    if not verify(key, "verp", match["id"], match["sig"], 10):
        return None
    return int(match["id"])


_REPLY = re.compile(
    r"^(?P<local>[^@+]+)\+t\.(?P<ref>[a-z0-9-]{1,40})\.(?P<sig>[a-z2-7]{12})@(?P<domain>.+)$", re.I
)


def reply_address(key: bytes, address: str, reference: str) -> str:
    """`care+t.cc-2026-000001.<sig>@domain`: a reply to it names its ticket, unforgeably."""
    local, _, domain = address.partition("@")
    ref = reference.lower()
    return f"{local}+t.{ref}.{sign(key, 'reply', ref, 12)}@{domain}"


def reference_from_reply_address(key: bytes, address: str, candidate: str) -> str | None:
    """The ticket reference a signed reply address names, if we signed it for our address."""
    match = _REPLY.match(candidate.strip().strip("<>").lower())
    if match is None:
        return None
    local, _, domain = address.lower().partition("@")
    if match["local"] != local or match["domain"] != domain:
        return None
    if not verify(key, "reply", match["ref"], match["sig"], 12):
        return None
    return match["ref"].upper()
