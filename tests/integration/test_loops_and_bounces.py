"""Never loop, never answer ourselves, spare dead addresses: RFC 3834 limits,
bounces tied to our mail by signed return path or our Message-ID."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.store.models import AddressStatus
from tests import mailfactory
from tests.clockpin import config_variables
from tests.integration.helpers import CARE_ADDRESS, inbound, outbound, table, tickets, write_config


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
    assert second_ack.state == "suppressed" and "bounced" in (second_ack.last_error or "")


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
