"""`auth = "oauth2"` in the daemon: one token source, the paused mailbox and the admin's one alert.

When the provider refuses the refresh token (expired, revoked, the password or
the policy changed) no retry can help until an admin runs `caredesk auth login`.
So the mailbox is paused, not retried: one ERROR line per process, one mail to
`admin_address` per refused grant (claimed in `daemon.store.claims`, so a restart
or a second daemon does not send it again), and every later poll returns at once
with `mailbox_paused` until a new grant is stored. SMTP sending waits as an
outage meanwhile (`daemon.send.transports`).
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from daemon.app.health_token import GrantFacts
from daemon.config import Config
from daemon.config.oauth2 import AUTH_OAUTH2
from daemon.outbox.enqueue import Mailer, Outgoing
from daemon.store import claims, db
from daemon.store.vocabulary import OutboundKind

if TYPE_CHECKING:
    # authlib, requests and the vault's cryptography only for a grant in use: `Grants` loads
    # them (issue 17: memory).
    from daemon.oauth.tokens import TokenSource
    from daemon.oauth.vault import Grant

log = logging.getLogger("caredesk.oauth2")

JOB = "oauth2-revoked"
TEMPLATE = "oauth2_revoked.txt"
PAUSED = Counter({"mailbox_paused": 1})


def grant_slot(config: Config, mailbox: str | None = None) -> str:
    """The vault slot of mailbox `mailbox` (None: the first mailbox, and SMTP): '' or its name."""
    first = config.every_mailbox[0].name
    return "" if mailbox is None or mailbox == first else mailbox


class RevokedAlert:
    """Queues the one mail to `admin_address` about a refused grant."""

    def __init__(self, engine: Engine, mailer: Mailer, config: Config, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.mailer = mailer
        self.config = config
        self.clock = clock

    def __call__(self, grant: Grant, reason: str) -> None:
        admin = self.config.admin_address
        if not admin:
            log.warning("no admin_address configured: the refused OAuth2 grant is reported in this log only")
            return
        now = self.clock()
        zone = ZoneInfo(self.config.timezone)
        with db.session(self.engine) as session:
            if not claims.claim(session, JOB, grant.fingerprint, now=now):
                return
            context = {
                "instance": self.config.instance,
                "host": socket.gethostname(),
                "reason": reason,
                "grant": grant.fingerprint,
                "saved_at": grant.saved_at,
                "provider": self.config.oauth2.provider,
                "refused_at": f"{now.astimezone(zone):%d-%m-%Y %H:%M:%S %Z}",
            }
            mail = Outgoing(kind=OutboundKind.OPS_ALERT, recipient=admin, template=TEMPLATE, context=context)
            self.mailer.queue(session, mail)
            session.commit()
        log.info("refused OAuth2 grant %s reported to %s", grant.fingerprint, admin)


class OAuthGate:
    """Holds the mailbox while the stored grant is one the provider refused."""

    def __init__(self, tokens: TokenSource, alert: Callable[[Grant, str], None]) -> None:
        self.tokens = tokens
        tokens.on_revoked = alert
        self._said = False
        """The ERROR of this pause was logged (once per pause and process)."""

    def holds(self) -> bool:
        """True while the stored grant is the refused one: the mailbox waits for `caredesk auth login`."""
        revoked = self.tokens.paused_for()
        if revoked:
            from daemon.oauth.tokens import ReauthorizationNeeded  # loaded with `self.tokens`

            self.refused(
                ReauthorizationNeeded(
                    f"the OAuth2 grant {revoked} was refused by the provider: run `caredesk auth login`"
                )
            )
            return True
        if self._said and self.tokens.grant() is not None:
            log.info("OAuth2: a new grant is stored, the mailbox is polled again")
            self._said = False
        return False

    @property
    def refusals(self) -> tuple[type[Exception], ...]:
        """What a poll raises when the provider refused the grant (this gate's pause starts)."""
        from daemon.oauth.tokens import ReauthorizationNeeded  # loaded with `self.tokens`

        return (ReauthorizationNeeded,)

    def refused(self, error: Exception) -> Counter[str]:
        """The poll met `error`: one ERROR line for the whole pause, however many polls it lasts."""
        if not self._said:
            self._said = True
            log.error("mailbox paused: %s", error)
        return PAUSED


class Grants:
    """A daemon's token sources and gates: one per vault slot something logs in with.

    The first mailbox and SMTP share the slot '' (one account); each other mailbox
    with `auth = "oauth2"` has its own, so each pauses on its own refused grant.
    """

    def __init__(
        self,
        config: Config,
        engine: Engine,
        signing_key: bytes,
        clock: Callable[[], datetime],
        alert: Callable[[Grant, str], None],
    ) -> None:
        self.config = config
        self.sources: dict[str, TokenSource] = {}
        self.gates: dict[str, OAuthGate] = {}
        for slot in grant_users(config):
            # authlib, requests, cryptography only when something logs in with OAuth2 (issue 17).
            from daemon.oauth.tokens import TokenSource
            from daemon.oauth.vault import TokenVault

            vault = TokenVault(engine, signing_key, config.oauth2.token_file, slot)
            self.sources[slot] = TokenSource(config.oauth2, vault, clock)
            self.gates[slot] = OAuthGate(self.sources[slot], alert)

    def source(self, mailbox: str | None = None) -> TokenSource | None:
        """The tokens of `mailbox` (None: the first mailbox's, which SMTP shares)."""
        return self.sources.get(grant_slot(self.config, mailbox))

    def gate(self, mailbox: str | None = None) -> OAuthGate | None:
        return self.gates.get(grant_slot(self.config, mailbox))


def grant_users(config: Config) -> dict[str, list[str]]:
    """Each vault slot that something logs in with, and what: "mailbox <name>", "smtp"."""
    slots: dict[str, list[str]] = {}
    for box in config.every_mailbox:
        if box.auth == AUTH_OAUTH2:
            slots.setdefault(grant_slot(config, box.name), []).append(f"mailbox {box.name}")
    if config.smtp.auth == AUTH_OAUTH2:
        slots.setdefault("", []).append("smtp")
    return slots


def grant_facts(config: Config, session: Session) -> tuple[GrantFacts, ...]:
    """The grants `caredesk health` judges, read in `session` without decrypting them."""
    found = []
    for slot, users in grant_users(config).items():
        from daemon.oauth.vault import read_state  # cryptography only with a grant in use

        state = read_state(session, config.oauth2.token_file, slot)
        status = state.status
        found.append(
            GrantFacts(
                used_by=tuple(users),
                stored=state.stored,
                paused=state.paused,
                grant=status.grant,
                account=status.account,
                expires_at=status.expires_at,
                refreshed_at=status.refreshed_at,
                error=status.error,
                error_at=status.error_at,
            )
        )
    return tuple(found)
