"""What a recap row says as ticket fields, and how those values are kept for comparison.

This module owns the mapping from a good `RecapRow` to the ticket columns it
decides: status, dates at local midnight, the customer and contact, the
subject (product name and first line of the description), the root cause and
corrective action, and who closed it (`branch:<id>` when the branch resolved
it itself). Department and product are added by routing
(`daemon.recap.routing`).

It decides when a row's service levels start (`RowFields.sla_start`: a row
still open when the recap arrives counts from its import, while the row's own
date stays `received_at`, which is what places it in a month's report) and
which rows are the owning department's to work (`for_department`: handled by
head office and still open).

It also owns the two ways a row is remembered on its `RecapRowLink`: its
`fingerprint` (equal fingerprints, nothing to do) and each field's `serial`
text, the form history entries and links store values in.

Everything here is pure.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo

from daemon.recap.rows import RecapRow
from daemon.route.rules import Branch, Rules

ACTOR_PREFIX = "branch:"


def origin_of(branch: Branch) -> str:
    """The `origin` of a branch's recap tickets, and the actor of what its recaps change."""
    return f"{ACTOR_PREFIX}{branch.id}"


@dataclass(frozen=True, slots=True)
class RowFields:
    """How one branch's recap rows read as ticket fields, under the rules in force, in its time zone."""

    branch: Branch
    rules: Rules
    zone: tzinfo

    @property
    def origin(self) -> str:
        return origin_of(self.branch)

    def values(self, row: RecapRow) -> dict[str, object]:
        """The ticket fields a row decides (department and product are added by routing)."""
        resolved = row.status == "resolved"
        return {
            "status": row.status,
            "received_at": self.local_midnight(row.received),
            "customer_name": row.customer,
            "customer_organisation": row.organisation,
            "customer_email": row.pic_email,
            "pic_phone": row.pic_phone,
            "pic_email": row.pic_email,
            "channel": row.channel,
            "subject": self.subject(row),
            "description": row.description,
            "category": row.category or None,
            "severity": row.severity,
            "root_cause": row.root_cause or None,
            "corrective_action": row.action or None,
            "completed_at": self.local_midnight(row.completed) if resolved and row.completed else None,
            "closed_by": self.origin if resolved and row.handled_by == "branch" else None,
        }

    def subject(self, row: RecapRow) -> str:
        """The product's name and the description's first line, as a mailed complaint's subject."""
        product = self.rules.products.get(row.product) if row.product else None
        first_line = row.description.strip().splitlines()[0] if row.description.strip() else ""
        text = f"{product.name}: {first_line}" if product else first_line
        return text[:200]

    def local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.zone)

    def sla_start(self, row: RecapRow, imported_at: datetime) -> datetime:
        """The moment a row's due dates count from: its import when still open, else its own date.

        A complaint the branch resolved is measured from the day it was
        received, so its completion date says whether it was on time. One still
        open reaches head office only with the recap, weeks later: counted from
        its own date it would be overdue the moment it is imported.
        """
        received = self.local_midnight(row.received)
        if row.status == "resolved":
            return received
        return max(received, imported_at)


def for_department(row: RecapRow) -> bool:
    """Whether a row is its owning department's to work: handled by head office, and still open."""
    return row.handled_by == "head-office" and row.status != "resolved"


def fingerprint(row: RecapRow) -> str:
    """What a row says, wherever it sits in the file: equal fingerprints, nothing to do."""
    content = {name: serial(getattr(row, name)) for name in _ROW_CONTENT}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_ROW_CONTENT = tuple(name for name in RecapRow.__dataclass_fields__ if name not in ("sheet", "row"))


def serial(value: object) -> str | None:
    """A field value as history and the link store it: ISO for times (UTC), None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
