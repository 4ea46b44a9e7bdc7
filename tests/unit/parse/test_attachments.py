"""Attachments: the budget that admits them, size estimates, damaged base64, display names."""

from __future__ import annotations

import base64

import pytest

from daemon.parse import limits
from daemon.parse.attachments import AttachmentBudget, attachment, decode_base64, estimated_size


def test_the_budget_stops_at_the_count_and_says_how_many_were_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "ATTACHMENT_COUNT_LIMIT", 2)
    budget = AttachmentBudget()
    assert [budget.admit(f"f{number}", 1) for number in range(4)] == [True, True, False, False]
    assert budget.defects() == ("attachments truncated: kept 2 of 4",)


def test_the_budget_drops_what_is_too_big_alone_or_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "ATTACHMENT_SIZE_LIMIT", 100)
    monkeypatch.setattr(limits, "ATTACHMENT_TOTAL_LIMIT", 150)
    budget = AttachmentBudget()
    assert budget.admit("besar", 101) is False
    assert budget.admit("a", 100) is True
    assert budget.admit("b", 60) is False
    assert budget.admit("c", 50) is True
    budget.damaged("c")
    assert budget.defects() == (
        "attachment dropped: besar is over 100 bytes",
        "attachment dropped: b is over the 150 byte total",
        "attachment damaged: c has invalid base64",
    )


@pytest.mark.parametrize("size", [0, 1, 2, 3, 57, 58, 1000])
def test_the_estimate_is_never_below_the_decoded_size(size: int) -> None:
    encoded = base64.encodebytes(bytes(size)).decode()
    assert estimated_size(encoded, is_base64=True) >= size
    assert estimated_size("abc", is_base64=False) == 3


def test_damaged_base64_is_decoded_as_far_as_it_goes() -> None:
    assert decode_base64(base64.b64encode(b"intact").decode()) == (b"intact", True)
    payload, intact = decode_base64("aGVs!bG8gd29y*bGQ")
    assert intact is False
    assert payload == b"hello wor"


def test_an_attachment_value_has_a_display_name_and_a_digest() -> None:
    value = attachment("../../etc/passwd", "", b"x")
    assert value.filename == "passwd"
    assert value.content_type == "application/octet-stream"
    assert value.size == 1
    assert value.sha256 == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
