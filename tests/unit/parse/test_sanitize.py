"""HTML from mail reduced to the allow-list: nothing runs, nothing loads, the text stays."""

from __future__ import annotations

import pytest

from daemon.parse.sanitize import clean_html


@pytest.mark.parametrize(
    ("hostile", "kept"),
    [
        ("<script>alert(1)</script><p>Keluhan</p>", "<p>Keluhan</p>"),
        ('<p onclick="steal()" onmouseover="x()">Keluhan</p>', "<p>Keluhan</p>"),
        ('<img src="cid:foto@x" onerror="alert(1)">', '<img src="cid:foto@x">'),
        ('<iframe src="https://evil.example/">bingkai</iframe>ok', "ok"),
        ('<meta http-equiv="refresh" content="0;url=https://evil.example/">ok', "ok"),
        ('<base href="https://evil.example/">ok', "ok"),
        ('<form action="https://evil.example/"><input name="pw">kirim</form>', "kirim"),
        ('<svg onload="alert(1)"><script>alert(2)</script></svg>ok', "ok"),
        ("<style>body{background:url(https://t.example/x)}</style>ok", "ok"),
        ('<object data="https://evil.example/x.swf">alt</object>ok', "ok"),
        ('<link rel="stylesheet" href="https://t.example/x.css">ok', "ok"),
        ("<!-- komentar --><p>ok</p>", "<p>ok</p>"),
        ('<p id="login" class="btn">ok</p>', "<p>ok</p>"),
    ],
)
def test_active_content_is_removed(hostile: str, kept: str) -> None:
    assert clean_html(hostile) == kept


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "vbscript:x",
        "data:text/html,<script>x</script>",
        "http://plain.example/",
        "/relative",
        "//evil.example/",
    ],
)
def test_links_keep_only_https_and_mailto(href: str) -> None:
    assert clean_html(f'<a href="{href}">tautan</a>') == '<a rel="noopener noreferrer nofollow">tautan</a>'


@pytest.mark.parametrize("href", ["https://example.co.id/tagihan", "mailto:cs@example.co.id"])
def test_safe_links_survive_with_rel_noopener(href: str) -> None:
    assert clean_html(f'<a href="{href}" target="_blank">tautan</a>') == (
        f'<a href="{href}" rel="noopener noreferrer nofollow">tautan</a>'
    )


@pytest.mark.parametrize(
    "src",
    [
        "http://tracker.example/open.gif",
        "https://tracker.example/open.gif",
        "//tracker.example/x.gif",
        "x.gif",
    ],
)
def test_remote_images_lose_their_source(src: str) -> None:
    assert clean_html(f'<img src="{src}" alt="piksel">') == '<img alt="piksel">'


def test_embedded_images_keep_their_cid_source() -> None:
    assert (
        clean_html('<img src="cid:logo.png@01D9" alt="logo">') == '<img src="cid:logo.png@01D9" alt="logo">'
    )


def test_style_keeps_text_properties_and_drops_anything_that_loads() -> None:
    cleaned = clean_html(
        '<p style="color: red; background-image: url(https://t.example/x); position: fixed">Merah</p>'
    )

    assert cleaned == '<p style="color:red">Merah</p>'


def test_mail_formatting_survives() -> None:
    html = (
        "<div><h2>Tagihan</h2><p><b>Nomor</b> <i>INV-1</i><br>Rp&nbsp;2.750.000</p>"
        '<table border="1"><tr><td colspan="2">sel</td></tr></table>'
        "<ul><li>satu</li></ul><blockquote>kutipan</blockquote></div>"
    )

    assert clean_html(html) == (
        "<div><h2>Tagihan</h2><p><b>Nomor</b> <i>INV-1</i><br>Rp&nbsp;2.750.000</p>"
        '<table border="1"><tbody><tr><td colspan="2">sel</td></tr></tbody></table>'
        "<ul><li>satu</li></ul><blockquote>kutipan</blockquote></div>"
    )


def test_unclosed_markup_is_closed_and_text_is_escaped() -> None:
    assert clean_html("<div><p>a < b & c") == "<div><p>a &lt; b &amp; c</p></div>"


def test_undecodable_characters_do_not_raise() -> None:
    assert clean_html("<b>rusak \udcff</b>") == "<b>rusak ?</b>"
    assert clean_html("") == ""
