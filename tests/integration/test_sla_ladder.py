"""The SLA ladder on an injected clock, through the real daemon loop (Maildir in, aiosmtpd out).

Due dates count working days in Jakarta: weekends, public holidays and the
collective-leave days of the shipped rules.yaml do not count. Each reminder
and escalation is mailed once per ticket and level: however often the ladder
runs, after a restart, and with two daemons running it at the same moment.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.outbox.enqueue import Mailer, Outgoing
from daemon.periodic.ladder import recipient_for
from daemon.route.loader import load_rules
from daemon.sla.calendar import WorkCalendar
from daemon.sla.policy import LADDER_JOB
from daemon.sla.stamping import record_first_response
from daemon.store import db
from daemon.store.models import JobClaim, Ticket, TicketEvent
from tests import mailfactory
from tests.clockpin import SteppedClock, wib
from tests.integration.helpers import (
    CARE_ADDRESS,
    FREE_CLOCK,
    PROJECT,
    TRUST_OUR_MX,
    maildir_desk,
    outbound,
    table,
    tickets,
)

pytestmark = pytest.mark.integration

RULES = load_rules(PROJECT / "rules.yaml")
CARE = RULES.department("customer-care")  # where mailfactory.complaint(1) is routed


@pytest.fixture
def setup(
    tmp_path: Path, database_url: str, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    config, maildir = maildir_desk(
        tmp_path,
        monkeypatch,
        database_url=database_url,
        smtp_url=smtp_sink.url,
        # The ladder is driven days ahead between runs on one database.
        extra=TRUST_OUR_MX + FREE_CLOCK,
    )
    yield {"config": load_config(config), "maildir": maildir, "url": database_url, "sink": smtp_sink}


def _complaint(setup: Any, n: int, arrived: datetime | None = None) -> None:
    """A complaint in the intake; `arrived` is the file's time, where the ticket's SLA clock starts."""
    raw = mailfactory.complaint(n, sender=f"pelanggan{n}@example.net", name=f"Pelanggan {n}")
    path = setup["maildir"] / "new" / f"{n}.eml"
    path.write_bytes(raw)
    if arrived is not None:
        os.utime(path, (arrived.timestamp(), arrived.timestamp()))


def _sla_mail(url: str) -> list[tuple[str, str]]:
    return [(m.kind, m.recipient) for m in outbound(url) if m.kind.startswith("sla-")]


def _run_at(daemon: Daemon, clock: SteppedClock, moment: datetime) -> None:
    clock.now = moment
    daemon.run_once()


def _events(url: str, prefix: str) -> list[str]:
    return [event.action for event in table(url, TicketEvent) if event.action.startswith(prefix)]


def test_a_complaint_on_friday_afternoon_is_due_on_monday_and_climbs_the_ladder_once(setup: Any) -> None:
    url = setup["url"]
    clock = SteppedClock(wib(8, 7, 16, 30))  # Friday
    _complaint(setup, 1)
    with Daemon(setup["config"], clock=clock) as daemon:
        daemon.run_once()
        [ticket] = tickets(url)
        assert ticket.department == "customer-care" and ticket.severity == "minor"
        # By the end of the next working day: the weekend does not count.
        assert ticket.first_response_due == wib(8, 10, 17)
        assert ticket.resolution_due == wib(8, 14, 17)  # five working days
        for moment in (wib(8, 8, 10), wib(8, 9, 20), wib(8, 10, 14, 55)):
            _run_at(daemon, clock, moment)
        assert _sla_mail(url) == []

        _run_at(daemon, clock, wib(8, 10, 15, 5))  # two working hours before it is due
        assert _sla_mail(url) == [("sla-reminder", CARE.email)]
        _run_at(daemon, clock, wib(8, 10, 17, 5))  # breached: the department manager
        assert _sla_mail(url)[1:] == [("sla-escalation", CARE.manager)]
        _run_at(daemon, clock, wib(8, 11, 17, 5))  # a working day later: the general manager
        assert _sla_mail(url)[2:] == [("sla-escalation", CARE.general_manager)]
        for _ in range(3):
            _run_at(daemon, clock, wib(8, 11, 17, 30))
    with Daemon(setup["config"], clock=clock) as restarted:
        _run_at(restarted, clock, wib(8, 12, 9))

    assert len(_sla_mail(url)) == 3
    assert _events(url, "sla-") == ["sla-reminder", "sla-breach", "sla-second-level"]
    claims = [claim.period for claim in table_claims(url)]
    reference = ticket.reference
    assert sorted(claims) == sorted(
        f"sla/{reference}/first_response/{kind}" for kind in ("reminder", "breach", "second-level")
    )
    sent = {rcpt: message for message in setup["sink"].messages for rcpt in message.rcpt_tos}
    escalation = sent[CARE.manager].message
    assert f"[{reference}]" in escalation["Subject"]
    assert "ESKALASI SLA" in escalation["Subject"]
    body = escalation.get_content()
    assert "10-08-2026 17:00 WIB" in body and "tanggapan pertama" in body


def table_claims(url: str) -> list[JobClaim]:
    engine = db.make_engine(url)
    try:
        with db.session(engine) as session:
            statement = select(JobClaim).where(col(JobClaim.job) == LADDER_JOB).order_by(col(JobClaim.period))
            return list(session.execute(statement).scalars())
    finally:
        engine.dispose()


def test_independence_day_is_not_a_working_day(setup: Any) -> None:
    url = setup["url"]
    clock = SteppedClock(wib(8, 14, 10))  # Friday; Monday 17 August is a public holiday
    _complaint(setup, 2)
    with Daemon(setup["config"], clock=clock) as daemon:
        daemon.run_once()
        [ticket] = tickets(url)
        department = RULES.department(ticket.department)
        assert ticket.first_response_due == wib(8, 18, 17)
        _run_at(daemon, clock, wib(8, 17, 17, 5))
        assert _sla_mail(url) == []
        _run_at(daemon, clock, wib(8, 18, 15, 5))
        assert _sla_mail(url) == [("sla-reminder", department.email)]
        _run_at(daemon, clock, wib(8, 18, 17, 5))
        assert _sla_mail(url)[1:] == [("sla-escalation", department.manager)]


def test_collective_leave_from_rules_yaml_is_not_a_working_day(setup: Any) -> None:
    url = setup["url"]
    wednesday = wib(12, 23, 10)
    # Without the rules' collective leave on the 24th, the answer would be due on Thursday.
    assert WorkCalendar("Asia/Jakarta").end_of_next_working_day(wednesday) == wib(12, 24, 17)
    clock = SteppedClock(wednesday)
    # Arrived when the clock says (a file's real time could be any day before it).
    _complaint(setup, 3, arrived=wednesday)
    with Daemon(setup["config"], clock=clock) as daemon:
        daemon.run_once()
        [ticket] = tickets(url)
        # 24 December collective leave (rules.yaml), 25 Christmas, then the weekend.
        assert ticket.first_response_due == wib(12, 28, 17)
        _run_at(daemon, clock, wib(12, 24, 17, 5))
        _run_at(daemon, clock, wib(12, 26, 12))
        assert _sla_mail(url) == []
        _run_at(daemon, clock, wib(12, 28, 15, 5))
        assert _sla_mail(url) == [("sla-reminder", RULES.department(ticket.department).email)]


def test_a_reply_in_time_stops_the_first_response_ladder(setup: Any) -> None:
    url = setup["url"]
    clock = SteppedClock(wib(8, 7, 16, 30))
    _complaint(setup, 4)
    with Daemon(setup["config"], clock=clock) as daemon:
        daemon.run_once()
        with db.session(daemon.engine) as session:
            ticket = session.execute(select(Ticket)).scalar_one()
            assert record_first_response(session, ticket, wib(8, 10, 11))
            # A later reply is not the first one; an earlier one found later is.
            assert not record_first_response(session, ticket, wib(8, 10, 12))
            assert record_first_response(session, ticket, wib(8, 10, 10, 30))
            session.commit()
        _run_at(daemon, clock, wib(8, 11, 18))
    [ticket] = tickets(url)
    assert ticket.first_responded_at == wib(8, 10, 10, 30)
    assert _sla_mail(url) == []
    events = [e for e in table(url, TicketEvent) if e.action == "first-response"]
    assert [e.new_value for e in events] == [wib(8, 10, 11).isoformat(), wib(8, 10, 10, 30).isoformat()]
    assert all("on time" in e.reason for e in events)


def test_two_daemons_running_the_ladder_at_once_escalate_each_breach_once(setup: Any) -> None:
    url = setup["url"]
    clock = SteppedClock(wib(8, 7, 16, 30))
    for n in range(8):
        _complaint(setup, 10 + n)
    with Daemon(setup["config"], clock=clock) as first:
        first.run_once()
    assert len(tickets(url)) == 8
    clock.now = wib(8, 11, 17, 5)  # reminder, breach and second level all earned
    daemons = [Daemon(setup["config"], clock=clock), Daemon(setup["config"], clock=clock)]
    barrier = threading.Barrier(len(daemons))
    results: list[Counter[str]] = []
    errors: list[BaseException] = []

    def run(daemon: Daemon) -> None:
        try:
            for _ in range(2):
                barrier.wait(timeout=30)
                results.append(daemon.run_periodic())
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(daemon,)) for daemon in daemons]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for daemon in daemons:
            daemon.close()
    assert not errors and not any(thread.is_alive() for thread in threads)
    sent = Counter[str]()
    for counts in results:
        sent.update(counts)
    # The reminders fell due in the same run as their breaches: claimed, not sent.
    assert sent["sla_reminders"] == 0 and sent["sla_reminders_skipped"] == 8
    assert sent["sla_escalations"] == 16
    assert not any(key.endswith("_errors") for key in sent)
    # One mail per recipient and level, whichever daemon sent it, each step in exactly one.
    buckets = set()
    for ticket in tickets(url):
        department = RULES.department(ticket.department)
        buckets |= {("breach", recipient_for("manager", department)[0])}
        buckets |= {("second-level", recipient_for("gm", department)[0])}
    rows = {m.id: m for m in outbound(url) if m.kind.startswith("sla-")}
    assert {m.kind for m in rows.values()} == {"sla-escalation"} and len(rows) == len(buckets)
    steps = [e for e in table(url, TicketEvent) if e.action.startswith("sla-")]
    assert Counter((e.ticket_id, e.action) for e in steps) == {
        (ticket.id, action): 1
        for ticket in tickets(url)
        for action in ("sla-reminder-skipped", "sla-breach", "sla-second-level")
    }
    assert {
        (e.action.removeprefix("sla-"), rows[e.outbound_id].recipient) for e in steps if e.outbound_id
    } == buckets
    assert len(table_claims(url)) == 24


# --- customer updates and reopened tickets ---------------------------------------------------

STAFF = "rina.wulandari@example.co.id"  # a member of customer-care


def _mail_on(setup: Any, name: str, sender: str, reference: str, body: str) -> None:
    """A reply on the ticket, threaded by its subject tag."""
    message = EmailMessage()
    message["From"], message["To"] = sender, CARE_ADDRESS
    message["Subject"] = f"RE: [{reference}] Keluhan"
    message["Message-ID"] = make_msgid(domain="example.co.id")
    message["Date"] = formatdate()
    message.set_content(body)
    (setup["maildir"] / "new" / f"{name}.eml").write_bytes(mailfactory.stamped(message.as_bytes()))


def _claimed(url: str, part: str) -> list[str]:
    return [claim.period for claim in table_claims(url) if part in claim.period]


def test_the_department_is_reminded_once_per_window_to_update_the_customer(setup: Any) -> None:
    url = setup["url"]
    clock = SteppedClock(wib(8, 7, 16, 30))  # Friday
    _complaint(setup, 20)
    with Daemon(setup["config"], clock=clock) as daemon:
        daemon.run_once()
        [ticket] = tickets(url)
        ref = ticket.reference
        clock.now = wib(8, 10, 9)
        _mail_on(setup, "reply-1", STAFF, ref, "#reply\nKami sedang memeriksa pengiriman Anda.")
        daemon.run_once()
        assert tickets(url)[0].first_responded_at == wib(8, 10, 9)
        # Five working days from the reply (the 17th is a holiday): due on the 18th at 17:00.
        _run_at(daemon, clock, wib(8, 18, 14, 59))
        assert _claimed(url, "/update/") == []
        _run_at(daemon, clock, wib(8, 18, 15, 5))
        _run_at(daemon, clock, wib(8, 18, 16))
    with Daemon(setup["config"], clock=clock) as restarted:
        _run_at(restarted, clock, wib(8, 18, 16, 30))
        assert _claimed(url, "/update/") == [f"sla/{ref}/update/1.1"]
        # The department writes to the customer: the next window counts from that reply.
        clock.now = wib(8, 19, 10)
        _mail_on(setup, "reply-2", STAFF, ref, "#reply\nPengiriman sudah kami atur ulang.")
        restarted.run_once()
        _run_at(restarted, clock, wib(8, 26, 15, 30))  # window 1.2's reminder time: the customer heard
        assert _claimed(url, "/update/") == [f"sla/{ref}/update/1.1"]
        _run_at(restarted, clock, wib(8, 27, 15, 5))  # 20, 21, 24, 26, 27 (the 25th is Maulid Nabi)
        _run_at(restarted, clock, wib(8, 27, 15, 10))
        assert _claimed(url, "/update/") == [f"sla/{ref}/update/1.1", f"sla/{ref}/update/2.1"]
        clock.now = wib(8, 28, 9)
        _mail_on(
            setup,
            "resolve",
            STAFF,
            ref,
            "#root-cause Salah alamat\n#action Alamat diperbaiki\n#target 2026-12-31\n#status resolved",
        )
        restarted.run_once()
        assert tickets(url)[0].status == "resolved"
        for moment in (wib(9, 4, 16), wib(9, 30, 16)):
            _run_at(restarted, clock, moment)
    assert _claimed(url, "/update/") == [f"sla/{ref}/update/1.1", f"sla/{ref}/update/2.1"]
    reminders = [m for m in setup["sink"].messages if "update to the customer" in str(m.message["Subject"])]
    department = RULES.department(ticket.department)
    assert [m.rcpt_tos for m in reminders] == [[department.email], [department.email]]
    body = reminders[0].message.get_content()
    assert "18-08-2026 17:00 WIB" in body and "kabar perkembangan" in body and "dieskalasikan" not in body
    assert not any("update" in m.kind for m in outbound(url))


def test_a_reopened_ticket_gets_a_new_resolution_cycle_escalated_once(setup: Any) -> None:
    url = setup["url"]
    clock = SteppedClock(wib(8, 7, 16, 30))
    _complaint(setup, 21)
    with Daemon(setup["config"], clock=clock) as daemon:
        daemon.run_once()
        [ticket] = tickets(url)
        ref, customer = ticket.reference, ticket.customer_email
        clock.now = wib(8, 10, 9)
        _mail_on(setup, "reply", STAFF, ref, "#reply\nKami sedang memeriksa pengiriman Anda.")
        daemon.run_once()
        _run_at(daemon, clock, wib(8, 14, 17, 5))  # cycle 1 breached
        assert _claimed(url, "/resolution") == [
            f"sla/{ref}/resolution/breach",
            f"sla/{ref}/resolution/reminder",
        ]
        clock.now = wib(8, 18, 10)
        _mail_on(
            setup,
            "resolve",
            STAFF,
            ref,
            "#root-cause Salah alamat\n#action Alamat diperbaiki\n#target 2026-12-31\n#status resolved",
        )
        daemon.run_once()
        clock.now = wib(8, 19, 10)
        _mail_on(setup, "again", customer, ref, "Koran saya masih belum datang.")
        daemon.run_once()
        [reopened] = tickets(url)
        assert (reopened.status, reopened.resolution_cycle) == ("in-progress", 2)
        # Five working days from the reopening: 20, 21, 24, 26, 27 (the 25th is Maulid Nabi).
        assert reopened.resolution_due == wib(8, 27, 17)
        _run_at(daemon, clock, wib(8, 27, 17, 5))
        _run_at(daemon, clock, wib(8, 27, 17, 10))
    with Daemon(setup["config"], clock=clock) as restarted:
        _run_at(restarted, clock, wib(8, 27, 17, 30))
        # Resolved again, then found not effective: a third cycle, counted from that moment.
        clock.now = wib(8, 28, 9)
        _mail_on(setup, "resolve-2", STAFF, ref, "#status resolved")
        restarted.run_once()
        clock.now = wib(8, 28, 10)
        _mail_on(setup, "not-effective", STAFF, ref, "#effective no masih terlambat")
        restarted.run_once()
    [third] = tickets(url)
    assert (third.status, third.resolution_cycle, third.resolution_due) == ("in-progress", 3, wib(9, 4, 17))
    assert _claimed(url, "/resolution") == [
        f"sla/{ref}/resolution.2/breach",
        f"sla/{ref}/resolution.2/reminder",
        f"sla/{ref}/resolution/breach",
        f"sla/{ref}/resolution/reminder",
    ]
    manager = RULES.department(ticket.department).manager
    to_manager = [m for m in outbound(url) if m.kind == "sla-escalation" and m.recipient == manager]
    assert len(to_manager) == 2  # cycle 1 and cycle 2, each once
    cycles = [e for e in table(url, TicketEvent) if e.action == "resolution-cycle"]
    utc = [wib(*moment).astimezone(UTC).isoformat() for moment in ((8, 14, 17), (8, 27, 17), (9, 4, 17))]
    assert [(e.old_value, e.new_value) for e in cycles] == [(utc[0], utc[1]), (utc[1], utc[2])]


# --- one mail per recipient and run ----------------------------------------------------------


def _same_complaints(setup: Any, count: int) -> list[int]:
    """`count` complaints about the same problem (mailfactory's issue 1), so one department owns them."""
    numbers = [1 + 4 * k for k in range(count)]
    for n in numbers:
        _complaint(setup, 100 + n)
    return numbers


def _sent_to(setup: Any, address: str) -> list[EmailMessage]:
    """The ladder's mails `address` received (department notices and the like left out)."""
    return [
        m.message
        for m in setup["sink"].messages
        if address in m.rcpt_tos and " SLA " in str(m.message["Subject"])
    ]


def test_manager_gets_one_digest_for_many_overdue_tickets(setup: Any) -> None:
    url = setup["url"]
    clock = SteppedClock(wib(8, 7, 16, 30))  # Friday
    _same_complaints(setup, 30)
    with Daemon(setup["config"], clock=clock) as daemon:
        daemon.run_once()
        opened = tickets(url)
        assert len(opened) == 30 and len({t.department for t in opened}) == 1
        department = load_rules(PROJECT / "rules.yaml").department(opened[0].department)
        references = sorted(t.reference for t in opened)

        _run_at(daemon, clock, wib(8, 10, 15, 5))  # every first response due in two working hours
        assert _sla_mail(url) == [("sla-reminder", department.email)]
        _run_at(daemon, clock, wib(8, 11, 9, 30))  # all 30 breached since 17:00 yesterday
        assert _sla_mail(url)[1:] == [("sla-escalation", department.manager)]
        for moment in (wib(8, 11, 9, 31), wib(8, 11, 12)):
            _run_at(daemon, clock, moment)
        assert len(_sla_mail(url)) == 2
    with Daemon(setup["config"], clock=clock) as restarted:
        _run_at(restarted, clock, wib(8, 11, 17, 5))  # a working day later: the general manager, once
        _run_at(restarted, clock, wib(8, 11, 17, 30))
    assert _sla_mail(url)[2:] == [("sla-escalation", department.general_manager)]

    [digest] = _sent_to(setup, department.manager)
    subject, body = str(digest["Subject"]), digest.get_content()
    assert "ESKALASI SLA" in subject and "30 keluhan terlambat" in subject and "[CC-" not in subject
    assert re.findall(r"^\d+\. \[(CC-\d{4}-\d{6})\] ", body, re.M) == references
    assert body.count("tanggapan pertama kepada pelanggan") == 30
    assert body.count("Jatuh tempo / Was due:  10-08-2026 17:00 WIB, terlambat / overdue by 1.5 h") == 30
    [reminder] = _sent_to(setup, department.email)
    assert "30 keluhan segera jatuh tempo" in str(reminder["Subject"])
    assert "sisa / left 1.9 h" in reminder.get_content()
    [second] = _sent_to(setup, department.general_manager)
    assert "30 complaint(s) overdue" in str(second["Subject"]) and "level 2" in str(second["Subject"])

    # Each ticket still has each step once in its own history, pointing at the one mail.
    rows = {m.id: m for m in outbound(url) if m.kind.startswith("sla-")}
    steps = [e for e in table(url, TicketEvent) if e.action.startswith("sla-")]
    assert Counter(e.action for e in steps) == {"sla-reminder": 30, "sla-breach": 30, "sla-second-level": 30}
    assert {rows[e.outbound_id].recipient for e in steps if e.action == "sla-breach"} == {department.manager}
    assert len(table_claims(url)) == 90


def test_no_reminder_beside_a_breach_in_the_same_run(setup: Any) -> None:
    url = setup["url"]
    clock = SteppedClock(wib(8, 7, 16, 30))
    _complaint(setup, 1)
    with Daemon(setup["config"], clock=clock) as daemon:
        daemon.run_once()
        [ticket] = tickets(url)
        # No ladder run between the reminder's time (15:00) and the due time: the daemon was down.
        _run_at(daemon, clock, wib(8, 10, 17, 5))
        _run_at(daemon, clock, wib(8, 10, 17, 30))
    assert _sla_mail(url) == [("sla-escalation", CARE.manager)]
    [escalation] = _sent_to(setup, CARE.manager)
    assert f"[{ticket.reference}]" in str(escalation["Subject"])  # one ticket: its own mail, threaded
    skipped = [e for e in table(url, TicketEvent) if e.action == "sla-reminder-skipped"]
    assert [e.reason for e in skipped] == [
        "reminder: first response to the customer due 10-08-2026 17:00 WIB: not sent, its target is "
        "already due and breached: the manager hears of the breach instead"
    ]
    assert _claimed(url, "/first_response/") == [
        f"sla/{ticket.reference}/first_response/breach",
        f"sla/{ticket.reference}/first_response/reminder",
    ]


def test_a_crash_between_two_digests_loses_no_step_and_sends_none_twice(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = setup["url"]
    clock = SteppedClock(wib(8, 7, 16, 30))
    _same_complaints(setup, 5)
    with Daemon(setup["config"], clock=clock) as daemon:
        daemon.run_once()
    department = load_rules(PROJECT / "rules.yaml").department(tickets(url)[0].department)
    queue = Mailer.queue
    crashes = [department.general_manager]

    def crash_after_queueing(mailer: Mailer, session: Any, mail: Outgoing) -> Any:
        queued = queue(mailer, session, mail)
        if mail.recipient in crashes:
            crashes.remove(mail.recipient)
            raise RuntimeError("power cut")
        return queued

    monkeypatch.setattr(Mailer, "queue", crash_after_queueing)
    clock.now = wib(8, 11, 17, 5)  # breach and second level in one run; the second digest fails
    with Daemon(setup["config"], clock=clock) as daemon:
        assert daemon.run_periodic()["sla_errors"] == 1
        assert _sla_mail(url) == [("sla-escalation", department.manager)]
        assert daemon.run_periodic()["sla_escalations"] == 5
        daemon.run_periodic()
    assert _sla_mail(url) == [
        ("sla-escalation", department.manager),
        ("sla-escalation", department.general_manager),
    ]
    steps = Counter(e.action for e in table(url, TicketEvent) if e.action.startswith("sla-"))
    assert steps == {"sla-reminder-skipped": 5, "sla-breach": 5, "sla-second-level": 5}
    assert len(table_claims(url)) == 15
