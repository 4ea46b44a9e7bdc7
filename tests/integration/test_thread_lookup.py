"""Which ticket a mail's Message-IDs belong to: one of our mails first, then one we received.

`store.tickets.ticket_of_message_ids` asks both tables in one statement (issue 17);
the order between them is what threading relies on, on both backends.
"""

from __future__ import annotations

from sqlmodel import Session

from daemon.store import tickets as ticket_store
from daemon.store.models import InboundMessage, OutboundMessage
from tests.integration.seeding import RECEIVED, seeded, ticket


def _ours(session: Session, message_id: str, ticket_id: int | None) -> None:
    session.add(
        OutboundMessage(
            kind="ack",
            ticket_id=ticket_id,
            recipient="pelanggan@example.net",
            envelope_from="care@example.com",
            message_id=message_id,
            raw=b"",
            created_at=RECEIVED,
            next_attempt_at=RECEIVED,
        )
    )


def _received(session: Session, message_id: str, ticket_id: int | None, number: int) -> None:
    session.add(
        InboundMessage(
            source="imap://care@127.0.0.1/INBOX",
            source_key=f"1/{number}",
            uid=number,
            uidvalidity=1,
            message_id=message_id,
            ticket_id=ticket_id,
            raw=b"",
            raw_sha256=f"{number:064x}",
            size=0,
            received_at=RECEIVED,
        )
    )


def test_our_mail_wins_over_a_received_one_and_unticketed_rows_are_passed_over(database_url: str) -> None:
    with seeded(database_url) as session:
        first, second = ticket(1), ticket(2)
        session.add_all([first, second])
        session.flush()
        assert first.id is not None and second.id is not None
        _ours(session, "<ack-1@care.example.com>", first.id)
        _received(session, "<ack-1@care.example.com>", second.id, 1)
        _received(session, "<customer-2@example.net>", second.id, 2)
        _ours(session, "<report@care.example.com>", None)
        _received(session, "<report@care.example.com>", None, 3)
        _ours(session, "<loose@care.example.com>", None)
        _received(session, "<loose@care.example.com>", second.id, 4)
        session.flush()

        def lookup(*message_ids: str) -> int | None:
            return ticket_store.ticket_of_message_ids(session, list(message_ids))

        assert lookup("<ack-1@care.example.com>") == first.id
        assert lookup("<nobody@example.net>", "<customer-2@example.net>") == second.id
        assert lookup("<customer-2@example.net>", "<ack-1@care.example.com>") == first.id
        assert lookup("<report@care.example.com>") is None
        assert lookup("<loose@care.example.com>") == second.id
        assert lookup("<nobody@example.net>") is None
