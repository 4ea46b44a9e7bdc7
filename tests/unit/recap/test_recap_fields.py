"""What a recap row says as ticket fields, how it is remembered, and how it is routed (all pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from daemon.recap.fields import RowFields, fingerprint, for_department, origin_of, serial
from daemon.recap.routing import department_for, row_mail, row_message_id
from daemon.recap.rows import RecapRow
from daemon.route.router import route
from tests.recapfiles import recap_rules

RULES = recap_rules()
JATIM = RULES.branches["biro-jatim"]
JAKARTA = ZoneInfo("Asia/Jakarta")
FIELDS = RowFields(JATIM, RULES, JAKARTA)
ROW = RecapRow(
    sheet="Rekap",
    row=7,
    row_ref="JT-001",
    received=date(2026, 3, 5),
    customer="Ani",
    organisation="CV Maju",
    pic="0812-3456-0001",
    pic_phone="+6281234560001",
    pic_email="ani@example.com",
    product="epaper",
    channel="phone",
    description="PDF tidak bisa dibuka\nsejak pagi",
    category="akses",
    severity="minor",
    root_cause="",
    action="",
    completed=None,
    status="in_progress",
    handled_by="branch",
)


def test_an_open_row_has_no_completion_and_nobody_closed_it() -> None:
    values = FIELDS.values(ROW)
    assert values["received_at"] == datetime(2026, 3, 5, tzinfo=JAKARTA)
    assert values["completed_at"] is None
    assert values["closed_by"] is None
    assert values["root_cause"] is None
    assert values["customer_email"] == values["pic_email"] == "ani@example.com"


def test_a_row_the_branch_resolved_is_closed_by_the_branch() -> None:
    resolved = replace(ROW, status="resolved", completed=date(2026, 3, 6))
    values = FIELDS.values(resolved)
    assert values["completed_at"] == datetime(2026, 3, 6, tzinfo=JAKARTA)
    assert values["closed_by"] == origin_of(JATIM) == "branch:biro-jatim"
    by_head_office = FIELDS.values(replace(resolved, handled_by="head-office"))
    assert by_head_office["closed_by"] is None


def test_the_subject_names_the_product_and_the_first_line() -> None:
    assert FIELDS.subject(ROW) == "E-Paper Harian Nusantara: PDF tidak bisa dibuka"
    assert FIELDS.subject(replace(ROW, product=None)) == "PDF tidak bisa dibuka"
    assert len(FIELDS.subject(replace(ROW, description="x" * 500))) == 200


def test_the_fingerprint_ignores_where_the_row_sits_but_not_what_it_says() -> None:
    assert fingerprint(ROW) == fingerprint(replace(ROW, sheet="Maret", row=40))
    assert fingerprint(ROW) != fingerprint(replace(ROW, severity="major"))


def test_serial_values_are_iso_with_times_in_utc() -> None:
    assert serial(None) is None
    assert serial(date(2026, 3, 5)) == "2026-03-05"
    assert serial(datetime(2026, 3, 5, tzinfo=JAKARTA)) == datetime(2026, 3, 4, 17, tzinfo=UTC).isoformat()
    assert serial(3) == "3"


def test_the_row_mail_is_synthetic_and_carries_the_row_contact() -> None:
    mail = row_mail(
        ROW,
        message_id=row_message_id(JATIM.id, "2026-03", ROW),
        subject=FIELDS.subject(ROW),
        received_at=FIELDS.local_midnight(ROW.received),
    )
    assert mail.message_id_synthetic
    assert mail.message_id.startswith("<recap.biro-jatim.2026-03.")
    assert mail.message_id == row_message_id(JATIM.id, "2026-03", replace(ROW, row=99))
    assert mail.contact.phones == ("+6281234560001",)
    assert mail.contact.emails == ("ani@example.com",)
    assert mail.text == ROW.description


def test_the_row_product_beats_detection_but_not_a_rule() -> None:
    printed = replace(ROW, product="koran-harian")
    mail = row_mail(
        printed, message_id="<m@x>", subject="PDF rusak", received_at=FIELDS.local_midnight(ROW.received)
    )
    decision = route(mail, RULES)
    assert department_for(printed, decision, RULES) == "koran"
    by_rule = replace(decision, department="customer-care", decided_by={"department": "legal-threat"})
    assert department_for(printed, by_rule, RULES) == "customer-care"
    assert department_for(replace(printed, product=None), decision, RULES) == decision.department


IMPORTED = datetime(2026, 4, 20, 3, 0, tzinfo=UTC)


def test_an_open_rows_service_levels_count_from_its_import() -> None:
    assert FIELDS.sla_start(ROW, IMPORTED) == IMPORTED
    assert FIELDS.sla_start(replace(ROW, status="new"), IMPORTED) == IMPORTED
    # Its date stays what the report places it by.
    assert FIELDS.values(ROW)["received_at"] == datetime(2026, 3, 5, tzinfo=JAKARTA)


def test_a_resolved_rows_service_levels_count_from_its_own_date() -> None:
    resolved = replace(ROW, status="resolved", completed=date(2026, 3, 6))
    assert FIELDS.sla_start(resolved, IMPORTED) == datetime(2026, 3, 5, tzinfo=JAKARTA)


def test_an_open_row_imported_before_its_day_is_never_counted_from_earlier() -> None:
    early = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    assert FIELDS.sla_start(ROW, early) == datetime(2026, 3, 5, tzinfo=JAKARTA)


def test_only_an_open_head_office_row_is_the_departments_to_work() -> None:
    head_office = replace(ROW, handled_by="head-office")
    assert for_department(head_office)
    assert for_department(replace(head_office, status="new"))
    assert not for_department(replace(head_office, status="resolved", completed=date(2026, 3, 6)))
    assert not for_department(ROW)  # the branch works its own
