"""Mending a damaged header block before the parsers read it, and leaving a sound one alone."""

from __future__ import annotations

import time

import pytest

from daemon.parse import limits
from daemon.parse.repair import (
    HIDDEN_BY_BROKEN_LINE,
    OBSOLETE_COLON,
    STRAY_LINE,
    repair_header_block,
)

HEAD = (
    b"From: Budi <budi@example.co.id>\r\n"
    b"To: cs@example.co.id\r\n"
    b"Subject: Keluhan\r\n"
    b"Date: Mon, 2 Nov 2026 09:14:05 +0700\r\n"
    b"Message-ID: <r1@example.co.id>\r\n"
)
BODY = b"\r\nKoran tidak datang.\r\n"


@pytest.mark.parametrize(
    "raw",
    [
        HEAD + BODY,
        b"From budi@example.co.id Mon Nov  2 09:14:05 2026\r\n" + HEAD + BODY,
        HEAD.replace(b"\r\n", b"\n") + b"\nKoran tidak datang.\n",
        HEAD.replace(b"\r\n", b"\r") + b"\rKoran tidak datang.\r",
        b"",
        b"\r\n\r\nDengan hormat,\r\n\r\nPesanan saya belum datang.\r\n",
        b"\r\nNama: Budi\r\nAlamat: Jl. Kenanga 12\r\n\r\nterima kasih\r\n",
        # A body that starts without a blank line stays a body.
        HEAD + b"Halo, saya mau komplain\r\nterima kasih\r\n",
        # A forwarded header block at the top of such a body never becomes headers.
        HEAD + b"-----Original Message-----\r\nFrom: Other <o@example.net>\r\nSubject: x\r\n\r\ntext\r\n",
    ],
)
def test_a_sound_or_headerless_mail_is_left_as_it_is(raw: bytes) -> None:
    repaired = repair_header_block(raw)

    assert repaired.raw == raw
    assert repaired.notes == () and repaired.recovered == ()


@pytest.mark.parametrize(
    "stray",
    [
        b">From budi@example.co.id Mon Nov  2 09:14:05 2026\r\n",
        b"\r\n",
        b"Microsoft Mail Internet Headers Version 2.0\r\n",
        b"From - Mon Nov 02 09:14:05 2026\r\n\r\n",
    ],
)
def test_a_stray_line_before_the_headers_is_dropped(stray: bytes) -> None:
    repaired = repair_header_block(stray + HEAD + BODY)

    assert repaired.raw == HEAD + BODY
    assert repaired.notes == ("stray line before the headers dropped",)
    assert repaired.how_recovered("from") == STRAY_LINE


def test_a_byte_order_mark_is_removed() -> None:
    repaired = repair_header_block(b"\xef\xbb\xbf" + HEAD + BODY)

    assert repaired.raw == HEAD + BODY
    assert repaired.how_recovered("from") is not None


def test_more_stray_lines_than_a_mail_client_skips_leave_a_body() -> None:
    raw = b"satu\r\ndua\r\ntiga\r\nempat\r\n" + HEAD + BODY

    assert repair_header_block(raw).raw == raw


def test_a_field_that_lost_its_colon_is_dropped_and_the_fields_after_it_come_back() -> None:
    raw = b"Received: from x\r\nX-MS-Has-Attach\r\n" + HEAD + BODY

    repaired = repair_header_block(raw)

    assert repaired.raw == b"Received: from x\r\n" + HEAD + BODY
    assert repaired.notes == ("header line without a colon dropped",)
    assert repaired.how_recovered("from") == HIDDEN_BY_BROKEN_LINE
    assert repaired.how_recovered("received") is None


def test_a_continuation_without_its_whitespace_joins_the_field_before() -> None:
    raw = b"Thread-Topic: Keluhan koran tidak\r\ndiantar sejak Senin\r\n" + HEAD + BODY

    repaired = repair_header_block(raw)

    assert repaired.raw == b"Thread-Topic: Keluhan koran tidak\r\n diantar sejak Senin\r\n" + HEAD + BODY
    assert repaired.notes == ("badly folded header line joined to the field before",)


def test_whitespace_before_a_colon_is_removed() -> None:
    raw = b"Received: x\r\nFrom  : Budi <budi@example.co.id>\r\nSubject\t: Keluhan\r\n" + BODY

    repaired = repair_header_block(raw)

    assert repaired.raw == b"Received: x\r\nFrom: Budi <budi@example.co.id>\r\nSubject: Keluhan\r\n" + BODY
    assert repaired.how_recovered("from") == OBSOLETE_COLON
    assert repaired.how_recovered("subject") == OBSOLETE_COLON


def test_the_obsolete_syntax_on_the_first_line_is_no_mbox_separator() -> None:
    repaired = repair_header_block(b"From : Budi <budi@example.co.id>\r\nSubject: x\r\n" + BODY)

    assert repaired.raw.startswith(b"From: Budi <budi@example.co.id>\r\n")


def test_only_so_many_lines_are_mended() -> None:
    broken = b"".join(b"X-Broken-%d\r\n" % index for index in range(40))
    repaired = repair_header_block(b"Received: x\r\n" + broken + HEAD + BODY)

    # The first ones are dropped; after the limit the parser's reading stands.
    assert repaired.raw.startswith(b"Received: x\r\nX-Broken-20\r\n")


def test_the_repair_reads_only_the_start_of_a_huge_header() -> None:
    raw = b"X-Long: " + b"a" * (limits.HEADER_BLOCK_LIMIT * 4) + b"\r\n" + HEAD + BODY
    started = time.perf_counter()

    repaired = repair_header_block(raw)

    assert repaired.raw == raw
    assert time.perf_counter() - started < 1.0
