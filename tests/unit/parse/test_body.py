"""The body reader: which parts make the text, what a reply adds, the caps and their notes."""

from __future__ import annotations

import hashlib

import pytest

from daemon.parse import limits
from daemon.parse.body import body_text, new_text, read_body, sanitised_html


def test_plain_parts_are_the_text_even_when_there_is_html() -> None:
    body = read_body(["Halo tim,\r\nmesin rusak.  \r\n"], ["<p>lain</p>"], "Keluhan")
    assert body.text == "Halo tim,\nmesin rusak."
    assert body.html == "<p>lain</p>"
    assert body.sha256 == hashlib.sha256(body.text.encode("utf-8")).hexdigest()
    assert body.notes == ()


def test_html_is_converted_when_no_plain_part_has_text() -> None:
    body = read_body(["  \n"], ["<p>Isi</p><p>keluhan</p>"], "Keluhan")
    assert body.text == "Isi\n\nkeluhan"


@pytest.mark.parametrize("subject", ["Fwd: keluhan", "TR: keluhan", "Diteruskan: keluhan", " fw : x"])
def test_a_forward_keeps_its_quoted_text_as_new(subject: str) -> None:
    text = "Lihat di bawah.\n\n> Mesin kami rusak sejak kemarin."
    assert new_text(text, subject) == text


def test_a_reply_loses_its_quoted_history() -> None:
    text = "Masih rusak.\n\n> Mesin kami rusak sejak kemarin."
    assert new_text(text, "Re: keluhan") == "Masih rusak."


def test_text_over_the_limit_is_cut_with_a_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "TEXT_LIMIT", 1000)
    text, notes = body_text(["a" * 5000], [])
    assert notes == ("text truncated",)
    assert len(text) <= 1000
    assert text.endswith("more characters in the original mail]")


def test_html_beyond_what_is_converted_counts_as_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "HTML_LIMIT", 100)
    text, notes = body_text([], ["<p>" + "b" * 500 + "</p>"])
    assert notes == ("text truncated",)
    assert "text truncated" in text


def test_the_body_notes_come_text_first_then_html(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "TEXT_LIMIT", 1000)
    monkeypatch.setattr(limits, "HTML_DISPLAY_LIMIT", 1000)
    body = read_body([], ["<p>" + "c " * 2000 + "</p>"], "x")
    assert body.notes == ("text truncated", "html truncated")


def test_no_html_part_gives_no_html() -> None:
    assert sanitised_html(["", "  "]) == ("", ())
