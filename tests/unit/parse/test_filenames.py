"""Attachment names from MIME parameters: RFC 2231 sections, RFC 2047 in quotes, raw 8-bit bytes."""

from __future__ import annotations

import email
import email.policy

import pytest

from daemon.parse.filenames import parameter_text, parameters, part_filename


def _part(header: bytes) -> email.message.Message:
    return email.message_from_bytes(header + b"\r\n\r\nx", policy=email.policy.compat32)


def test_parameters_are_split_outside_quotes_and_unquoted() -> None:
    assert parameters('attachment; filename="a;b \\"c\\".pdf"; size=12') == [
        ("filename", 'a;b "c".pdf'),
        ("size", "12"),
    ]
    assert parameters("inline") == []
    assert parameters('attachment; filename="unterminated') == [("filename", "unterminated")]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # Thunderbird: continuations with a charset'lang' prefix, a character split between sections.
        (
            b"Content-Disposition: attachment;\r\n filename*0*=UTF-8''%E4%B8%AD; filename*1*=%E6%96%87%E6%96;"
            b"\r\n filename*2*=%87.txt",
            "中文文.txt",
        ),
        # Sections out of order, an unencoded one among them, no charset at all.
        (
            b'Content-Disposition: attachment; filename*1*=%E9t%E9.pdf; filename*0="Rapport "',
            "Rapport été.pdf",
        ),
        # A label read as its superset: GB2312 with a GBK-only character.
        (b"Content-Disposition: attachment; filename*=gb2312''%CD%F5%86%B4.doc", "王喆.doc"),
        (
            b"Content-Disposition: attachment; filename*0*=shift_jis''%87%40%90%BF; filename*1*=%8B%81.pdf",
            "①請求.pdf",
        ),
        (b"Content-Disposition: attachment; filename*=\"utf-8''%E4%B8%AD.pdf\"", "中.pdf"),
        (b"Content-Disposition: attachment; filename*=x-unknown'fr'Re%E7u.pdf", "Reçu.pdf"),
        # Raw UTF-8 where percent-escapes belong.
        ("Content-Disposition: attachment; filename*=UTF-8''报告.pdf".encode(), "报告.pdf"),
        # The extended value wins over the plain fallback next to it.
        (
            b"Content-Disposition: attachment; filename=\"Recu.pdf\"; filename*=utf-8''Re%C3%A7u.pdf",
            "Reçu.pdf",
        ),
        # Outlook: RFC 2047 inside the quotes, split over two words.
        (b'Content-Type: application/pdf; name="=?UTF-8?B?5Lit5paH?= =?UTF-8?B?LnBkZg==?="', "中文.pdf"),
        # Raw 8-bit bytes: UTF-8 first, then the hints.
        ('Content-Disposition: attachment; filename="报价单.xlsx"'.encode(), "报价单.xlsx"),
        (b'Content-Disposition: attachment; filename="R\xfccksendeschein.pdf"', "Rücksendeschein.pdf"),
    ],
)
def test_names_decode_as_mail_clients_read_them(header: bytes, expected: str) -> None:
    assert part_filename(_part(header), ("iso8859-1",)) == expected


def test_the_disposition_name_comes_before_the_content_type_name() -> None:
    part = _part(
        b'Content-Type: application/pdf; name="b.pdf"\r\nContent-Disposition: attachment; filename="a.pdf"'
    )
    assert part_filename(part) == "a.pdf"
    assert part_filename(_part(b'Content-Type: application/pdf; name="b.pdf"')) == "b.pdf"


def test_no_name_is_none_and_an_empty_one_is_empty() -> None:
    assert part_filename(_part(b"Content-Disposition: inline")) is None
    assert part_filename(_part(b"Content-Type: text/plain")) is None
    assert part_filename(_part(b'Content-Disposition: attachment; filename=""')) == ""


def test_raw_gbk_name_uses_the_hints() -> None:
    header = 'Content-Disposition: attachment; filename="合同.pdf"'.encode("gbk")
    assert part_filename(_part(header), ("gb2312",)) == "合同.pdf"


def test_parameter_text_reads_one_parameter() -> None:
    assert parameter_text([("name*", "utf-8''%C3%A9.txt")], "name") == "é.txt"
    assert parameter_text([("other", "x")], "name") is None
