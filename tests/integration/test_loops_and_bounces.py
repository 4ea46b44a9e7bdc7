"""Never loop, never answer ourselves, spare dead addresses: RFC 3834 limits,
bounces (DSNs and plain-text ones) tied to our mail by signed return path or our Message-ID."""

from __future__ import annotations

import email
import email.policy
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.store.models import AddressStatus, TicketEvent
from tests import mailfactory
from tests.clockpin import config_variables
from tests.integration.helpers import (
    CARE_ADDRESS,
    inbound,
    outbound,
    run_cli,
    table,
    tickets,
    write_config,
)

DATA = Path(__file__).resolve().parents[1] / "data"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def desk(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name in config_variables():
        monkeypatch.delenv(name)
    maildir = tmp_path / "mail"
    (maildir / "new").mkdir(parents=True)

    def make(extra: str = "") -> Daemon:
        path = write_config(
            tmp_path,
            database_url=database_url,
            mailbox_url=f"maildir:{maildir}",
            smtp_url=f"file:{tmp_path / 'out'}",
            extra=extra,
        )
        return Daemon(load_config(path), clock=clock)

    clock = Clock()
    yield {"make": make, "maildir": maildir, "url": database_url, "clock": clock, "out": tmp_path / "out"}


def _drop(desk: dict[str, Any], name: str, raw: bytes) -> None:
    (desk["maildir"] / "new" / name).write_bytes(raw)


def _acks_to(desk: dict[str, Any], address: str) -> list[Any]:
    return [row for row in outbound(desk["url"]) if row.kind == "ack" and row.recipient == address]


def test_automatic_answers_are_limited_per_recipient_with_one_limit_notice(desk: dict[str, Any]) -> None:
    with desk["make"]() as daemon:
        for n in range(5):
            _drop(
                desk, f"{n}.eml", mailfactory.complaint(n, sender="busy@example.net", subject=f"Keluhan {n}")
            )
        daemon.run_once()
        acks = _acks_to(desk, "busy@example.net")
        assert len(tickets(desk["url"])) == 5  # every complaint is still a ticket
        assert [row.state for row in acks] == ["sent", "sent", "sent", "suppressed", "suppressed"]
        assert "limit reached" in (acks[3].last_error or "")
        notices = [row for row in outbound(desk["url"]) if row.kind == "auto-limit"]
        assert [(row.recipient, row.state) for row in notices] == [("busy@example.net", "sent")]

        desk["clock"].now += timedelta(hours=2)  # a new hour: room again, no second notice today
        _drop(desk, "6.eml", mailfactory.complaint(6, sender="busy@example.net", subject="Keluhan 6"))
        daemon.run_once()
    assert _acks_to(desk, "busy@example.net")[-1].state == "sent"
    assert len([row for row in outbound(desk["url"]) if row.kind == "auto-limit"]) == 1


def test_mail_from_our_own_address_is_never_answered(desk: dict[str, Any]) -> None:
    with desk["make"]() as daemon:
        _drop(desk, "own.eml", mailfactory.complaint(1, sender=CARE_ADDRESS))
        daemon.run_once()
    [row] = inbound(desk["url"])
    assert row.state == "ignored" and "own" in row.reason
    assert outbound(desk["url"]) == []


def _bounce_for(desk: dict[str, Any], kind: str, *, to: str | None = None, status: str = "5.1.1") -> bytes:
    sent = next(row for row in outbound(desk["url"]) if row.kind == kind)
    original = sent.raw
    return mailfactory.delivery_failure(
        original_to=sent.recipient, original=original, status=status, **({"to": to} if to else {})
    )


def test_permanent_bounce_of_our_acknowledgement_spares_the_address(desk: dict[str, Any]) -> None:
    with desk["make"]() as daemon:
        _drop(desk, "1.eml", mailfactory.complaint(1, sender="gone@example.net"))
        daemon.run_once()
        _drop(desk, "2.eml", _bounce_for(desk, "ack"))
        daemon.run_once()
        bounce = inbound(desk["url"])[1]
        assert bounce.state == "ignored"
        assert "our Message-ID" in bounce.reason and "5.1.1" in bounce.reason
        ticket = tickets(desk["url"])[0]
        assert bounce.ticket_id == ticket.id
        [status] = table(desk["url"], AddressStatus)
        assert status.address == "gone@example.net"
        assert status.undeliverable_until == desk["clock"].now + timedelta(days=60)

        _drop(desk, "3.eml", mailfactory.complaint(3, sender="gone@example.net", subject="Lagi"))
        daemon.run_once()
        assert len(tickets(desk["url"])) == 2
        second_ack = _acks_to(desk, "gone@example.net")[1]
        assert second_ack.state == "suppressed"
        assert (
            second_ack.last_error == f"address bounced ({status.reason}); no automatic mail until 2027-01-22"
        )

        # Once the 60 days are over, the address is answered again (a mail that
        # arrived then: an older one would be backlog, never acknowledged).
        later = desk["clock"].now = desk["clock"].now + timedelta(days=60, minutes=1)
        _drop(
            desk, "4.eml", mailfactory.complaint(4, sender="gone@example.net", subject="Sekali", date=later)
        )
        os.utime(desk["maildir"] / "new" / "4.eml", (later.timestamp(), later.timestamp()))
        daemon.run_once()
    assert len(tickets(desk["url"])) == 3
    assert _acks_to(desk, "gone@example.net")[2].state == "sent"


def test_temporary_or_policy_bounce_does_not_mark_the_address(desk: dict[str, Any]) -> None:
    with desk["make"]() as daemon:
        _drop(desk, "1.eml", mailfactory.complaint(1, sender="full@example.net"))
        daemon.run_once()
        _drop(desk, "2.eml", _bounce_for(desk, "ack", status="5.7.26"))
        daemon.run_once()
    assert table(desk["url"], AddressStatus) == []
    assert "5.7.26" in inbound(desk["url"])[1].reason


def test_signed_return_path_ties_a_bounce_and_a_forged_one_is_only_recorded(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREDESK_SMTP_VERP", "true")
    with desk["make"]() as daemon:
        _drop(desk, "1.eml", mailfactory.complaint(1, sender="real@example.net"))
        daemon.run_once()
        ack = _acks_to(desk, "real@example.net")[0]
        local, _, domain = CARE_ADDRESS.partition("@")
        assert ack.envelope_from.startswith(f"{local}+b.{ack.id}.") and ack.envelope_from.endswith(domain)
        sent = email.message_from_bytes(
            (desk["out"] / next(p.name for p in desk["out"].iterdir() if "-ack-" in p.name)).read_bytes(),
            policy=email.policy.default,
        )
        assert sent["Auto-Submitted"] == "auto-replied"

        # A bounce to the signed address, without any returned original: tied by the token.
        _drop(
            desk,
            "2.eml",
            mailfactory.delivery_failure(original_to="real@example.net", to=ack.envelope_from, original=None),
        )
        # A forged token for the same row: not ours, recorded only.
        forged = f"{local}+b.{ack.id}.aaaaaaaaaa@{domain}"
        _drop(
            desk,
            "3.eml",
            mailfactory.delivery_failure(original_to="real@example.net", to=forged, n=1, original=None),
        )
        daemon.run_once()
    rows = inbound(desk["url"])
    assert "signed return path" in rows[1].reason
    assert "not tied" in rows[2].reason
    [status] = table(desk["url"], AddressStatus)
    assert status.address == "real@example.net"


# --- plain-text bounces: no delivery-status part, tied by what they quote ------


def _headers_of(raw: bytes) -> str:
    """The header block of a mail we sent, as an MTA copies it into a bounce."""
    return raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8")


def _qmail_bounce(original: bytes, recipient: str, *, remote: str = "550 5.1.1 user unknown") -> bytes:
    """A qmail-send "failure notice": text only, the original copied below a line."""
    return (
        "Return-Path: <>\n"
        f"Delivered-To: {CARE_ADDRESS}\n"
        "Received: (qmail 28412 invoked for bounce); 23 Nov 2026 02:31:55 -0000\n"
        "Date: 23 Nov 2026 02:31:55 -0000\n"
        "From: MAILER-DAEMON@mail.kopisusu.example.net\n"
        f"To: {CARE_ADDRESS}\n"
        "Subject: failure notice\n\n"
        "Hi. This is the qmail-send program at mail.kopisusu.example.net.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"<{recipient}>:\nRemote host said: {remote}\nGiving up on 198.51.100.5.\n\n"
        "--- Below this line is a copy of the message.\n\n"
        f"{_headers_of(original)}\n\n(body omitted)\n"
    ).encode()


def _null_sender_bounce(original: bytes, recipient: str) -> bytes:
    """From `MAILER-DAEMON <>`, no Return-Path at all, the original quoted with "> "."""
    quoted = "\n".join(f"> {line}" for line in _headers_of(original).splitlines())
    return (
        "Date: Mon, 23 Nov 2026 14:02:12 +0700\n"
        "From: MAILER-DAEMON <>\n"
        f"To: {CARE_ADDRESS}\n"
        "Subject: Returned mail: User unknown\n"
        "Message-Id: <202611230702.2AN72CkP019044@gw.koperasi.example.or.id>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n"
        "   ----- The following addresses had permanent fatal errors -----\n"
        f"<{recipient}>\n    (reason: 550 Requested action not taken: mailbox unavailable)\n\n"
        "   ----- Original message follows -----\n\n"
        f"{quoted}\n"
    ).encode()


@pytest.fixture
def real_servers(tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any) -> Path:
    return write_config(tmp_path, database_url=database_url, mailbox_url=dovecot.url, smtp_url=smtp_sink.url)


@pytest.mark.integration
@pytest.mark.parametrize("bounce", [_qmail_bounce, _null_sender_bounce], ids=["qmail", "null-sender"])
def test_a_plain_text_bounce_of_our_acknowledgement_spares_the_address(
    real_servers: Path, database_url: str, dovecot: Any, smtp_sink: Any, bounce: Any
) -> None:
    config = str(real_servers)
    dovecot.append(mailfactory.complaint(1, sender="hilang@example.net"))
    assert run_cli("--config", config, "run", "--once") == 0
    smtp_sink.wait_for(2)
    [sent] = [m for m in smtp_sink.messages if "hilang@example.net" in m.rcpt_tos]
    [ack] = _acks_to_url(database_url, "hilang@example.net")
    assert sent.message["Message-ID"] == ack.message_id

    dovecot.append(bounce(sent.data, "hilang@example.net"))
    assert run_cli("--config", config, "run", "--once") == 0
    returned = inbound(database_url)[1]
    assert returned.state == "ignored"  # never quarantined for its empty sender
    assert "our Message-ID" in returned.reason and "plain text" in returned.reason
    assert "hilang@example.net failed 5.1.1" in returned.reason
    [ticket] = tickets(database_url)
    assert returned.ticket_id == ticket.id
    [event] = [e for e in table(database_url, TicketEvent) if e.action == "bounce"]
    assert event.ticket_id == ticket.id and event.inbound_id == returned.id and event.outbound_id == ack.id
    [status] = table(database_url, AddressStatus)
    assert status.address == "hilang@example.net" and "5.1.1" in status.reason

    delivered = len(smtp_sink.messages)
    dovecot.append(mailfactory.complaint(2, sender="hilang@example.net", subject="Masih belum datang"))
    assert run_cli("--config", config, "run", "--once") == 0
    assert len(tickets(database_url)) == 2  # still a complaint, only not answered
    second = _acks_to_url(database_url, "hilang@example.net")[1]
    assert second.state == "suppressed" and "bounced" in (second.last_error or "")
    smtp_sink.wait_for(delivered + 1)  # the department still hears of it
    assert not any("hilang@example.net" in m.rcpt_tos for m in smtp_sink.messages[delivered:])


def _acks_to_url(database_url: str, address: str) -> list[Any]:
    return [row for row in outbound(database_url) if row.kind == "ack" and row.recipient == address]


def test_a_plain_text_bounce_that_quotes_nothing_of_ours_is_recorded_as_untied(desk: dict[str, Any]) -> None:
    with desk["make"]() as daemon:
        _drop(desk, "1.eml", mailfactory.complaint(1, sender="rudi.hartono@pabrikroti.example.com"))
        daemon.run_once()
        _drop(desk, "2.eml", (DATA / "bounce_plain_exim_ndr.eml").read_bytes())
        daemon.run_once()
    returned = inbound(desk["url"])[1]
    assert returned.state == "ignored"
    assert "not tied" in returned.reason and "plain text" in returned.reason
    assert returned.ticket_id is None
    assert table(desk["url"], AddressStatus) == []
    assert not [e for e in table(desk["url"], TicketEvent) if e.action == "bounce"]


def test_a_plain_text_delay_warning_is_tied_but_does_not_mark_the_address(desk: dict[str, Any]) -> None:
    with desk["make"]() as daemon:
        _drop(desk, "1.eml", mailfactory.complaint(1, sender="lambat@example.net"))
        daemon.run_once()
        ack = _acks_to(desk, "lambat@example.net")[0]
        _drop(desk, "2.eml", _qmail_bounce(ack.raw, "lambat@example.net", remote="451 4.3.0 try again later"))
        daemon.run_once()
    returned = inbound(desk["url"])[1]
    assert "our Message-ID" in returned.reason and "4.3.0" in returned.reason
    assert table(desk["url"], AddressStatus) == []


def test_a_signed_return_path_quoted_in_a_plain_text_bounce_ties_it_and_a_forged_one_does_not(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREDESK_SMTP_VERP", "true")
    with desk["make"]() as daemon:
        _drop(desk, "1.eml", mailfactory.complaint(1, sender="real@example.net"))
        _drop(desk, "2.eml", mailfactory.complaint(2, sender="victim@example.net", subject="Lain"))
        daemon.run_once()
        real, victim = _acks_to(desk, "real@example.net")[0], _acks_to(desk, "victim@example.net")[0]
        local, _, domain = CARE_ADDRESS.partition("@")
        forged = f"{local}+b.{victim.id}.aaaaaaaaaa@{domain}"

        def copy_without_message_id(row: Any, return_path: str) -> bytes:
            # A relay rewrote the envelope to our plain address and kept only some headers.
            return (
                f"Return-Path: <{return_path}>\nTo: {row.recipient}\nSubject: {row.subject}\n\nbody".encode()
            )

        _drop(
            desk,
            "3.eml",
            _qmail_bounce(copy_without_message_id(real, real.envelope_from), "real@example.net"),
        )
        _drop(desk, "4.eml", _qmail_bounce(copy_without_message_id(victim, forged), "victim@example.net"))
        daemon.run_once()
    rows = inbound(desk["url"])
    assert "signed return path in the returned mail" in rows[2].reason
    assert "not tied" in rows[3].reason
    [status] = table(desk["url"], AddressStatus)
    assert status.address == "real@example.net"
