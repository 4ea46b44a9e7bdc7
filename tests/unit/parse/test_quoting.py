"""What a reply adds: quoted history from every common client is removed, forwards are kept."""

from __future__ import annotations

import pytest

from daemon.parse.quoting import strip_quoted

NEW = "Barang belum juga datang, mohon dicek.\n\nSalam,\nAgus\n0813-9988-7766"


@pytest.mark.parametrize(
    "history",
    [
        # Gmail, English, on one line and wrapped over two.
        "On Mon, 2 Nov 2026 at 10:05, Customer Care <cs@example.co.id> wrote:\n\n> Yth. Bapak,\n",
        "On Mon, 2 Nov 2026 at 10:05, Customer Care <cs@example.co.id>\nwrote:\n> Yth. Bapak,\n",
        # Gmail, Indonesian.
        "Pada tanggal Sen, 2 Nov 2026 pukul 10.05 Customer Care <cs@example.co.id>\n"
        "menulis:\n\n> Yth. Bapak,\n",
        "Pada Sen, 2 Nov 2026 10.05, Customer Care <cs@example.co.id> menulis:\n> Yth.\n",
        # Outlook, classic and Indonesian.
        "-----Original Message-----\nFrom: Customer Care\nSent: Monday\n\nYth. Bapak,\n",
        "-----Pesan Asli-----\nDari: Customer Care\nDikirim: Senin\n\nYth. Bapak,\n",
        # Outlook's header block with and without the separator line.
        "________________________________\nFrom: Customer Care <cs@example.co.id>\n"
        "Sent: Monday, November 2, 2026 10:05 AM\nTo: Agus\nSubject: [CC-2026-000123]\n\nYth.\n",
        "From: Customer Care <cs@example.co.id>\nSent: Monday, November 2, 2026 10:05 AM\n"
        "To: Agus\nSubject: [CC-2026-000123]\n\nYth. Bapak,\n",
        "________________________________\nDari: Customer Care <cs@example.co.id>\n"
        "Dikirim: Senin, 02 November 2026 10.05\nKepada: Agus\nPerihal: Keluhan\n\nYth.\n",
        # Outlook Web flattening the block onto one line, and Outlook for Mac.
        "Dari: Customer Care <cs@example.co.id> Terkirim: Senin, 2 Nov 2026 Kepada: Agus\n\nYth.\n",
        "________________________________\nFrom: Customer Care <cs@example.co.id>\n"
        "Date: Monday, 2 November 2026 at 10:05\nTo: Agus\n\nYth. Bapak,\n",
        # Outlook converted to text by another client bolds the labels.
        "*From:* Customer Care <cs@example.co.id>\n*Sent:* Monday, 2 November 2026\n\nYth.\n",
    ],
)
def test_reply_history_of_common_clients_is_removed(history: str) -> None:
    assert strip_quoted(NEW + "\n\n" + history) == NEW


def test_lines_quoted_with_angle_brackets_are_removed() -> None:
    text = "Sudah saya coba.\n> Apakah sudah dicoba restart?\n>> Internet mati.\nTetap mati."

    assert strip_quoted(text) == "Sudah saya coba.\nTetap mati."


def test_bottom_posted_reply_keeps_the_answer_below_the_quote() -> None:
    text = (
        "On Mon, 2 Nov 2026 at 10:05, Customer Care <cs@example.co.id> wrote:\n"
        "> Mohon kirimkan nomor pelanggan Anda.\n\n"
        "Nomor pelanggan saya 0012345678.\n"
    )

    assert strip_quoted(text) == "Nomor pelanggan saya 0012345678."


def test_forwarded_message_is_not_stripped() -> None:
    text = (
        "Mohon bantuannya, keluhan dari cabang.\n\n"
        "---------- Forwarded message ---------\n"
        "From: Pelanggan <p@contoh.id>\n"
        "Date: Mon, 2 Nov 2026 at 08:00\n"
        "Subject: Koran tidak datang\n"
        "To: <cabang@example.co.id>\n\n"
        "Koran tidak datang tiga hari.\n"
        "> quoted inside the forward stays too\n"
    )

    assert strip_quoted(text) == text.rstrip()


def test_indonesian_gmail_forward_is_not_stripped() -> None:
    text = "Lihat di bawah.\n\n---------- Pesan yang diteruskan ---------\nDari: X <x@y.id>\n"

    assert strip_quoted(text) == text.rstrip()


def test_signature_stays_because_it_carries_the_pic_phone() -> None:
    text = "Mohon segera diperbaiki.\n\n-- \nBudi Santoso\nHP 0812-3456-7890\n"

    assert strip_quoted(text) == "Mohon segera diperbaiki.\n\n--\nBudi Santoso\nHP 0812-3456-7890"


def test_from_in_prose_is_not_a_reply_header() -> None:
    text = "From: the warehouse we got a call.\nThe driver said it was sent.\nRegards"

    assert strip_quoted(text) == text


def test_trailing_whitespace_is_trimmed() -> None:
    assert strip_quoted("Halo   \n\n\n  ") == "Halo"


def test_text_without_history_is_unchanged() -> None:
    assert strip_quoted(NEW) == NEW
