"""`caredesk quarantine show` reads who discarded a mail, when and why, from its notes."""

from __future__ import annotations

from daemon.commands.quarantine import discard_record


def test_the_last_discard_note_says_who_when_and_why() -> None:
    notes = (
        "replayed by ops at 2026-07-21T03:00:00+00:00; earlier: route: RuntimeError: boom\n"
        "discarded by rahmat at 2026-07-21T04:10:00+00:00: spam: sent 40 times\n"
    )
    assert discard_record(notes) == {
        "by": "rahmat",
        "at": "2026-07-21T04:10:00+00:00",
        "reason": "spam: sent 40 times",
    }


def test_a_mail_never_discarded_has_no_discard_record() -> None:
    assert discard_record("") is None
    assert discard_record("replayed by ops at 2026-07-21T03:00:00+00:00; earlier: x") is None
