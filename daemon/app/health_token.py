"""The `token_expiry` section of `caredesk health`: the OAuth2 grants of `auth = "oauth2"` (pure).

Down when a grant the daemon needs is missing or the provider refused it (the
mailbox is paused until `caredesk auth login`); degraded when the last refresh
failed for another reason (the token endpoint unreachable: the daemon retries);
healthy otherwise. Not applicable when nothing logs in with OAuth2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HEALTHY, DEGRADED, DOWN = 0, 1, 2
TOKEN_NOTE = "no OAuth2: the mailbox and SMTP log in with a password (or none), so no token can expire"


@dataclass(frozen=True, slots=True)
class GrantFacts:
    """One stored grant as the database has it (nothing decrypted)."""

    used_by: tuple[str, ...]
    """What logs in with it: "mailbox default", "smtp"."""
    stored: bool
    paused: bool
    """The provider refused the stored grant: the mailbox waits for `caredesk auth login`."""
    grant: str = ""
    account: str = ""
    expires_at: str = ""
    refreshed_at: str = ""
    error: str = ""
    error_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "used_by": list(self.used_by),
            "stored": self.stored,
            "paused": self.paused,
            "grant": self.grant or None,
            "account": self.account or None,
            "access_token_expires_at": self.expires_at or None,
            "refreshed_at": self.refreshed_at or None,
            "last_error": self.error or None,
            "last_error_at": self.error_at or None,
        }


def judge_grants(grants: tuple[GrantFacts, ...]) -> tuple[int, str, dict[str, Any]]:
    """The section's status (0 healthy, 1 degraded, 2 down: `health.Status`), summary and fields."""
    fields: dict[str, Any] = {"applicable": True, "grants": [grant.as_dict() for grant in grants]}
    for grant in grants:
        users = ", ".join(grant.used_by)
        if not grant.stored:
            return DOWN, f"no OAuth2 grant stored for {users}: run 'caredesk auth login'", fields
        if grant.paused:
            summary = (
                f"{users} paused: the provider refused the OAuth2 grant {grant.grant} "
                f"({grant.error or 'refused'}); run 'caredesk auth login'"
            )
            return DOWN, summary, fields | {"paused": True}
    failing = [grant for grant in grants if grant.error]
    if failing:
        first = failing[0]
        summary = (
            f"the last token refresh for {', '.join(first.used_by)} failed at {first.error_at}: {first.error}"
        )
        return DEGRADED, summary, fields
    expiries = [f"{', '.join(g.used_by)} until {g.expires_at}" for g in grants if g.expires_at]
    summary = (
        "access token valid: " + "; ".join(expiries) if expiries else "grant stored; no access token yet"
    )
    return HEALTHY, summary, fields
