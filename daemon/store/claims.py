"""Exactly-once periodic work: claim a unique (job, period) row before doing it.

`schedule` only wakes the loop; what decides that a reminder, an escalation or a
monthly report goes out once is this claim, made in the same transaction as the
work (its outbox rows). If the transaction rolls back, the claim goes with it and
the work is tried again; if it commits, no process will ever claim it again.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from daemon.store.models import JobClaim
from daemon.store.queries import insert_ignore


def claim(session: Session, job: str, period: str, *, now: datetime, owner: str = "") -> bool:
    """True when this caller won (job, period) and must do the work now, in this transaction."""
    values = {"job": job, "period": period, "claimed_at": now, "owner": owner}
    return insert_ignore(session, JobClaim, values, ["job", "period"])
