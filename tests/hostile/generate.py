"""The big and repetitive members of the hostile corpus, written at test time.

Multi-megabyte attachments and thousand-fold repetitions say nothing a reader
could review in a diff, so they are generated here into a temporary folder
rather than committed under `data/`. Every builder is deterministic: the same
bytes on every run, so a failure can be replayed.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from pathlib import Path

CARE_ADDRESS = "care@example.co.id"
MEGABYTE = 1024 * 1024


def _head(n: int, *, content_type: str = "text/plain; charset=utf-8", extra: str = "") -> str:
    return (
        f"From: Pelanggan {n} <pelanggan{n}@contoh.id>\r\n"
        f"To: {CARE_ADDRESS}\r\n"
        f"Subject: Keluhan pesanan INV-{n}\r\n"
        f"Date: Mon, 2 Nov 2026 11:{n % 60:02d}:00 +0700\r\n"
        f"Message-ID: <generated-{n}@contoh.id>\r\n"
        f"MIME-Version: 1.0\r\n{extra}"
        f"Content-Type: {content_type}\r\n"
    )


def _body(n: int) -> str:
    return f"Pesanan saya INV-{n} belum diterima. Mohon dibantu.\r\n0812-3456-{n:04d}\r\n"


def mime_depth_5000() -> bytes:
    lines = [_head(13, content_type='multipart/mixed; boundary="d0"'), "", "--d0"]
    for level in range(1, 5000):
        lines += [f'Content-Type: multipart/mixed; boundary="d{level}"', "", f"--d{level}"]
    lines += ["Content-Type: text/plain", "", _body(13)]
    lines += [f"--d{level}--" for level in reversed(range(5000))]
    return "\r\n".join(lines).encode()


def mime_parts_10000() -> bytes:
    parts = "".join(f"--p\r\nContent-Type: text/plain\r\n\r\nbagian {i}\r\n" for i in range(10_000))
    return (_head(14, content_type='multipart/mixed; boundary="p"') + "\r\n" + parts + "--p--\r\n").encode()


def _with_attachment(n: int, size: int) -> bytes:
    payload = base64.encodebytes(random.Random(n).randbytes(size)).replace(b"\n", b"\r\n")
    return (
        _head(n, content_type='multipart/mixed; boundary="a"').encode()
        + b"\r\n--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + _body(n).encode()
        + b"--a\r\nContent-Type: application/pdf; name=dokumen.pdf\r\n"
        + b"Content-Disposition: attachment; filename=dokumen.pdf\r\n"
        + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + payload
        + b"--a--\r\n"
    )


def attachment_20mb_kept() -> bytes:
    return _with_attachment(15, 20 * MEGABYTE)


def attachment_26mb_dropped() -> bytes:
    return _with_attachment(16, 26 * MEGABYTE)


def header_bomb_5000_fields() -> bytes:
    fields = "".join(f"X-Filler-{i}: {i}\r\n" for i in range(5000))
    return (_head(17, extra=fields) + "\r\n" + _body(17)).encode()


def thousand_recipients() -> bytes:
    cc = ",\r\n ".join(f"orang{i}@contoh{i % 7}.id" for i in range(1000))
    return (_head(49, extra=f"Cc: {cc}\r\n") + "\r\n" + _body(49)).encode()


def thousand_references() -> bytes:
    ids = "\r\n ".join(f"<ref{i}.{'x' * 40}@contoh.id>" for i in range(1000))
    return (
        _head(50, extra=f"References: {ids}\r\nIn-Reply-To: <ref999@contoh.id>\r\n") + "\r\n" + _body(50)
    ).encode()


def subject_100kb() -> bytes:
    head = _head(60).replace("Subject: Keluhan pesanan INV-60", "Subject: " + "=?utf-8?q?panjang?= " * 5000)
    return (head + "\r\n" + _body(60)).encode()


def sixty_attachments() -> bytes:
    parts = "".join(
        f"--s\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=foto{i}.jpg\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{base64.b64encode(bytes([i]) * 100).decode()}\r\n"
        for i in range(60)
    )
    body = f"--s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{_body(64)}"
    return (
        _head(64, content_type='multipart/mixed; boundary="s"') + "\r\n" + body + parts + "--s--\r\n"
    ).encode()


def mime_depth_21() -> bytes:
    lines = [_head(65, content_type='multipart/mixed; boundary="e0"'), "", "--e0"]
    for level in range(1, 21):
        lines += [f'Content-Type: multipart/mixed; boundary="e{level}"', "", f"--e{level}"]
    lines += ["Content-Type: text/plain", "", _body(65)]
    lines += [f"--e{level}--" for level in reversed(range(21))]
    return "\r\n".join(lines).encode()


GENERATED: dict[str, Callable[[], bytes]] = {
    "13_mime_depth_5000.eml": mime_depth_5000,
    "14_mime_parts_10000.eml": mime_parts_10000,
    "15_attachment_20mb_kept.eml": attachment_20mb_kept,
    "16_attachment_26mb_dropped.eml": attachment_26mb_dropped,
    "17_header_bomb_5000_fields.eml": header_bomb_5000_fields,
    "49_thousand_recipients.eml": thousand_recipients,
    "50_thousand_references.eml": thousand_references,
    "60_subject_100kb.eml": subject_100kb,
    "64_sixty_attachments.eml": sixty_attachments,
    "65_mime_depth_21.eml": mime_depth_21,
}


def generate(folder: Path) -> list[Path]:
    """Write every generated corpus file into `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in GENERATED.items():
        path = folder / name
        path.write_bytes(build())
        written.append(path)
    return written
