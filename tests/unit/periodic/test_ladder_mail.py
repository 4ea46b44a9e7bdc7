"""The digest a ladder run sends one recipient: every step listed, the earliest due first, both languages."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from daemon import shipped
from daemon.outbox.compose import Renderer
from daemon.periodic.ladder_mail import DIGEST_TEMPLATE, Claimed, digest_context, entry_context
from daemon.periodic.plan import Bucket, plan_steps
from daemon.periodic.steps import earned_steps
from daemon.route.loader import load_rules
from daemon.sla.stamping import calendar_for, stamp_due_dates
from daemon.store.models import Ticket
from tests.integration.helpers import PROJECT

RULES = load_rules(PROJECT / "rules.yaml")
JAKARTA = ZoneInfo("Asia/Jakarta")
CALENDAR = calendar_for(RULES, "Asia/Jakarta")
KORAN = RULES.department("koran")


def _claimed(number: int, received: datetime, now: datetime, kind: str) -> list[Claimed]:
    ticket = Ticket(
        id=number,
        reference=f"CC-2026-{number:06d}",
        department="koran",
        severity="minor",
        status="assigned",
        subject=f"Koran tidak datang ({number})",
        customer_name=f"Pelanggan {number}",
        customer_email=f"p{number}@example.net",
        received_at=received.astimezone(UTC),
    )
    ticket = stamp_due_dates(ticket, RULES, received, timezone="Asia/Jakarta")
    planned = plan_steps(earned_steps(ticket, RULES, now, "Asia/Jakarta"), KORAN)
    return [Claimed(ticket, p, KORAN) for p in planned if p.bucket.kind == kind and not p.bucket.skipped]


NOW = datetime(2026, 8, 11, 9, 30, tzinfo=JAKARTA)  # Tuesday morning


def _breaches() -> list[Claimed]:
    # Received on Friday (due Monday 17:00) and on Thursday (due Friday 17:00), listed in that order.
    return _claimed(7, datetime(2026, 8, 7, 10, tzinfo=JAKARTA), NOW, "breach") + _claimed(
        3, datetime(2026, 8, 6, 10, tzinfo=JAKARTA), NOW, "breach"
    )


def test_the_digest_lists_the_earliest_due_first_and_counts_tickets_and_steps() -> None:
    entries = _breaches()
    context = digest_context(Bucket("breach", KORAN.manager or ""), entries, CALENDAR, NOW)
    listed = [(e["ticket"]["reference"], e["step"]["due"]) for e in context["entries"]]
    assert listed == [
        ("CC-2026-000003", "07-08-2026 17:00 WIB"),
        ("CC-2026-000007", "10-08-2026 17:00 WIB"),
    ]
    assert (context["count"], context["tickets"]) == (2, 2)
    assert context["step"] == {
        "kind": "breach",
        "level_id": "eskalasi tingkat 1 (manajer departemen)",
        "level_en": "escalation level 1 (department manager)",
    }


def test_an_entry_says_how_late_in_working_hours() -> None:
    [late] = _claimed(7, datetime(2026, 8, 7, 10, tzinfo=JAKARTA), NOW, "breach")
    step = entry_context(late, CALENDAR, NOW)["step"]
    assert step["working_hours_late"] == "1.5 h" and step["working_hours_left"] == "0"


def test_the_escalation_digest_reads_in_indonesian_then_english() -> None:
    entries = _breaches()
    context = digest_context(Bucket("breach", KORAN.manager or ""), entries, CALENDAR, NOW)
    rendered = Renderer(shipped.templates()).render(DIGEST_TEMPLATE, context)
    assert rendered.subject == (
        "ESKALASI SLA / SLA escalation (escalation level 1 (department manager)): "
        "2 keluhan terlambat / 2 complaint(s) overdue"
    )
    body = rendered.body
    assert body.index("1. [CC-2026-000003] Koran tidak datang (3)") < body.index("2. [CC-2026-000007]")
    assert "Jatuh tempo / Was due:  10-08-2026 17:00 WIB, terlambat / overdue by 1.5 h" in body
    assert body.index("Mohon pastikan") < body.index("Please make sure")
    assert "cantumkan nomornya dalam subjek, misalnya [CC-2026-000003]" in body


def test_the_reminder_digest_says_how_much_time_is_left() -> None:
    now = datetime(2026, 8, 10, 15, 30, tzinfo=JAKARTA)
    entries = _claimed(7, datetime(2026, 8, 7, 10, tzinfo=JAKARTA), now, "reminder") + _claimed(
        8, datetime(2026, 8, 7, 11, tzinfo=JAKARTA), now, "reminder"
    )
    context = digest_context(Bucket("reminder", KORAN.email), entries, CALENDAR, now)
    rendered = Renderer(shipped.templates()).render(DIGEST_TEMPLATE, context)
    assert rendered.subject.startswith("Pengingat SLA / SLA reminder: 2 keluhan segera jatuh tempo")
    assert rendered.body.count("sisa / left 1.5 h") == 2
    assert "terlambat / overdue" not in rendered.body
