"""How big a mail the IMAP intake still fetches whole."""

from __future__ import annotations

from daemon.fetch.imap import HARD_MAX_MESSAGE_BYTES, hard_cap, oversize_note


def test_mail_up_to_the_fixed_cap_is_fetched_whole_whatever_the_limit() -> None:
    assert hard_cap(25 * 1024 * 1024) == HARD_MAX_MESSAGE_BYTES == 50 * 1024 * 1024
    assert hard_cap(1000) == HARD_MAX_MESSAGE_BYTES


def test_a_limit_above_the_fixed_cap_raises_the_cap_with_it() -> None:
    assert hard_cap(80 * 1024 * 1024) == 80 * 1024 * 1024


def test_a_mail_over_the_limit_is_noted_for_the_quarantine_record() -> None:
    limit = 25 * 1024 * 1024
    assert oversize_note(limit, limit, "INBOX") == ""
    assert oversize_note(limit + 1, limit, "INBOX") == (
        f"oversize: {limit + 1} bytes, over mailbox.max_message_bytes ({limit}) when fetched"
    )
    beyond = oversize_note(HARD_MAX_MESSAGE_BYTES + 1, limit, "INBOX")
    assert beyond.startswith("oversize: ") and beyond.endswith("the mail was left in INBOX")
