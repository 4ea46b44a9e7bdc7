"""Nobody forges a department or a branch: forged senders change no ticket, over real IMAP and SMTP.

A department member's reply commands a ticket, and a branch's recap imports
and updates tickets, only when our receiving server's Authentication-Results
vouch for the sender (`[security]`, docs/departments.md "Sender
verification"). Every test runs the daemon on Dovecot, aiosmtpd and both
databases, and reads what the customer, the department and the branch got.
"""

from __future__ import annotations

import email
import email.policy
import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Any

import pytest

from daemon import clock
from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.store.models import RecapFile, Ticket, TicketEvent
from tests import mailfactory
from tests.integration.helpers import (
    CARE_ADDRESS,
    TRUST_OUR_MX,
    outbound,
    run_cli,
    table,
    tickets,
    write_config,
)
from tests.mailfactory import OUR_MX, stamped
from tests.recapfiles import RULES_TEXT, complaint_rows, filled_template, recap_rules

pytestmark = pytest.mark.integration

MEMBER = "bambang.sirkulasi@example.co.id"  # a member of `koran`, which owns print delivery
DEPARTMENT = "sirkulasi@example.co.id"
CUSTOMER = "budi@example.net"
BRANCH = "biro.jatim@example.co.id"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECAP_NOW = datetime(2026, 4, 20, 3, 0, tzinfo=UTC)  # after the March recaps, outside every reminder
CLOSING_COMMANDS = (
    "#root-cause Loper baru salah rute\n#action Rute diperbaiki\n#target 2026-12-31\n#status resolved"
)


def _desk(tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any, security: str) -> dict[str, Any]:
    config = write_config(
        tmp_path, database_url=database_url, mailbox_url=dovecot.url, smtp_url=smtp_sink.url, extra=security
    )
    return {"config": config, "url": database_url, "imap": dovecot, "smtp": smtp_sink}


def _run(desk: dict[str, Any]) -> None:
    assert run_cli("--config", str(desk["config"]), "run", "--once") == 0


def _to(desk: dict[str, Any], recipient: str, kind: str | None = None) -> list[EmailMessage]:
    found = []
    for received in desk["smtp"].messages:
        if recipient in [r.lower() for r in received.rcpt_tos]:
            message = email.message_from_bytes(received.data, policy=email.policy.default)
            if kind is None or f".{kind}@" in str(message["Message-ID"]):
                found.append(message)
    return found


def _open_complaint(desk: dict[str, Any], *, cc: str = "") -> EmailMessage:
    """A customer's complaint routed to `koran`; its department notice comes back."""
    extra = {"Cc": cc} if cc else None
    desk["imap"].append(mailfactory.complaint(sender=CUSTOMER, name="Budi", extra_headers=extra))
    _run(desk)
    [ticket] = tickets(desk["url"])
    assert ticket.department == "koran"
    [notice] = _to(desk, DEPARTMENT, "notice")
    return notice


def _reply(notice: EmailMessage, body: str, *authentication: str, cc: str = "") -> bytes:
    """The member's reply to the notice, with these Authentication-Results headers from the top."""
    message = EmailMessage(policy=email.policy.SMTP)
    for value in authentication:
        message["Authentication-Results"] = value
    message["From"] = formataddr(("Bambang", MEMBER))
    message["To"] = str(notice["Reply-To"])
    if cc:
        message["Cc"] = cc
    message["Subject"] = f"RE: {notice['Subject']}"
    message["Message-ID"] = make_msgid(domain="example.co.id")
    message["Date"] = email.utils.format_datetime(clock.now())
    message["In-Reply-To"] = message["References"] = str(notice["Message-ID"])
    message.set_content(f"{body}\n\n-----Original Message-----\nFrom: Customer Care\n> ...\n")
    return message.as_bytes()


def _ticket(desk: dict[str, Any]) -> Ticket:
    [ticket] = tickets(desk["url"])
    return ticket


def _actions(desk: dict[str, Any]) -> list[str]:
    return [event.action for event in table(desk["url"], TicketEvent)]


def _assert_nothing_changed(desk: dict[str, Any]) -> None:
    """The forged reply is an unverified note: the ticket is as it was; customer and sender heard nothing."""
    ticket = _ticket(desk)
    assert (ticket.status, ticket.root_cause, ticket.corrective_action) == ("assigned", None, None)
    actions = _actions(desk)
    assert "unverified-note" in actions and "changed" not in actions
    answers = {"reply", "resolution", "survey", "confirmation"}
    assert [m.kind for m in outbound(desk["url"]) if m.kind in answers] == []
    assert _to(desk, MEMBER) == []


# --- point 1: no trust setting means nobody is verified ---------------------------------------


def test_forged_department_reply_without_trust_setting_changes_nothing(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any, caplog: pytest.LogCaptureFixture
) -> None:
    desk = _desk(tmp_path, database_url, dovecot, smtp_sink, security="")  # the shipped default
    notice = _open_complaint(desk)
    with caplog.at_level(logging.WARNING, logger="caredesk"):
        desk["imap"].append(_reply(notice, CLOSING_COMMANDS))  # no Authentication-Results at all
        _run(desk)
    _assert_nothing_changed(desk)
    [note] = [e for e in table(desk["url"], TicketEvent) if e.action == "unverified-note"]
    assert "trusted_authserv_ids" in (note.reason or "")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("[security] trusted_authserv_ids is empty" in message for message in warnings)


def test_lab_with_trust_none_accepts_an_unauthenticated_department_reply(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any, caplog: pytest.LogCaptureFixture
) -> None:
    desk = _desk(tmp_path, database_url, dovecot, smtp_sink, security='[security]\ntrust = "none"\n')
    notice = _open_complaint(desk)
    with caplog.at_level(logging.WARNING, logger="caredesk"):
        desk["imap"].append(_reply(notice, CLOSING_COMMANDS))
        _run(desk)
    ticket = _ticket(desk)
    assert (ticket.status, ticket.root_cause) == ("resolved", "Loper baru salah rute")
    assert _to(desk, CUSTOMER, "resolution")
    assert any('trust = "none"' in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


# --- point 2: only the topmost header(s) our own server wrote are read -------------------------


def test_forged_authentication_results_below_ours_is_ignored(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    desk = _desk(tmp_path, database_url, dovecot, smtp_sink, security=TRUST_OUR_MX)
    notice = _open_complaint(desk)
    # Our server checked SPF and DMARC and found no DKIM signature to report on.
    ours = f"{OUR_MX}; spf=pass smtp.mailfrom=example.co.id; dmarc=none header.from=example.co.id"
    forged = f"{OUR_MX}; dkim=pass header.d=example.co.id header.s=s1 header.b=AbC"
    desk["imap"].append(_reply(notice, CLOSING_COMMANDS, ours, forged))
    _run(desk)
    _assert_nothing_changed(desk)


def test_milter_result_with_our_id_below_the_top_is_ignored(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    desk = _desk(tmp_path, database_url, dovecot, smtp_sink, security=TRUST_OUR_MX)
    notice = _open_complaint(desk)
    ours = f"{OUR_MX}; dkim=none (no signature)"
    # Shaped like OpenDMARC's own header, which a site with two milters would also get.
    milter = f"{OUR_MX} 1; dmarc=pass (p=none dis=none) header.from=example.co.id"
    desk["imap"].append(_reply(notice, CLOSING_COMMANDS, ours, milter))
    _run(desk)
    _assert_nothing_changed(desk)
    # The same reply stamped by our server alone is believed: the check is not simply closed.
    desk["imap"].append(stamped(_reply(notice, CLOSING_COMMANDS)))
    _run(desk)
    assert _ticket(desk).status == "resolved"


# --- point 3: a branch's recap needs the same verification ------------------------------------


def _recap_mail(n: int, data: bytes) -> bytes:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = formataddr(("Biro Jawa Timur", BRANCH))
    message["To"] = CARE_ADDRESS
    message["Subject"] = "Rekap keluhan pelanggan Maret 2026"
    message["Date"] = "Mon, 20 Apr 2026 09:00:00 +0700"
    message["Message-ID"] = f"<forged-recap-{n}.{BRANCH}>"
    message.set_content("Terlampir rekap keluhan bulan Maret 2026.\n")
    message.add_attachment(data, maintype="application", subtype=XLSX.split("/")[1], filename="rekap.xlsx")
    return message.as_bytes()


def _recap_run(config: Path) -> None:
    with Daemon(load_config(config), clock=lambda: RECAP_NOW) as daemon:
        daemon.run_once()


def _replies_to_branch(smtp_sink: Any) -> list[EmailMessage]:
    found = []
    for received in smtp_sink.messages:
        message = email.message_from_bytes(received.data, policy=email.policy.default)
        if BRANCH in [r.lower() for r in received.rcpt_tos] and message["In-Reply-To"]:
            found.append(message)
    return found


def test_forged_branch_recap_changes_nothing_and_is_answered_not_verified(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_TEXT)
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        rules=rules,
        extra=TRUST_OUR_MX,
    )
    rows = complaint_rows(3)  # JT-003 is still being handled ("proses")
    dovecot.append(stamped(_recap_mail(1, filled_template(rows, rules=recap_rules()))))
    _recap_run(config)
    before = {t.reference: t.model_dump() for t in tickets(database_url)}
    assert [t["status"] for t in before.values()].count("resolved") == 2  # JT-001 and JT-002

    rows[2].update(root_cause="dipalsukan", action="dipalsukan", completed=rows[2]["received"])
    rows[2]["status"] = "selesai"
    forged = _recap_mail(2, filled_template([*rows, *complaint_rows(5)[3:]], rules=recap_rules()))
    dovecot.append(forged)  # From the branch's address, but our server never vouched for it
    _recap_run(config)

    assert {
        t.reference: t.model_dump() for t in tickets(database_url)
    } == before  # nothing changed, nothing new
    files = table(database_url, RecapFile)
    assert [(f.state, f.branch, f.rows_imported) for f in files] == [
        ("imported", "biro-jatim", 3),
        ("refused", "biro-jatim", 0),
    ]
    assert "could not be verified" in (files[1].reason or "")
    smtp_sink.wait_for(2)
    [_accepted, refused] = _replies_to_branch(smtp_sink)
    assert "DITOLAK" in str(refused["Subject"])
    text = refused.get_content()
    assert "pengirim tidak dapat diverifikasi" in text and "the sender could not be verified" in text
    # An auto-reply under the per-recipient limits: forged recaps cannot flood the branch.
    assert refused["Auto-Submitted"] == "auto-replied"
    assert [m.automatic for m in outbound(database_url) if m.kind == "recap-reply"] == [False, True]


# --- point 11a: a verified member the customer copied is staff ---------------------------------


def test_verified_department_member_in_cc_is_staff_not_customer(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    desk = _desk(tmp_path, database_url, dovecot, smtp_sink, security=TRUST_OUR_MX)
    notice = _open_complaint(desk, cc=MEMBER)  # the customer copied the member they know
    assert MEMBER in _ticket(desk).watchers
    body = "#root-cause Loper baru salah rute\n#reply\nKoran Anda kami antar ulang hari ini."
    desk["imap"].append(stamped(_reply(notice, body, cc=CUSTOMER)))
    _run(desk)
    ticket = _ticket(desk)
    assert (ticket.status, ticket.root_cause) == ("in-progress", "Loper baru salah rute")
    assert "follow-up" not in _actions(desk)
    # Not forwarded back to their own department as a customer's follow-up; confirmed to them as staff.
    assert (
        _to(desk, DEPARTMENT, "forward") == []
        and [m.kind for m in outbound(desk["url"])].count("forward") == 0
    )
    assert _to(desk, MEMBER, "confirmation")
    [relayed] = _to(desk, CUSTOMER, "reply")
    assert "antar ulang" in relayed.get_content()
