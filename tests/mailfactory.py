"""Builders of realistic raw mails (RFC 5322 bytes) for tests and benchmarks.

Owns nothing but text: each builder returns the bytes a mail server would
store, built with ``email.message.EmailMessage`` and serialised with
``email.policy.SMTP`` (CRLF line ends, folded headers).

Output is deterministic: the same arguments give the same bytes, so
benchmarks are repeatable and a failing test can be replayed.  Message-IDs
and dates are derived from ``n`` and the content unless given.
"""

from __future__ import annotations

import hashlib
import textwrap
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr
from typing import Literal

Language = Literal["id", "en"]

CARE_ADDRESS = "care@example.co.id"
PHONE = "0812-3456-7890"
OUR_MX = "mx.example.co.id"
"""The authserv-id of the test site's receiving server (configure it in `[security]`)."""

# Jakarta time, as Indonesian customers' mail clients would stamp it.
WIB = timezone(timedelta(hours=7))
BASE_DATE = datetime(2024, 5, 6, 9, 0, tzinfo=WIB)

# (subject, first paragraph) pairs; complaint(n) picks one by n so a corpus
# of many complaints has some variety without any randomness.
_ISSUES: dict[Language, list[tuple[str, str]]] = {
    "id": [
        (
            "Pesanan INV-{order} belum sampai",
            "Saya memesan mesin cuci dengan nomor pesanan INV-{order} tanggal 22 April, "
            "dijanjikan tiba dalam 5 hari kerja. Sampai hari ini barang belum diterima "
            "dan status pengiriman tidak berubah sejak seminggu lalu.",
        ),
        (
            "Produk rusak saat diterima (INV-{order})",
            "Kulkas yang saya terima untuk pesanan INV-{order} penyok di bagian pintu "
            "dan tidak dingin sama sekali setelah dinyalakan 24 jam. Foto kerusakan "
            "sudah saya lampirkan.",
        ),
        (
            "Tagihan ganda untuk pesanan INV-{order}",
            "Kartu kredit saya ditagih dua kali untuk pesanan INV-{order} dengan jumlah "
            "yang sama, Rp 4.350.000. Mohon salah satu tagihan segera dibatalkan.",
        ),
        (
            "Teknisi tidak datang sesuai jadwal (INV-{order})",
            "Jadwal pemasangan AC untuk pesanan INV-{order} sudah dua kali diundur "
            "tanpa pemberitahuan. Saya sudah izin tidak masuk kerja untuk menunggu.",
        ),
    ],
    "en": [
        (
            "Order INV-{order} has not arrived",
            "I ordered a washing machine, order number INV-{order}, on 22 April with "
            "delivery promised within 5 working days. It has still not arrived and the "
            "tracking status has not changed for a week.",
        ),
        (
            "Damaged product received (INV-{order})",
            "The refrigerator delivered for order INV-{order} has a dented door and does "
            "not cool at all after being switched on for 24 hours. Photos are attached.",
        ),
        (
            "Charged twice for order INV-{order}",
            "My credit card was charged twice for order INV-{order}, both times "
            "IDR 4,350,000. Please cancel one of the charges.",
        ),
        (
            "Technician did not show up (INV-{order})",
            "The air conditioner installation for order INV-{order} has been postponed "
            "twice without notice. I took a day off work to wait for it.",
        ),
    ],
}

_CLOSING: dict[Language, str] = {
    "id": "Mohon segera ditindaklanjuti. Terima kasih atas perhatiannya.",
    "en": "Please look into this urgently. Thank you for your attention.",
}

_GREETING: dict[Language, str] = {"id": "Dengan hormat,", "en": "Dear Customer Care,"}

_SIGN_OFF: dict[Language, str] = {"id": "Salam,", "en": "Kind regards,"}

_MAJOR: dict[Language, tuple[str, str]] = {
    "id": (
        "SOMASI: kerugian akibat pesanan INV-{order}",
        "Sudah tiga kali saya mengajukan keluhan atas pesanan INV-{order} tanpa "
        "tanggapan. Kerugian saya mencapai Rp 25.000.000. Melalui kuasa hukum saya, "
        "Bapak Hendra Wijaya, S.H. dari kantor advokat Wijaya & Rekan, kami akan "
        "melayangkan somasi dan menempuh jalur hukum apabila dalam 7 hari tidak ada "
        "penyelesaian. Saya juga akan melaporkan ke YLKI.",
    ),
    "en": (
        "Legal notice (somasi): losses from order INV-{order}",
        "I have complained three times about order INV-{order} without any answer. "
        "My losses amount to IDR 25,000,000. Through my lawyer, Mr Hendra Wijaya of "
        "Wijaya & Partners, we will send a formal legal notice (somasi) and take "
        "legal action unless this is resolved within 7 days.",
    ),
}


def complaint(
    n: int = 0,
    *,
    sender: str = "budi.santoso@example.net",
    name: str = "Budi Santoso",
    subject: str | None = None,
    body: str | None = None,
    language: Language = "id",
    message_id: str | None = None,
    date: datetime | None = None,
    to: str = CARE_ADDRESS,
    attachment: tuple[str, bytes, str] | None = None,
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    """A customer complaint; ``n`` varies the issue, order number, date and Message-ID.

    ``attachment`` is ``(filename, content, "maintype/subtype")``.
    ``extra_headers`` replace or add headers (e.g. In-Reply-To, References).
    """
    order = f"{2024_00000 + n}"
    issue_subject, issue_text = _ISSUES[language][n % len(_ISSUES[language])]
    if subject is None:
        subject = issue_subject.format(order=order)
    if body is None:
        body = _letter(language, issue_text.format(order=order), name)
    msg = _base_message(
        sender=formataddr((name, sender)),
        to=to,
        subject=subject,
        date=date or BASE_DATE + timedelta(minutes=n),
        message_id=message_id or _message_id("complaint", n, sender, subject, body),
    )
    msg.set_content(body)
    if attachment is not None:
        filename, content, mime_type = attachment
        maintype, subtype = mime_type.split("/", 1)
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
        msg.set_boundary(_boundary(msg["Message-ID"]))
    _apply_headers(msg, extra_headers)
    return msg.as_bytes(policy=policy.SMTP)


def major_complaint(
    n: int = 0,
    *,
    sender: str = "budi.santoso@example.net",
    name: str = "Budi Santoso",
    language: Language = "id",
    message_id: str | None = None,
    date: datetime | None = None,
    to: str = CARE_ADDRESS,
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    """A complaint threatening legal action: mentions ``somasi`` and a lawyer."""
    order = f"{2024_00000 + n}"
    subject, text = _MAJOR[language]
    return complaint(
        n,
        sender=sender,
        name=name,
        subject=subject.format(order=order),
        body=_letter(language, text.format(order=order), name),
        language=language,
        message_id=message_id,
        date=date,
        to=to,
        extra_headers=extra_headers,
    )


def out_of_office(
    to: str,
    *,
    sender: str = "budi.santoso@example.net",
    name: str = "Budi Santoso",
    original_subject: str = "[CD-000001] Pesanan belum sampai",
    in_reply_to: str | None = None,
    n: int = 0,
    date: datetime | None = None,
) -> bytes:
    """An Exchange/Outlook automatic reply to a mail we sent to ``sender``.

    It is sent *to* ``to`` (our care address, usually) and carries
    ``Auto-Submitted: auto-replied`` (RFC 3834) plus Exchange's own markers.
    """
    subject = f"Automatic reply: {original_subject}"
    body = (
        _wrap(
            "Terima kasih atas email Anda. Saya sedang cuti sampai 20 Mei 2024 dengan "
            "akses email terbatas. Untuk hal mendesak silakan hubungi rekan saya di "
            "ops@example.net."
        )
        + "\n\n"
        + _wrap("Thank you for your email. I am on leave until 20 May 2024 with limited access to email.")
        + "\n"
    )
    msg = _base_message(
        sender=formataddr((name, sender)),
        to=to,
        subject=subject,
        date=date or BASE_DATE + timedelta(minutes=n, seconds=30),
        message_id=_message_id("ooo", n, sender, subject, body),
    )
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-MS-Exchange-Inbox-Rules-Loop"] = sender
    msg["Thread-Topic"] = original_subject
    if in_reply_to is not None:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    return msg.as_bytes(policy=policy.SMTP)


def delivery_failure(
    original_to: str,
    *,
    to: str = CARE_ADDRESS,
    original_subject: str = "[CD-000001] Tanggapan atas keluhan Anda",
    original_message_id: str = "<reply-1@example.co.id>",
    original: bytes | None = None,
    reporting_mta: str = "mx.example.co.id",
    status: str = "5.1.1",
    diagnostic: str = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown",
    n: int = 0,
    date: datetime | None = None,
) -> bytes:
    """A Postfix-style RFC 3464 bounce (multipart/report; delivery-status).

    From MAILER-DAEMON with an empty ``Return-Path: <>``, as bounces must be
    (RFC 5321 4.5.5).  ``original`` (full raw mail) is attached as
    message/rfc822; otherwise only its headers are, as text/rfc822-headers.
    """
    when = date or BASE_DATE + timedelta(minutes=n, seconds=45)
    diagnostic_text = diagnostic.format(rcpt=original_to)
    msg = EmailMessage(policy=policy.SMTP)
    msg["Return-Path"] = "<>"
    msg["From"] = formataddr(("Mail Delivery System", f"MAILER-DAEMON@{reporting_mta}"))
    msg["To"] = to
    msg["Subject"] = "Undelivered Mail Returned to Sender"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = _message_id("dsn", n, original_to, original_message_id, status)
    msg["Auto-Submitted"] = "auto-replied"
    msg["MIME-Version"] = "1.0"
    msg.set_content(
        f"This is the mail system at host {reporting_mta}.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n\n"
        + textwrap.fill(
            f"<{original_to}>: host mx.example.net said: {diagnostic_text}",
            width=72,
            subsequent_indent="    ",
        )
        + "\n"
    )
    msg.make_mixed()
    msg.set_type("multipart/report")
    msg.set_param("report-type", "delivery-status")
    msg.attach(_delivery_status(original_to, reporting_mta, status, diagnostic_text, when))
    msg.attach(_original_part(original, original_to, to, original_subject, original_message_id, when))
    msg.set_boundary(_boundary(msg["Message-ID"]))
    return msg.as_bytes(policy=policy.SMTP)


# -- helpers ------------------------------------------------------------------


def _letter(language: Language, text: str, name: str) -> str:
    return (
        f"{_GREETING[language]}\n\n{_wrap(text)}\n\n{_wrap(_CLOSING[language])}\n\n"
        f"{_SIGN_OFF[language]}\n{name}\nHP/WA: {PHONE}\n"
    )


def _wrap(paragraph: str) -> str:
    # Lines under 78 characters keep the body 7bit instead of
    # quoted-printable, so tests can look for words in the raw bytes.
    return textwrap.fill(paragraph, width=72)


def _base_message(*, sender: str, to: str, subject: str, date: datetime, message_id: str) -> EmailMessage:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["MIME-Version"] = "1.0"
    return msg


def _apply_headers(msg: EmailMessage, headers: dict[str, str] | None) -> None:
    for key, value in (headers or {}).items():
        del msg[key]
        msg[key] = value


def _message_id(kind: str, n: int, *parts: str) -> str:
    # Derived from the content so different mails never share an ID by
    # accident, while the same call always gives the same ID.
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]
    return f"<{kind}-{n}.{digest}@mailfactory.test>"


def _boundary(message_id: str) -> str:
    # The email package picks random boundaries; derive one instead so the
    # same call always gives the same bytes.
    return "=_mailfactory_" + hashlib.sha256(message_id.encode()).hexdigest()[:20]


def _delivery_status(
    rcpt: str, reporting_mta: str, status: str, diagnostic: str, when: datetime
) -> EmailMessage:
    # message/delivery-status is a list of header blocks (RFC 3464 2.1): one
    # per message, then one per recipient. Python's generator writes a
    # payload of Message objects exactly like that.
    per_message = EmailMessage(policy=policy.SMTP)
    per_message["Reporting-MTA"] = f"dns; {reporting_mta}"
    per_message["X-Postfix-Queue-ID"] = "4VXk2N1Zq5z9sW"
    per_message["Arrival-Date"] = format_datetime(when - timedelta(seconds=3))
    per_recipient = EmailMessage(policy=policy.SMTP)
    per_recipient["Final-Recipient"] = f"rfc822; {rcpt}"
    per_recipient["Original-Recipient"] = f"rfc822;{rcpt}"
    per_recipient["Action"] = "failed"
    per_recipient["Status"] = status
    per_recipient["Remote-MTA"] = "dns; mx.example.net"
    per_recipient["Diagnostic-Code"] = f"smtp; {diagnostic}"
    part = EmailMessage(policy=policy.SMTP)
    part["Content-Type"] = "message/delivery-status"
    part["Content-Description"] = "Delivery report"
    part.set_payload([per_message, per_recipient])
    return part


def _original_part(
    original: bytes | None,
    original_to: str,
    original_from: str,
    subject: str,
    message_id: str,
    when: datetime,
) -> EmailMessage:
    part = EmailMessage(policy=policy.SMTP)
    if original is not None:
        # Attached as a parsed message: the content manager then picks an
        # identity transfer encoding (7bit/8bit), the only ones RFC 2046
        # allows for message/rfc822.
        part.set_content(BytesParser(policy=policy.SMTP).parsebytes(original))
    else:
        headers = (
            f"From: {original_from}\nTo: {original_to}\nSubject: {subject}\n"
            f"Date: {format_datetime(when - timedelta(minutes=1))}\nMessage-ID: {message_id}\n"
        )
        part.set_content(headers, subtype="rfc822-headers")
    part["Content-Description"] = "Undelivered Message"
    return part


__all__ = [
    "CARE_ADDRESS",
    "PHONE",
    "complaint",
    "delivery_failure",
    "major_complaint",
    "out_of_office",
]


def stamped(raw: bytes, *, result: str = "pass", server: str = OUR_MX) -> bytes:
    """`raw` as our receiving server delivers it: its Authentication-Results on top.

    The stamp is about the mail's From domain: DKIM and DMARC `result` (`pass`,
    `fail`, `none`). Staff replies and branch recaps need a passing stamp from
    a trusted server to change a ticket.
    """
    sender = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)["From"]
    domain = sender.addresses[0].domain if sender is not None and sender.addresses else ""
    newline = b"\r\n" if raw.partition(b"\n")[0].endswith(b"\r") else b"\n"
    checks = f"dkim={result} header.d={domain}; dmarc={result} header.from={domain}"
    stamp = f"Authentication-Results: {server}; {checks}"
    return stamp.encode() + newline + raw
