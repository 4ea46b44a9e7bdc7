"""Customer attachments for staff: what a notice carries, how sizes read, which file names are safe."""

from __future__ import annotations

import hashlib

import pytest

from daemon.parse.message import Attachment
from daemon.tickets.attachments import (
    HELD_AS_PROGRAM,
    HELD_BY_LIMIT,
    NAME_BYTES_LIMIT,
    forwarding,
    is_program,
    name_candidates,
    notice_context,
    outgoing_files,
    safe_filename,
    sendable_type,
    size_text,
)


def _file(name: str, size: int, content_type: str = "image/jpeg") -> Attachment:
    payload = bytes(size)
    return Attachment(name, content_type, size, hashlib.sha256(payload).hexdigest(), payload)


def test_everything_within_the_limit_is_attached_and_listed() -> None:
    photo, letter = _file("foto.jpg", 300), _file("surat.pdf", 77, "application/pdf")

    forwarded = forwarding([photo, letter], limit=1000)

    assert forwarded.attached == (photo, letter)
    assert [(item.name, item.type, item.size, item.attached) for item in forwarded.listed] == [
        ("foto.jpg", "image/jpeg", "300 B", True),
        ("surat.pdf", "application/pdf", "77 B", True),
    ]
    assert forwarded.left_out == 0


def test_an_attachment_over_what_is_left_is_held_and_a_smaller_one_after_it_still_fits() -> None:
    first, video, last = _file("a.jpg", 600), _file("video.mp4", 600, "video/mp4"), _file("b.jpg", 400)

    forwarded = forwarding([first, video, last], limit=1000)

    assert forwarded.attached == (first, last)
    assert [item.held for item in forwarded.listed] == ["", HELD_BY_LIMIT, ""]
    assert forwarded.left_out == 1


def test_a_limit_of_exactly_the_total_attaches_all_and_zero_attaches_none() -> None:
    files = [_file("a.jpg", 600), _file("b.jpg", 400)]

    assert len(forwarding(files, limit=1000).attached) == 2
    nothing = forwarding(files, limit=0)
    assert nothing.attached == () and nothing.left_out == 2


@pytest.mark.parametrize("name", ["invoicefdp.exe", "evil.DLL", "run.ps1", "laporan.pdf.scr", "x.js"])
def test_programs_are_never_attached_whatever_the_limit(name: str) -> None:
    forwarded = forwarding([_file(name, 19, "application/octet-stream")], limit=10**9)

    assert forwarded.attached == ()
    assert forwarded.listed[0].held == HELD_AS_PROGRAM


@pytest.mark.parametrize("name", ["foto.jpg", "exe", ".exe", "notes.txt", "scan.exe.pdf"])
def test_other_files_are_not_programs(name: str) -> None:
    assert not is_program(name)


def test_the_notice_context_lists_every_attachment_and_names_the_command() -> None:
    forwarded = forwarding([_file("a.jpg", 600), _file("b.jpg", 600)], limit=1000)

    context = notice_context(forwarded, "CC-2026-000123", 1000)

    assert context["attachments"] == [
        {"name": "a.jpg", "type": "image/jpeg", "size": "600 B", "held": ""},
        {"name": "b.jpg", "type": "image/jpeg", "size": "600 B", "held": HELD_BY_LIMIT},
    ]
    assert context["attachments_left_out"] == 1
    assert context["attachments_command"] == "caredesk tickets attachments CC-2026-000123 --out DIR"
    assert context["attachment_limit"] == "1000 B"
    assert context["attachments_by_mail"] is True
    assert notice_context(forwarded, "CC-1", 0)["attachments_by_mail"] is False


def test_the_files_go_to_the_mailer_with_a_type_that_can_be_sent_base64() -> None:
    files = [
        _file("foto.jpg", 3),
        _file("mail.eml", 3, "message/rfc822"),
        _file("odd", 3, "weird"),
        _file("parts", 3, "multipart/mixed"),
    ]

    sent = outgoing_files(forwarding(files, limit=100))

    assert [(name, mime_type) for name, mime_type, _ in sent] == [
        ("foto.jpg", "image/jpeg"),
        ("mail.eml", "application/octet-stream"),
        ("odd", "application/octet-stream"),
        ("parts", "application/octet-stream"),
    ]
    assert sent[0][2] == bytes(3)


@pytest.mark.parametrize(
    ("value", "shown"),
    [("application/PDF", "application/pdf"), ("text/plain", "text/plain"), ("", "application/octet-stream")],
)
def test_sendable_type(value: str, shown: str) -> None:
    assert sendable_type(value) == shown


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (283, "283 B"),
        (1023, "1023 B"),
        (1024, "1 KB"),
        (1536, "1.5 KB"),
        (10 * 1024 * 1024, "10 MB"),
        (int(2.25 * 1024**3), "2.2 GB"),
        (5000 * 1024**3, "5000 GB"),
    ],
)
def test_sizes_read_as_people_read_them(size: int, shown: str) -> None:
    assert size_text(size) == shown


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("foto kerusakan – 1.jpg", "foto kerusakan – 1.jpg"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("C:\\Windows\\System32\\evil.dll", "C__Windows_System32_evil.dll"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("nul\x00byte\r\nname.txt", "nulbyte name.txt"),
        ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        (".bashrc", "bashrc"),
        ("..", "attachment"),
        ("", "attachment"),
        ("   ", "attachment"),
        ("report. . .", "report"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("Com1.log", "_Com1.log"),
        ("lpt9", "_lpt9"),
        ("console.txt", "console.txt"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("tab\there.txt", "tab here.txt"),
    ],
)
def test_safe_filenames(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_a_long_name_is_capped_in_bytes_and_keeps_its_extension() -> None:
    ascii_name = safe_filename("a" * 300 + ".pdf")
    wide_name = safe_filename("é" * 300 + ".jpeg")

    assert ascii_name.endswith("a.pdf") and len(ascii_name.encode()) == NAME_BYTES_LIMIT
    assert wide_name.endswith("é.jpeg") and len(wide_name.encode()) <= NAME_BYTES_LIMIT
    numbered = next(n for i, n in enumerate(name_candidates(wide_name)) if i == 9998)
    assert len(numbered.encode()) <= 255


def test_a_safe_name_is_always_one_plain_name() -> None:
    for name in ("../x", "a/../../b", "\\\\server\\share\\f", "/", ".", "...", "a\x7fb", "\u2028x"):
        safe = safe_filename(name)
        assert safe and "/" not in safe and "\\" not in safe
        assert not safe.startswith(".") and safe not in (".", "..")
        assert all(ord(ch) >= 32 and ch not in "\x7f\u2028" for ch in safe)


def test_numbered_candidates_put_the_number_before_the_extension() -> None:
    names = name_candidates("foto.jpg")
    assert [next(names) for _ in range(3)] == ["foto.jpg", "foto (2).jpg", "foto (3).jpg"]
    bare = name_candidates("attachment")
    assert [next(bare) for _ in range(2)] == ["attachment", "attachment (2)"]
    spaced = name_candidates("notes.final version")
    assert [next(spaced) for _ in range(2)] == ["notes.final version", "notes.final version (2)"]
