"""Staff change a ticket after it arrived, and the SLA follows (issue 12, points 3 and 4).

Over real IMAP (Dovecot) and SMTP (aiosmtpd), on SQLite and PostgreSQL, with
the daemon's clock injected: a complaint made major later reaches the general
manager at once and is due on the major targets; a major complaint handed to
another department reaches that department's GM; the resolution mail and
customer care's own answer from the shared mailbox meet the first response,
so the ladder does not escalate a "first response overdue" that never was.

The tests bring their own small rules file, so that what they show does not
hang on the routing words of the shipped example.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest

from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.sla.stamping import sla_view
from daemon.store.models import JobClaim, Ticket, TicketEvent
from tests.clockpin import SteppedClock, config_variables, wib
from tests.integration.helpers import (
    CARE_ADDRESS,
    TRUST_OUR_MX,
    inbound,
    outbound,
    table,
    tickets,
    write_config,
)
from tests.mailfactory import stamped

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data"
MEMBER = "bambang.sirkulasi@example.co.id"  # a member of koran
CIRCULATION = "sirkulasi@example.co.id"
PRINT_GM = "gm.media-cetak@example.co.id"
TECH_GM = "gm.teknologi@example.co.id"
CIRCULATION_MANAGER = "manajer.sirkulasi@example.co.id"

RULES = f"""
departments:
  - id: customer-care
    name: Customer Care
    email: customercare@example.co.id
    members: [customercare@example.co.id, rina.wulandari@example.co.id]
    manager: koordinator.up3@example.co.id
    general_manager: gm.layanan-media@example.co.id
  - id: koran
    name: Sirkulasi Koran
    email: {CIRCULATION}
    members: [{CIRCULATION}, {MEMBER}]
    manager: {CIRCULATION_MANAGER}
    general_manager: {PRINT_GM}
  - id: teknik
    name: Teknik
    email: teknik@example.co.id
    members: [teknik@example.co.id, dimas.pratama@example.co.id]
    manager: manajer.ti@example.co.id
    general_manager: {TECH_GM}
customers:
  - domain: kemenkominfo.example.go.id
    name: Kementerian Komunikasi
    tier: vip
default:
  department: customer-care
  severity: minor
rules:
  - name: vip-customer
    description: A complaint from a VIP customer is always major
    when:
      customer: {{tier: vip}}
    then:
      severity: major
  - name: print-delivery
    description: The printed paper did not arrive
    when:
      subject_or_body: {{words: [tidak diantar, belum diantar, tidak datang]}}
    then:
      department: koran
sla:
  default:
    first_response: 1d
    resolution: 5d
    update_interval: 5d
    reminder_before: 2h
    escalation:
      second_level_after: 1d
  severity:
    major: {{resolution: 2d}}
  departments:
    teknik:
      severity:
        major: {{resolution: 1d}}
"""


@pytest.fixture
def desk(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    for name in config_variables():
        monkeypatch.delenv(name)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        rules=rules,
        extra=TRUST_OUR_MX,
    )
    clock = SteppedClock(wib(7, 21, 10))  # Tuesday
    with Daemon(load_config(config), clock=clock) as daemon:
        yield {"daemon": daemon, "clock": clock, "imap": dovecot, "smtp": smtp_sink, "url": database_url}


def _at(desk: dict[str, Any], moment: datetime, *mails: bytes) -> None:
    """At `moment`, these mails arrive and the daemon runs once (mailbox, ladder, outbox)."""
    desk["clock"].now = moment
    for raw in mails:
        desk["imap"].append(raw)
    desk["daemon"].run_once()


def _sent(desk: dict[str, Any], to: str, kind: str | None = None) -> list[EmailMessage]:
    found = []
    for received in desk["smtp"].messages:
        if to in [r.lower() for r in received.rcpt_tos]:
            message = email.message_from_bytes(received.data, policy=email.policy.default)
            if kind is None or f".{kind}@" in str(message["Message-ID"]):
                found.append(message)
    return found


def _complaint(sender: str, name: str) -> bytes:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = f"{name} <{sender}>"
    message["To"] = f"Customer Care <{CARE_ADDRESS}>"
    message["Subject"] = "Koran langganan tidak diantar sejak Senin"
    message["Message-ID"] = make_msgid(domain=sender.partition("@")[2])
    message["Date"] = format_datetime(wib(7, 21, 9, 58))
    message.set_content(
        "Selamat pagi,\n\nKoran langganan kami tidak diantar sejak hari Senin.\n"
        "Mohon segera ditindaklanjuti.\n\nHormat kami,\n" + name + "\n0812-3456-7890\n"
    )
    return message.as_bytes()


def _reply(sender: str, to: EmailMessage, body: str) -> bytes:
    """A staff member's (or the customer's) answer to one of our mails, as Outlook writes it."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = str(to["Reply-To"] or to["From"])
    message["Subject"] = f"RE: {to['Subject']}"
    message["Message-ID"] = make_msgid(domain=sender.partition("@")[2])
    message["Date"] = format_datetime(wib(7, 21, 11))
    message["In-Reply-To"] = message["References"] = str(to["Message-ID"])
    message.set_content(f"{body}\n\n-----Original Message-----\nFrom: Customer Care\n> ...\n")
    return stamped(message.as_bytes())  # through our receiving server, which vouches for the sender


def _ticket(desk: dict[str, Any], customer: str) -> Ticket:
    [ticket] = [t for t in tickets(desk["url"]) if t.customer_email == customer]
    return ticket


def _events(desk: dict[str, Any], ticket: Ticket) -> list[TicketEvent]:
    return [e for e in table(desk["url"], TicketEvent) if e.ticket_id == ticket.id]


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


# --- point 3: made major after arrival ------------------------------------------------------


def test_complaint_made_major_later_is_escalated_to_gm(desk: dict[str, Any]) -> None:
    customer = "dewi.lestari81@gmail.com"
    _at(desk, wib(7, 21, 10), _complaint(customer, "Dewi Lestari"))
    arrived = _ticket(desk, customer)
    assert (arrived.department, arrived.severity, arrived.escalated) == ("koran", "minor", False)
    assert arrived.resolution_due == wib(7, 28, 17)  # five working days
    assert _sent(desk, PRINT_GM) == []
    [notice] = _sent(desk, CIRCULATION, "notice")

    body = "#severity major\nPelanggan mengancam berhenti berlangganan bersama 40 kantor cabangnya."
    _at(desk, wib(7, 21, 11), _reply(MEMBER, notice, body))

    ticket = _ticket(desk, customer)
    assert (ticket.severity, ticket.escalated) == ("major", True)
    # The major targets, counted from receipt: two working days.
    assert ticket.resolution_due == wib(7, 23, 17)
    assert ticket.first_response_due == arrived.first_response_due == wib(7, 22, 17)
    [escalation] = _sent(desk, PRINT_GM, "escalation")
    assert f"[{ticket.reference}] ESKALASI" in str(escalation["Subject"])
    text = escalation.get_content()
    assert "General Manager Sirkulasi Koran" in text and "Dewi Lestari" in text
    assert f"made major by {MEMBER} (department member) with #severity (minor -> major)" in text
    changed = {
        (e.field_name, e.old_value, e.new_value) for e in _events(desk, ticket) if e.action == "changed"
    }
    assert ("severity", "minor", "major") in changed
    assert ("escalated", "false", "true") in changed
    assert ("resolution_due", _utc(wib(7, 28, 17)), _utc(wib(7, 23, 17))) in changed
    moved = next(e for e in _events(desk, ticket) if e.field_name == "resolution_due")
    assert "severity minor -> major by" in moved.reason and "2 working days from receipt" in moved.reason
    [confirmation] = _sent(desk, MEMBER, "confirmation")
    assert PRINT_GM in confirmation.get_content()

    # Down and up again: the GM has it already, and hears of it once.
    for moment, command in ((wib(7, 21, 12), "#severity minor"), (wib(7, 21, 13), "#severity major")):
        _at(desk, moment, _reply(MEMBER, notice, command))
    assert len(_sent(desk, PRINT_GM, "escalation")) == 1
    assert _ticket(desk, customer).resolution_due == wib(7, 23, 17)


def test_major_complaint_handed_to_another_department_reaches_that_departments_gm(
    desk: dict[str, Any],
) -> None:
    # No rule makes a department major (severity comes from the mail, the
    # customer and their history); what a new department changes is whose GM
    # must know, and the targets.
    customer = "hadi.susanto@kemenkominfo.example.go.id"
    _at(desk, wib(7, 21, 10), _complaint(customer, "Hadi Susanto"))
    arrived = _ticket(desk, customer)
    assert (arrived.department, arrived.severity, arrived.escalated) == ("koran", "major", True)
    assert arrived.resolution_due == wib(7, 23, 17)
    assert len(_sent(desk, PRINT_GM, "escalation")) == 1
    [notice] = _sent(desk, CIRCULATION, "notice")

    _at(desk, wib(7, 21, 11), _reply(MEMBER, notice, "#dept teknik\nLoper sudah dicek: alamat benar."))

    ticket = _ticket(desk, customer)
    assert ticket.department == "teknik"
    assert ticket.resolution_due == wib(7, 22, 17)  # teknik's major target: one working day
    [escalation] = _sent(desk, TECH_GM, "escalation")
    assert "General Manager Teknik" in escalation.get_content()
    assert f"handed from koran to teknik by {MEMBER}" in escalation.get_content()
    assert len(_sent(desk, PRINT_GM, "escalation")) == 1  # the first GM is not told again
    assert _sent(desk, "teknik@example.co.id", "reassigned")


# --- point 4: what meets the first response -------------------------------------------------


def _first_response_ladder(desk: dict[str, Any], ticket: Ticket) -> list[str]:
    claims = [claim.period for claim in table(desk["url"], JobClaim)]
    mails = [f"{m.kind} {m.recipient}" for m in outbound(desk["url"]) if m.kind.startswith("sla-")]
    return [c for c in claims if f"{ticket.reference}/first_response/" in c] + mails


def _past_the_first_response_deadline(desk: dict[str, Any]) -> None:
    """The ladder's reminder, breach and second-level times (due Wednesday 17:00)."""
    for moment in (wib(7, 22, 15, 5), wib(7, 22, 17, 5), wib(7, 23, 17, 5)):
        _at(desk, moment)


def test_resolution_mail_counts_as_first_response_so_no_breach_escalation(desk: dict[str, Any]) -> None:
    customer = "dewi.lestari81@gmail.com"
    _at(desk, wib(7, 21, 10), _complaint(customer, "Dewi Lestari"))
    [notice] = _sent(desk, CIRCULATION, "notice")
    body = (
        "#root-cause Agen Sukamaju libur tanpa pengganti\n"
        "#action Koran diantar ulang oleh agen Depok\n"
        "#target 2026-12-31\n"
        "#status resolved"
    )
    _at(desk, wib(7, 21, 14), _reply(MEMBER, notice, body))
    [resolution] = _sent(desk, customer, "resolution")
    assert "Agen Sukamaju" in resolution.get_content()
    assert _ticket(desk, customer).first_responded_at == wib(7, 21, 14)

    # The customer writes back: reopened, and the first-response clock must not start again.
    _at(
        desk,
        wib(7, 21, 16),
        _reply(customer, resolution, "Hari ini korannya datang, tapi edisi Senin belum."),
    )
    assert _ticket(desk, customer).status == "in-progress"
    _past_the_first_response_deadline(desk)

    ticket = _ticket(desk, customer)
    assert _first_response_ladder(desk, ticket) == []
    assert _sent(desk, CIRCULATION_MANAGER) == [] and _sent(desk, PRINT_GM) == []
    view = sla_view(ticket, wib(7, 23, 18))
    assert (view.first_response_status, view.first_response_breached) == ("met", False)
    [first] = [e for e in _events(desk, ticket) if e.action == "first-response"]
    assert "the resolution mail" in first.reason and "on time" in first.reason


def test_customer_care_answer_from_the_mailbox_counts_as_first_response(desk: dict[str, Any]) -> None:
    complaint = (DATA / "complaint_id_gmail_delivery.eml").read_bytes()
    customer = "dewi.lestari81@gmail.com"
    _at(desk, wib(7, 21, 10), complaint)
    # Our own acknowledgement coming back into the mailbox is our robot's mail: ignored, never an answer.
    [ack] = [m for m in desk["smtp"].messages if ".ack@" in str(m.message["Message-ID"])]
    _at(desk, wib(7, 21, 10, 30), ack.data)
    assert _ticket(desk, customer).first_responded_at is None
    assert inbound(desk["url"])[-1].state == "ignored"

    copy = stamped((DATA / "reply_care_from_shared_mailbox_bcc.eml").read_bytes())
    _at(desk, wib(7, 21, 11, 3), copy)

    ticket = _ticket(desk, customer)
    assert ticket.first_responded_at == wib(7, 21, 11, 3)
    row = inbound(desk["url"])[-1]
    assert (row.state, row.ticket_id) == ("processed", ticket.id)
    [answer] = [e for e in _events(desk, ticket) if e.action == "care-answer"]
    assert answer.actor == CARE_ADDRESS and "diantar ulang hari ini" in (answer.new_value or "")
    assert "On 21/07/2026" not in (answer.new_value or "")  # the quoted complaint is not kept twice
    [first] = [e for e in _events(desk, ticket) if e.action == "first-response"]
    assert "customer care's answer from the mailbox" in first.reason
    assert [m for m in outbound(desk["url"]) if m.cause_inbound_id == row.id] == []  # never answered
    _past_the_first_response_deadline(desk)
    assert _first_response_ladder(desk, ticket) == []
