"""Recap rows become tickets exactly once, on SQLite and PostgreSQL: created, corrected, re-sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from daemon.recap.receive import RecapOutcome, ReceivedFile, receive_recap
from daemon.recap.sheet import CellValue
from daemon.recap.store import ImportTerms
from daemon.sla.stamping import sla_view
from daemon.store import db
from daemon.store.models import RecapFile, RecapRowLink, Ticket, TicketEvent
from tests.recapfiles import complaint_rows, csv_bytes, filled_template, recap_rules

pytestmark = pytest.mark.integration

RULES = recap_rules()
JATIM = RULES.branches["biro-jatim"]
JAKARTA = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 4, 3, 2, 0, tzinfo=UTC)
FILENAME = "rekap-jatim-2026-03.xlsx"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    db.create_schema(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _receive(engine: Engine, data: bytes, filename: str = FILENAME, now: datetime = NOW) -> RecapOutcome:
    with db.session(engine) as session:
        outcome = receive_recap(
            session,
            ReceivedFile(branch=JATIM, filename=filename, data=data, inbound_id=None),
            ImportTerms(rules=RULES, clock=lambda: now, reference_prefix="CC"),
        )
        session.commit()
    return outcome


def _with_three_bad_rows() -> list[dict[str, CellValue]]:
    rows = complaint_rows(50)
    rows[9]["received"] = None
    rows[24]["product"] = "Majalah Bulanan"
    rows[39]["severity"] = "sedang"
    return rows


def _count(engine: Engine, model: type) -> int:
    with db.session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _ticket(engine: Engine, ref: str) -> Ticket:
    with db.session(engine) as session:
        link = session.execute(
            select(RecapRowLink).where(col(RecapRowLink.row_key) == f"ref:{ref.lower().replace('-', ' ')}")
        ).scalar_one()
        ticket = session.get(Ticket, link.ticket_id)
        assert ticket is not None
        return ticket


def _events(engine: Engine, ticket: Ticket) -> list[TicketEvent]:
    with db.session(engine) as session:
        statement = (
            select(TicketEvent).where(col(TicketEvent.ticket_id) == ticket.id).order_by(col(TicketEvent.id))
        )
        return list(session.execute(statement).scalars())


def _midnight(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=JAKARTA).astimezone(UTC)


def test_recap_of_50_rows_with_3_bad_creates_47_tickets_and_keeps_the_file(engine: Engine) -> None:
    data = filled_template(_with_three_bad_rows(), rules=RULES)
    outcome = _receive(engine, data)
    assert outcome.imported and outcome.month == "2026-03"
    assert outcome.summary is not None
    assert (len(outcome.summary.created), len(outcome.summary.updated), len(outcome.summary.unchanged)) == (
        47,
        0,
        0,
    )
    assert [(p.sheet, p.row, p.column) for p in outcome.problems] == [
        ("Rekap", 14, "Tanggal Diterima (Date received)"),
        ("Rekap", 29, "Produk (Product)"),
        ("Rekap", 44, "Tingkat (Severity: major/minor)"),
    ]
    assert _count(engine, Ticket) == 47
    with db.session(engine) as session:
        origins = set(session.execute(select(col(Ticket.origin))).scalars())
        recap_file = session.execute(select(RecapFile)).scalar_one()
    assert origins == {"branch:biro-jatim"}
    assert (recap_file.state, recap_file.branch, recap_file.month, recap_file.filename) == (
        "imported",
        "biro-jatim",
        "2026-03",
        FILENAME,
    )
    assert recap_file.raw == data and recap_file.size == len(data)
    assert (recap_file.rows_total, recap_file.rows_imported, recap_file.rows_refused) == (50, 47, 3)
    assert (recap_file.rows_created, recap_file.rows_updated, recap_file.rows_unchanged) == (47, 0, 0)
    assert '"row": 29' in recap_file.problems and '"column": "Produk (Product)"' in recap_file.problems


def test_ticket_fields_come_from_the_row(engine: Engine) -> None:
    _receive(engine, filled_template(complaint_rows(14), rules=RULES))
    by_branch = _ticket(engine, "JT-001")
    assert (by_branch.status, by_branch.closed_by, by_branch.origin) == (
        "resolved",
        "branch:biro-jatim",
        "branch:biro-jatim",
    )
    assert by_branch.received_at == _midnight(2026, 3, 1)
    assert by_branch.completed_at == _midnight(2026, 3, 2)
    assert (by_branch.product, by_branch.department, by_branch.channel) == ("koran-harian", "koran", "email")
    assert by_branch.reference.startswith("CC-2026-")
    assert (
        by_branch.subject
        == "Koran Harian Nusantara: Koran edisi 01 March tidak datang ke alamat pelanggan nomor 1"
    )

    head_office = _ticket(engine, "JT-007")
    assert (head_office.status, head_office.closed_by, head_office.department) == ("resolved", None, "koran")
    assert (head_office.customer_name, head_office.customer_organisation) == ("Pelanggan 7", "CV Maju 7")
    assert (head_office.pic_phone, head_office.channel) == ("+6281234560007", "in-person")
    assert (head_office.root_cause, head_office.corrective_action) == (
        "loper sakit",
        "loper pengganti dikirim",
    )

    open_one = _ticket(engine, "JT-003")
    assert (open_one.status, open_one.completed_at, open_one.closed_by) == ("in_progress", None, None)
    assert (_ticket(engine, "JT-010").severity, _ticket(engine, "JT-010").escalated) == ("major", True)

    created, routed = _events(engine, by_branch)
    assert (created.actor, created.action, created.field_name, created.new_value) == (
        "branch:biro-jatim",
        "created",
        "status",
        "resolved",
    )
    assert created.reason == (
        f"2026-03 recap of Biro Jawa Timur, {FILENAME!r} sheet 'Rekap' row 5; "
        "resolved by Biro Jawa Timur on 2026-03-02"
    )
    assert (routed.action, routed.new_value) == ("routed", "koran")


def test_sending_the_same_file_again_changes_nothing(engine: Engine) -> None:
    data = filled_template(_with_three_bad_rows(), rules=RULES)
    _receive(engine, data)
    events = _count(engine, TicketEvent)
    before = {t.reference: t.updated_at for t in _all_tickets(engine)}
    again = _receive(engine, data, now=NOW.replace(hour=5))
    assert again.summary is not None
    assert (len(again.summary.created), len(again.summary.updated), len(again.summary.unchanged)) == (
        0,
        0,
        47,
    )
    assert len(again.problems) == 3
    assert _count(engine, Ticket) == 47
    assert _count(engine, TicketEvent) == events
    assert {t.reference: t.updated_at for t in _all_tickets(engine)} == before
    assert _count(engine, RecapFile) == 2  # every received file is kept


def _all_tickets(engine: Engine) -> list[Ticket]:
    with db.session(engine) as session:
        return list(session.execute(select(Ticket)).scalars())


def test_corrected_file_fixes_the_three_rows_without_duplicating_the_47(engine: Engine) -> None:
    _receive(engine, filled_template(_with_three_bad_rows(), rules=RULES))
    references = {t.reference for t in _all_tickets(engine)}
    corrected = _receive(
        engine, filled_template(complaint_rows(50), rules=RULES), filename="rekap-jatim-2026-03-v2.xlsx"
    )
    assert corrected.summary is not None and corrected.problems == ()
    assert [(r.row, r.reference not in references) for r in corrected.summary.created] == [
        (14, True),
        (29, True),
        (44, True),
    ]
    assert (len(corrected.summary.updated), len(corrected.summary.unchanged)) == (0, 47)
    assert _count(engine, Ticket) == 50
    assert _count(engine, RecapRowLink) == 50


def test_a_corrected_row_updates_its_ticket_with_old_and_new_in_the_history(engine: Engine) -> None:
    rows = complaint_rows(5)
    _receive(engine, filled_template(rows, rules=RULES))
    ticket = _ticket(engine, "JT-003")
    rows[2] |= {"status": "selesai", "completed": datetime(2026, 3, 9), "action": "dikirim ulang"}
    outcome = _receive(
        engine, filled_template(rows, rules=RULES), filename="rekap-v2.xlsx", now=NOW.replace(hour=4)
    )
    assert outcome.summary is not None
    (updated,) = outcome.summary.updated
    assert (updated.reference, updated.row) == (ticket.reference, 7)
    assert updated.changes == ("status", "corrective_action", "completed_at", "closed_by")
    assert len(outcome.summary.unchanged) == 4
    after = _ticket(engine, "JT-003")
    assert (after.status, after.closed_by, after.corrective_action) == (
        "resolved",
        "branch:biro-jatim",
        "dikirim ulang",
    )
    assert after.completed_at == _midnight(2026, 3, 9)
    assert after.updated_at == NOW.replace(hour=4)
    changes = [
        (e.action, e.field_name, e.old_value, e.new_value)
        for e in _events(engine, ticket)
        if e.action == "recap-update"
    ]
    assert changes == [
        ("recap-update", "status", "in_progress", "resolved"),
        ("recap-update", "corrective_action", None, "dikirim ulang"),
        ("recap-update", "completed_at", None, "2026-03-08T17:00:00+00:00"),
        ("recap-update", "closed_by", None, "branch:biro-jatim"),
    ]
    assert all("'rekap-v2.xlsx' sheet 'Rekap' row 7" in e.reason for e in _events(engine, ticket)[2:])


def test_a_resend_never_undoes_what_head_office_changed(engine: Engine) -> None:
    rows = complaint_rows(5)
    _receive(engine, filled_template(rows, rules=RULES))
    ticket = _ticket(engine, "JT-005")
    with db.session(engine) as session:
        mine = session.get(Ticket, ticket.id)
        assert mine is not None
        mine.department, mine.status = "customer-care", "closed"
        session.add(mine)
        session.commit()
    rows[4]["root_cause"] = "alamat salah ditulis"
    outcome = _receive(engine, filled_template(rows, rules=RULES))
    assert outcome.summary is not None
    assert [r.changes for r in outcome.summary.updated] == [("root_cause",)]
    after = _ticket(engine, "JT-005")
    assert (after.department, after.status, after.root_cause) == (
        "customer-care",
        "closed",
        "alamat salah ditulis",
    )


def test_rows_without_a_number_are_matched_on_date_customer_and_description(engine: Engine) -> None:
    header = ["Tanggal", "Nama Pelanggan", "Produk", "Uraian Keluhan", "Status"]
    first = ["2026-03-02", "Ani Wijaya", "epaper", "PDF edisi Senin kosong", "baru"]
    second = ["2026-03-04", "Budi", "koran cetak", "Koran basah", "selesai"]
    created = _receive(engine, csv_bytes([header, first, second]), filename="rekap-2026-03.csv")
    assert created.summary is not None and len(created.summary.created) == 2
    # Re-sent in another order, retyped with other spacing and case: the same complaints.
    retyped = ["02/03/2026", "ani  wijaya", "E-Paper Harian Nusantara", "PDF edisi senin kosong", "baru"]
    again = _receive(engine, csv_bytes([header, second, retyped]), filename="rekap-2026-03.csv")
    assert again.summary is not None
    assert (len(again.summary.created), len(again.summary.unchanged)) == (0, 1)
    # The same complaint, retyped: the ticket takes the branch's new spelling.
    assert [r.changes for r in again.summary.updated] == [("customer_name", "subject", "description")]
    assert _count(engine, Ticket) == 2


def test_rules_route_a_row_and_can_make_it_major(engine: Engine) -> None:
    header = ["No", "Tanggal", "Produk", "Uraian"]
    rows = [["1", "2026-03-02", "", "Aplikasi e-paper tidak bisa dibuka, kami akan kirim somasi"]]
    _receive(engine, csv_bytes([header, *rows]), filename="rekap-2026-03.csv")
    (ticket,) = _all_tickets(engine)
    assert (ticket.product, ticket.department) == ("epaper", "digital")
    assert (ticket.severity, ticket.escalated, ticket.tags) == ("major", True, "legal")
    _created, routed = _events(engine, ticket)
    assert "legal-threat" in routed.reason


def test_a_refused_file_is_kept_with_its_reason_and_makes_no_ticket(engine: Engine) -> None:
    data = filled_template(complaint_rows(3), rules=RULES)
    outcome = _receive(engine, data, filename="rekap.xlsm")
    assert outcome.refused is not None and not outcome.imported
    assert outcome.summary is None and outcome.month == ""
    with db.session(engine) as session:
        recap_file = session.execute(select(RecapFile)).scalar_one()
    assert (recap_file.state, recap_file.month, recap_file.raw) == ("refused", "", data)
    assert "macro-enabled" in recap_file.reason and "makro" in recap_file.reason
    assert _count(engine, Ticket) == 0


def test_a_file_naming_another_branch_is_refused(engine: Engine) -> None:
    outcome = _receive(engine, filled_template(complaint_rows(3), rules=RULES, branch="biro-bali"))
    assert outcome.refused is not None
    assert (
        outcome.refused.english
        == "this file is for branch 'biro-bali' but was sent from the address of Biro Jawa Timur"
    )
    assert _count(engine, Ticket) == 0


def test_two_daemons_importing_the_same_file_at_once_make_each_ticket_once(engine: Engine) -> None:
    data = filled_template(complaint_rows(20), rules=RULES)
    outcomes: list[RecapOutcome] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            outcomes.append(_receive(engine, data))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(outcomes) == 2
    counts = sorted((len(o.summary.created), len(o.summary.unchanged)) for o in outcomes if o.summary)
    assert counts == [(0, 20), (20, 0)]
    assert _count(engine, Ticket) == 20


def test_a_correction_that_rules_find_major_raises_the_ticket_and_a_later_one_keeps_it(
    engine: Engine,
) -> None:
    header = ["No", "Tanggal", "Produk", "Uraian", "Tingkat", "Akar Penyebab"]
    row = ["1", "2026-03-02", "epaper", "PDF edisi Senin kosong", "minor", ""]
    _receive(engine, csv_bytes([header, row]), filename="rekap-2026-03.csv")
    row[3] = "PDF edisi Senin kosong, pelanggan mengancam somasi"
    raised = _receive(engine, csv_bytes([header, row]), filename="rekap-2026-03.csv")
    assert raised.summary is not None
    assert [r.changes for r in raised.summary.updated] == [("subject", "description", "severity")]
    row[5] = "server PDF penuh"
    later = _receive(engine, csv_bytes([header, row]), filename="rekap-2026-03.csv")
    assert later.summary is not None
    assert [r.changes for r in later.summary.updated] == [("root_cause",)]
    (ticket,) = _all_tickets(engine)
    assert (ticket.severity, ticket.root_cause) == ("major", "server PDF penuh")


def test_an_open_row_is_due_from_its_import_and_keeps_its_own_date(engine: Engine) -> None:
    # Issue 12.7: NOW is 3 April; JT-003 (3 March) is still open, JT-001 (1 March) was resolved.
    _receive(engine, filled_template(complaint_rows(3), rules=RULES))
    still_open, resolved = _ticket(engine, "JT-003"), _ticket(engine, "JT-001")
    assert still_open.received_at == _midnight(2026, 3, 3)
    assert still_open.resolution_due is not None and still_open.resolution_due > NOW
    assert still_open.first_response_due is None  # the branch answered its customer itself
    assert resolved.received_at == _midnight(2026, 3, 1)
    assert resolved.resolution_due is not None and resolved.resolution_due < NOW
    assert sla_view(still_open, NOW).resolution_status == "pending"
    assert sla_view(resolved, NOW).resolution_status == "met"


def test_rows_head_office_handles_and_that_are_open_are_marked_for_their_department(engine: Engine) -> None:
    rows = complaint_rows(21)  # JT-007 and JT-014 resolved by head office; JT-021 open with it
    first = _receive(engine, filled_template(rows, rules=RULES))
    assert first.summary is not None
    assert [r.row for r in first.summary.created if r.for_department] == [25]
    again = _receive(engine, filled_template(rows, rules=RULES))
    assert again.summary is not None and not any(r.for_department for r in again.summary.unchanged)
    rows[20]["pic"] = "0813-1111-2222"  # a corrected row is still the department's
    corrected = _receive(engine, filled_template(rows, rules=RULES))
    assert corrected.summary is not None
    assert [(r.row, r.changes, r.for_department) for r in corrected.summary.updated] == [
        (25, ("pic_phone",), True)
    ]
