"""Where each earned ladder step goes in one run: which mail, to whom, or why none.

Pure decisions of values (`daemon.sla.policy` steps, `daemon.route.rules`
departments); the ladder (`daemon.periodic.ladder`) claims and mails by them.

* A step goes to one recipient in one kind of mail: the department for a
  reminder, its manager for a breach, its general manager for the second
  level (`recipient_for`). All steps of one run with the same `Bucket` (kind
  and recipient) go out as one mail, however many tickets they are about.
* A reminder is skipped when the breach of the same target (same resolution
  cycle) is earned too: its due time has passed, the manager hears of the
  breach, and "due soon" would be wrong. The skipped reminder is still
  claimed, so it is never sent later either, and its ticket's history says why.
* A step with nobody to tell (no manager nor general manager configured) has
  a bucket without recipient: it is claimed and written in the history only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from daemon.route.rules import Department
from daemon.sla.policy import LadderStep, StepKind

SKIPPED_REASON = "its target is already due and breached: the manager hears of the breach instead"
"""Why a reminder beside its breach is not sent (the history's wording)."""

_KIND_ORDER: dict[StepKind, int] = {"reminder": 0, "breach": 1, "second-level": 2}


@dataclass(frozen=True, slots=True)
class Bucket:
    """One mail of a run: steps of one kind to one recipient.

    `skipped` holds the reminders that are not sent beside their breach.
    """

    kind: StepKind
    recipient: str
    """The recipient's address, or "" when there is nobody to tell."""
    skipped: bool = False

    def sort_key(self) -> tuple[bool, int, str]:
        """The order a run works through its buckets in (every daemon the same: no lock cycles)."""
        return (not self.skipped, _KIND_ORDER[self.kind], self.recipient)


@dataclass(frozen=True, slots=True)
class Planned:
    """An earned step and where it goes; `note` says why when it is not the obvious person."""

    step: LadderStep
    bucket: Bucket
    note: str = ""


def recipient_for(role: str, department: Department) -> tuple[str | None, str]:
    """Who gets a step, and a note when it is not the obvious person."""
    if role == "department":
        return department.email, ""
    if role == "manager":
        if department.manager:
            return department.manager, ""
        if department.general_manager:
            return department.general_manager, f"{department.id} has no manager: sent to its general manager"
        return None, f"{department.id} has no manager and no general manager configured"
    if department.general_manager:
        return department.general_manager, ""
    return None, f"{department.id} has no general manager configured"


def target_of(step: LadderStep) -> str:
    """The ticket, target and cycle a step is about: its period key without the level."""
    return step.period_key.rsplit("/", 1)[0]


def plan_steps(steps: Sequence[LadderStep], department: Department) -> list[Planned]:
    """Where each of one ticket's earned steps goes (`steps`: all it has earned, claimed or not).

    Claimed steps are planned like the others; the caller drops them. They
    matter here because a breach mailed in an earlier run still makes a late
    reminder pointless.
    """
    breached = {target_of(step) for step in steps if step.kind == "breach"}
    planned: list[Planned] = []
    for step in steps:
        if step.kind == "reminder" and target_of(step) in breached:
            planned.append(Planned(step, Bucket(step.kind, "", skipped=True), SKIPPED_REASON))
            continue
        recipient, note = recipient_for(step.recipient_role, department)
        address = (recipient or "").strip().lower()
        planned.append(Planned(step, Bucket(step.kind, address), note))
    return planned
