"""When processing a mail fails: the stage it failed in, and whether it is tried again.

Processing a mail is a sequence of named stages: `parse`, `dedup`,
`classify`, then `conversation` for a follow-up or `route`, `store` and
`notify` for a new complaint. Each runs inside `with stage("route"):`; an
error escaping it comes out as `StageFailed("route", error)`, so the retry or
quarantine record names where the mail failed without any state being handed
down the calls. When stages nest, the innermost one names the failure.

Database errors (a locked or lost database, or a transaction such an error
already rolled back) are not the mail's fault: they pass through every stage as
they are and abort the batch (`DATABASE_ERRORS`).

`retry_delay` is the backoff policy: two retries, then a person looks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy.exc import DBAPIError, PendingRollbackError

MAX_ATTEMPTS = 3
# Waits after the first and the second failure; the third failure quarantines.
RETRY_DELAYS = (timedelta(minutes=2), timedelta(minutes=15))
# Not the mail's fault: a retry of the batch mends them, not a retry of the mail 2 minutes on.
DATABASE_ERRORS = (DBAPIError, PendingRollbackError)


class StageFailed(Exception):
    """An error that escaped processing stage `stage`; the original is `error`."""

    def __init__(self, stage: str, error: Exception) -> None:
        super().__init__(f"{stage}: {type(error).__name__}: {error}")
        self.stage = stage
        self.error = error


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Run the block as stage `name`: an error escaping it becomes `StageFailed(name, error)`."""
    try:
        yield
    except (StageFailed, *DATABASE_ERRORS):
        raise
    except Exception as error:
        raise StageFailed(name, error) from error


def retry_delay(attempts: int, *, final: bool) -> timedelta | None:
    """How long a mail that failed on try `attempts` waits for the next; None holds it for a person.

    A `final` failure (the same bytes would fail the same way) is held at once.
    """
    if final or attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]


def stopped_the_daemon(attempts: int) -> bool:
    """Whether a mail's tries, each counted before it began, show it kept killing the process."""
    return attempts > MAX_ATTEMPTS
