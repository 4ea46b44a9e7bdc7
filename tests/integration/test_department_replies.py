"""Departments and customers work the ticket by email, over real IMAP and SMTP:
threading, reply commands, the corrective-action lifecycle, verified senders, survey."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from daemon import clock
from daemon.store import db, queries
from daemon.store.models import Ticket, TicketEvent
from tests import mailfactory
from tests.integration.helpers import CARE_ADDRESS, run_cli, tickets, write_config

pytestmark = pytest.mark.integration

MEMBER = "bambang.sirkulasi@example.co.id"  # a member of `koran`, which owns print delivery
TRUSTED = "mx.example.co.id"
PASS = f"{TRUSTED}; dkim=pass header.d=example.co.id; dmarc=pass header.from=example.co.id"
FAIL = f"{TRUSTED}; dkim=fail header.d=example.co.id; dmarc=fail header.from=example.co.id"


@pytest.fixture
def desk(tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any) -> dict[str, Any]:
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        extra=f'survey_standard = 3\n[security]\ntrusted_authserv_ids = "{TRUSTED}"\n',
    )
    # [mailbox] is written by the helper; plus-addressing comes through the environment.
    return {"config": config, "url": database_url, "imap": dovecot, "smtp": smtp_sink}


@pytest.fixture(autouse=True)
def _plus_addressing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREDESK_MAILBOX_PLUS_ADDRESSING", "true")


def _run(desk: dict[str, Any]) -> None:
    assert run_cli("--config", str(desk["config"]), "run", "--once") == 0


def _sent(desk: dict[str, Any], to: str, kind: str | None = None) -> list[EmailMessage]:
    found = []
    for received in desk["smtp"].messages:
        if to in [r.lower() for r in received.rcpt_tos]:
            message = email.message_from_bytes(received.data, policy=email.policy.default)
            if kind is None or f".{kind}@" in str(message["Message-ID"]):
                found.append(message)
    return found


def _reply(
    sender: str,
    to: str,
    subject: str,
    body: str,
    *,
    in_reply_to: str | None = None,
    authentication: str | None = None,
    quoted: str = "",
) -> bytes:
    """A reply shaped like Outlook's: RE: prefix, quoted history below, maybe no In-Reply-To."""
    message = EmailMessage(policy=email.policy.SMTP)
    if authentication:
        message["Authentication-Results"] = authentication
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"RE: {subject}"
    message["Message-ID"] = make_msgid(domain="example.co.id")
    message["Date"] = email.utils.format_datetime(clock.now())
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    history = "\n".join(f"> {line}" for line in quoted.splitlines())
    message.set_content(f"{body}\n\n-----Original Message-----\nFrom: Customer Care\n{history}\n")
    return message.as_bytes()


def _ticket(desk: dict[str, Any], reference: str) -> Ticket:
    engine = db.make_engine(desk["url"])
    try:
        with db.session(engine) as session:
            found = queries.find_ticket(session, reference)
            assert found is not None
            return found
    finally:
        engine.dispose()


def _events(desk: dict[str, Any], ticket: Ticket) -> list[TicketEvent]:
    from tests.integration.helpers import table

    return [e for e in table(desk["url"], TicketEvent) if e.ticket_id == ticket.id]


def _open_complaint(desk: dict[str, Any], sender: str = "budi@example.net") -> tuple[str, EmailMessage]:
    desk["imap"].append(mailfactory.complaint(sender=sender))
    _run(desk)
    [ticket] = [t for t in tickets(desk["url"]) if t.customer_email == sender]
    assert ticket.department == "koran"
    [notice] = _sent(desk, "sirkulasi@example.co.id", "notice")
    return ticket.reference, notice


def test_department_moves_a_ticket_through_the_whole_corrective_action_cycle(desk: dict[str, Any]) -> None:
    reference, notice = _open_complaint(desk)
    reply_to = str(notice["Reply-To"])
    assert reply_to.startswith("care+t.") and reference.lower() in reply_to

    body = (
        "#root-cause Loper baru belum hafal rute Jl. Melati\n"
        "#action Rute loper diperbarui dan diawasi supervisor\n"
        "#target 2026-12-31\n"
        "#reply\n"
        "Mohon maaf, koran Anda akan diantar ulang hari ini.\n"
    )
    desk["imap"].append(
        _reply(
            MEMBER,
            reply_to,
            notice["Subject"],
            body,
            authentication=PASS,
            in_reply_to=str(notice["Message-ID"]),
        )
    )
    _run(desk)
    ticket = _ticket(desk, reference)
    assert ticket.status == "in-progress"
    assert ticket.root_cause == "Loper baru belum hafal rute Jl. Melati"
    assert str(ticket.action_target) == "2026-12-31"
    assert ticket.first_responded_at is not None
    [relayed] = _sent(desk, "budi@example.net", "reply")
    text = relayed.get_content()
    assert "diantar ulang" in text
    assert MEMBER not in text and "sirkulasi" not in str(relayed["From"])  # department never exposed
    assert relayed["From"].addresses[0].addr_spec == CARE_ADDRESS
    [confirmation] = _sent(desk, MEMBER, "confirmation")
    assert "root_cause" in confirmation.get_content()

    desk["imap"].append(_reply(MEMBER, reply_to, notice["Subject"], "#status resolved", authentication=PASS))
    _run(desk)
    assert _ticket(desk, reference).status == "resolved"
    [result] = _sent(desk, "budi@example.net", "resolution")
    assert "Loper baru" in result.get_content()

    desk["imap"].append(
        _reply(
            MEMBER, reply_to, notice["Subject"], "#effective yes tidak ada keluhan lagi", authentication=PASS
        )
    )
    _run(desk)
    closed = _ticket(desk, reference)
    assert closed.status == "closed"
    assert closed.closed_by == MEMBER
    assert _sent(desk, "budi@example.net", "survey")
    changes = [
        (e.field_name, e.old_value, e.new_value) for e in _events(desk, closed) if e.action == "changed"
    ]
    assert ("status", "resolved", "closed") in changes  # every change: who, when, old -> new
    assert all(e.inbound_id for e in _events(desk, closed) if e.action == "changed")


def test_forged_department_reply_changes_nothing(desk: dict[str, Any]) -> None:
    reference, notice = _open_complaint(desk)
    forged = _reply(
        MEMBER,
        str(notice["Reply-To"]),
        notice["Subject"],
        "#status resolved\n#root-cause x",
        authentication=FAIL,
        in_reply_to=str(notice["Message-ID"]),
    )
    desk["imap"].append(forged)
    _run(desk)
    ticket = _ticket(desk, reference)
    assert ticket.status == "assigned" and ticket.root_cause is None
    actions = [e.action for e in _events(desk, ticket)]
    assert "unverified-note" in actions and "changed" not in actions
    assert _sent(desk, MEMBER) == []  # no confirmation to a forged sender


def test_stranger_with_a_valid_subject_tag_starts_a_new_ticket(desk: dict[str, Any]) -> None:
    reference, _notice = _open_complaint(desk)
    desk["imap"].append(
        mailfactory.complaint(
            1, sender="stranger@example.org", subject=f"Re: [{reference}] tolong ditutup saja"
        )
    )
    _run(desk)
    made = tickets(desk["url"])
    assert len(made) == 2
    assert made[1].customer_email == "stranger@example.org"
    assert _ticket(desk, reference).status == "assigned"
    assert any(e.action == "near-miss" for e in _events(desk, made[1]))


def test_effective_no_reopens_and_closing_without_root_cause_is_refused(desk: dict[str, Any]) -> None:
    reference, notice = _open_complaint(desk)
    reply_to, subject = str(notice["Reply-To"]), notice["Subject"]

    desk["imap"].append(_reply(MEMBER, reply_to, subject, "#status closed", authentication=PASS))
    _run(desk)
    assert _ticket(desk, reference).status == "assigned"
    [refused] = _sent(desk, MEMBER, "confirmation")
    assert "root cause" in refused.get_content().lower()

    steps = [
        "#root-cause a\n#action b\n#target 2026-12-31\n#status resolved",
        "#effective no masih terlambat",
    ]
    for body in steps:
        desk["imap"].append(_reply(MEMBER, reply_to, subject, body, authentication=PASS))
        _run(desk)
    reopened = _ticket(desk, reference)
    assert reopened.status == "in-progress"
    assert "not effective" in (reopened.effectiveness or "")


def test_outlook_reply_without_in_reply_to_threads_through_the_reply_address(desk: dict[str, Any]) -> None:
    reference, _notice = _open_complaint(desk)
    [ack] = _sent(desk, "budi@example.net", "ack")
    reply_to = str(ack["Reply-To"])
    # No In-Reply-To, no References, a changed subject: only the signed address ties it.
    desk["imap"].append(
        _reply(
            "budi@example.net",
            reply_to,
            "Masalah koran",
            "Sampai sekarang belum datang juga.",
            quoted="Terima kasih telah menghubungi Customer Care.",
        )
    )
    _run(desk)
    assert len(tickets(desk["url"])) == 1
    ticket = _ticket(desk, reference)
    [follow_up] = [e for e in _events(desk, ticket) if e.action == "follow-up"]
    assert "belum datang" in (follow_up.new_value or "")
    assert "Terima kasih telah menghubungi" not in (follow_up.new_value or "")  # quoted history not stored
    [forwarded] = _sent(desk, "sirkulasi@example.co.id", "forward")
    assert "belum datang" in forwarded.get_content()


def test_low_survey_score_opens_a_linked_complaint(desk: dict[str, Any]) -> None:
    reference, notice = _open_complaint(desk)
    reply_to, subject = str(notice["Reply-To"]), notice["Subject"]
    for body in ("#root-cause a\n#action b\n#target 2026-12-31\n#status resolved", "#effective yes"):
        desk["imap"].append(_reply(MEMBER, reply_to, subject, body, authentication=PASS))
        _run(desk)
    [survey] = _sent(desk, "budi@example.net", "survey")
    desk["imap"].append(
        _reply(
            "budi@example.net",
            str(survey["Reply-To"]),
            str(survey["Subject"]),
            "2\nKoran masih sering terlambat.",
            in_reply_to=str(survey["Message-ID"]),
        )
    )
    _run(desk)
    old = _ticket(desk, reference)
    assert old.survey_score == 2
    made = tickets(desk["url"])
    assert len(made) == 2
    assert made[1].related_ticket_id == old.id
    assert made[1].customer_email == "budi@example.net"
    shown = _show(desk, made[1].reference)
    assert shown["related_ticket"] == reference
    assert _show(desk, reference)["survey_score"] == 2


def _show(desk: dict[str, Any], reference: str) -> dict[str, Any]:
    import contextlib
    import io
    import json

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert run_cli("--config", str(desk["config"]), "tickets", "show", reference, "--json") == 0
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def test_department_member_gets_every_confirmation(desk: dict[str, Any]) -> None:
    # Issue 12.1: a member who sends many command mails in one hour, over several
    # tickets, gets a confirmation for each; the customers' limit of 3 an hour is
    # for robots and loops, not for verified staff.
    customers = [f"pelanggan{n}@example.net" for n in range(3)]
    for customer in customers:
        desk["imap"].append(mailfactory.complaint(sender=customer))
    _run(desk)
    notices = _sent(desk, "sirkulasi@example.co.id", "notice")
    references = [t.reference for t in tickets(desk["url"])]
    assert len(notices) == len(references) == 3
    opened = [(next(r for r in references if r in str(n["Subject"])), n) for n in notices]
    for reference, notice in opened:
        for note in ("#note loper dihubungi", "#note rute dicek ulang"):
            desk["imap"].append(
                _reply(
                    MEMBER,
                    str(notice["Reply-To"]),
                    notice["Subject"],
                    f"{note} untuk {reference}",
                    authentication=PASS,
                    in_reply_to=str(notice["Message-ID"]),
                )
            )
    _run(desk)

    confirmations = _sent(desk, MEMBER, "confirmation")
    assert len(confirmations) == 6
    assert not [
        m
        for m in _sent(desk, MEMBER)
        if "auto_limit" in str(m["Message-ID"]) or ".auto-limit@" in str(m["Message-ID"])
    ]
    # The customers' own limit is untouched by the member's confirmations.
    for customer in customers:
        assert len(_sent(desk, customer, "ack")) == 1
