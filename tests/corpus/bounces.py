"""Corpus bounces: RFC 3464 reports (baseline) and the plain-text ones of the issue's class 2.

Each bounce of "our" mail returns an acknowledgement listed in outbound.tsv,
which the test stores before the run; the bounce names it by its Message-ID
(quoted headers, a prose sentence, a `>` quote, an attached original) or by
our signed return path. Backscatter (bounces of mail we never sent) names
nobody of ours and must be recorded without being tied.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from tests.corpus import mime
from tests.corpus.cases import Case, Ours, Sent
from tests.corpus.mime import CARE


def _bounce_mail(
    rng: random.Random,
    n: int,
    headers: list[mime.Header],
    subject: str,
    body: mime.Entity,
    *,
    to: str = CARE,
) -> bytes:
    when = mime.moment(rng, n)
    top: list[mime.Header] = [
        ("Received", mime.received(rng, "mx1.mail-contoh.net", mime.doc_ip(rng), when, to=to)),
        *headers,
        ("To", to),
        ("Subject", subject if subject.isascii() else mime.b_words(subject)),
        ("Date", mime.date_header(when)),
        ("Message-ID", f"<{mime.hexid(rng, 20)}.{n}@mx1.mail-contoh.net>"),
        ("MIME-Version", "1.0"),
    ]
    return mime.message(top, body)


def _dead(rng: random.Random, n: int) -> str:
    local = rng.choice(["andi.w", "sari.p", "yudi", "maya.k", "tono88", "lina.s", "rudi_h", "wati"])
    return f"{local}.{n}@{rng.choice(['gmail.com', 'yahoo.co.id', 'telkom.net', 'kantor-contoh.co.id'])}"


# --- RFC 3464 (what worked before) ------------------------------------------------


def _dsn_part(recipient: str, status: str, mta: str) -> mime.Entity:
    text = (
        f"Reporting-MTA: dns; {mta}\nArrival-Date: Tue, 14 Jul 2026 09:00:00 +0700\n\n"
        f"Final-Recipient: rfc822; {recipient}\nOriginal-Recipient: rfc822;{recipient}\n"
        f"Action: {'delayed' if status.startswith('4') else 'failed'}\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected: User unknown\n"
    )
    return mime.Entity([b"Content-Type: message/delivery-status"], text.encode())


DSNS = [
    (
        "postfix",
        "MAILER-DAEMON@mx1.mail-contoh.net",
        "Undelivered Mail Returned to Sender",
        "5.1.1",
        "rfc822",
    ),
    (
        "postfix",
        "MAILER-DAEMON@smtp.kantor-contoh.co.id",
        "Undelivered Mail Returned to Sender",
        "5.1.1",
        "headers",
    ),
    (
        "postfix-delay",
        "MAILER-DAEMON@mx1.mail-contoh.net",
        "Delayed Mail (still being retried)",
        "4.4.1",
        "headers",
    ),
    ("exchange", "postmaster@kantor-contoh.onmicrosoft.com", "Undeliverable: {subject}", "5.1.10", "rfc822"),
    ("exchange", "postmaster@pemda-contoh.go.id", "Tidak dapat dikirim: {subject}", "5.2.1", "rfc822"),
    ("gmail", "mailer-daemon@googlemail.com", "Delivery Status Notification (Failure)", "5.1.1", "headers"),
    ("gmail", "mailer-daemon@googlemail.com", "Delivery Status Notification (Failure)", "5.1.1", "rfc822"),
]


def dsn_bounces(ours: Ours) -> Iterator[Case]:
    rng = random.Random("dsn")
    for k, (shape, sender, subject, status, returned) in enumerate(DSNS):
        sent = ours.ack(_dead(rng, 100 + k))
        shown = subject.format(subject=sent.subject)
        original = sent.original(rng)
        if returned == "headers":
            back = mime.rfc822(original.split(b"\n\n")[0] + b"\n", ctype="text/rfc822-headers")
        else:
            back = mime.rfc822(original)
        parts = [
            mime.text_part(
                f"This is the mail system at host {sender.partition('@')[2]}.\n\n"
                f"Your message could not be delivered to {sent.recipient}.\n",
                "us-ascii",
                cte="7bit",
            ),
            _dsn_part(sent.recipient, status, sender.partition("@")[2]),
            back,
        ]
        body = mime.multipart(
            "report",
            f"{mime.hexid(rng, 12)}.{1752460000 + k}/{sender.partition('@')[2]}",
            parts,
            params="; report-type=delivery-status",
        )
        headers: list[mime.Header] = [
            ("Return-Path", "<>"),
            ("From", f"Mail Delivery System <{sender}>"),
            ("Auto-Submitted", "auto-replied"),
        ]
        raw = _bounce_mail(rng, 1100 + k, headers, shown, body)
        yield Case(
            "bounce-dsn",
            f"{shape}-{k}",
            raw,
            "bounce",
            sender.lower(),
            shown,
            tied="yes",
            returns=sent.message_id,
        )
    for k in range(2):
        recipient = _dead(rng, 120 + k)
        stranger = (
            f"From: promo@spam-contoh.biz\nTo: {recipient}\nSubject: You won\n"
            f"Message-ID: <{mime.hexid(rng, 16)}@spam-contoh.biz>\n\nClick.\n"
        ).encode()
        parts = [
            mime.text_part("Your message could not be delivered.\n", "us-ascii", cte="7bit"),
            _dsn_part(recipient, "5.1.1", "mx1.mail-contoh.net"),
            mime.rfc822(stranger),
        ]
        body = mime.multipart(
            "report", f"backscatter.{mime.hexid(rng, 12)}", parts, params="; report-type=delivery-status"
        )
        headers = [
            ("Return-Path", "<>"),
            ("From", "Mail Delivery System <MAILER-DAEMON@mx1.mail-contoh.net>"),
        ]
        raw = _bounce_mail(rng, 1120 + k, headers, "Undelivered Mail Returned to Sender", body)
        yield Case(
            "bounce-dsn",
            f"backscatter-{k}",
            raw,
            "bounce",
            "",
            "Undelivered Mail Returned to Sender",
            tied="no",
        )


# --- class 2: plain-text bounces --------------------------------------------------


def _exim(sent: Sent, rng: random.Random, status: str) -> str:
    return (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  {sent.recipient}\n    host mx.{sent.recipient.partition('@')[2]} [198.51.100.20]\n"
        f"    SMTP error from remote mail server after RCPT TO:<{sent.recipient}>:\n"
        f"    550 {status} User unknown\n\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        + sent.original(rng).decode()
    )


def _qmail(sent: Sent, rng: random.Random, status: str) -> str:
    return (
        "Hi. This is the qmail-send program at mail.hosting-contoh.net.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"<{sent.recipient}>:\n198.51.100.21 does not like recipient.\n"
        f"Remote host said: 550 {status} No such user\n"
        "Giving up on 198.51.100.21.\n\n--- Below this line is a copy of the message.\n\n"
        + sent.original(rng).decode()
    )


def _sendmail(sent: Sent, rng: random.Random, status: str) -> str:
    return (
        "The original message was received at Tue, 14 Jul 2026 09:00:12 +0700\n"
        "from localhost [127.0.0.1]\n\n   ----- The following addresses had permanent fatal errors -----\n"
        f"<{sent.recipient}>\n    (reason: 550 {status} User unknown)\n\n"
        "   ----- Transcript of session follows -----\n"
        f"... while talking to mx.{sent.recipient.partition('@')[2]}.:\n>>> RCPT To:<{sent.recipient}>\n"
        f"<<< 550 {status} User unknown\n550 {status} <{sent.recipient}>... User unknown\n\n"
        "   ----- Original message follows -----\n\n" + sent.original(rng).decode()
    )


def _quoted(sent: Sent, rng: random.Random, status: str) -> str:
    quoted = "\n".join("> " + line for line in sent.original(rng).decode().splitlines())
    return (
        f"Maaf, pesan Anda tidak dapat dikirim ke {sent.recipient}.\n"
        f"Alasan: 550 {status} alamat tujuan tidak ditemukan (mailbox tidak ada).\n\n"
        f"Pesan asli:\n{quoted}\n"
    )


def _prose(sent: Sent, rng: random.Random, status: str) -> str:
    return (
        f"Your message {sent.message_id} to {sent.recipient}, sent on Tue, 14 Jul 2026,\n"
        f"could not be delivered.\n\nThe remote server answered: {status} The email account that you\n"
        "tried to reach does not exist.\n"
    )


def _lotus(sent: Sent, rng: random.Random, status: str) -> str:
    return (
        f"Your message\n\n  Subject: {sent.subject}\n\nwas not delivered to:\n\n  {sent.recipient}\n\n"
        f"because:\n\n  User {sent.recipient.partition('@')[0]} ({sent.recipient})"
        f" not listed in Domino Directory ({status})\n"
    )


def _verp_prose(sent: Sent, rng: random.Random, status: str) -> str:
    return (
        f"Pesan dari <{sent.verp()}> untuk <{sent.recipient}> gagal terkirim.\n"
        f"Kode kesalahan: 550 {status} Mailbox unavailable.\n"
    )


def _verp_quoted(sent: Sent, rng: random.Random, status: str) -> str:
    return (
        f"Delivery to the following recipient failed permanently:\n\n     {sent.recipient}\n\n"
        f"Technical details of permanent failure:\n{status} The email account does not exist.\n\n"
        "----- Original message -----\n\n" + sent.original(rng, verp=True).decode()
    )


# (shape, From header or None, Return-Path or None, subject, text builder, status, how the original travels)
PLAIN_BOUNCES = [
    (
        "exim-null-from",
        "MAILER-DAEMON <>",
        None,
        "Mail delivery failed: returning message to sender",
        _exim,
        "5.1.1",
        "text",
    ),
    (
        "exim-null-from",
        "MAILER-DAEMON <>",
        None,
        "Mail delivery failed: returning message to sender",
        _exim,
        "5.1.1",
        "text",
    ),
    (
        "exim-ndr",
        "Mail Delivery System <ndr@mail.hosting-contoh.net>",
        "<ndr@mail.hosting-contoh.net>",
        "Mail delivery failed",
        _exim,
        "5.1.1",
        "text",
    ),
    (
        "exim-ndr",
        "Mail Delivery System <ndr@smtp.kantor-contoh.co.id>",
        "<ndr@smtp.kantor-contoh.co.id>",
        "Mail delivery failed: returning message to sender",
        _exim,
        "5.1.1",
        "text",
    ),
    (
        "exim-daemon",
        "Mail Delivery System <Mailer-Daemon@srv1.hosting-contoh.net>",
        "<>",
        "Mail delivery failed: returning message to sender",
        _exim,
        "5.1.1",
        "text",
    ),
    ("qmail", "MAILER-DAEMON@mail.hosting-contoh.net", None, "failure notice", _qmail, "5.1.1", "text"),
    (
        "qmail-bounce",
        "bounce-notice@mail.hosting-contoh.net",
        "<bounce-notice@mail.hosting-contoh.net>",
        "failure notice",
        _qmail,
        "5.1.1",
        "text",
    ),
    (
        "sendmail",
        "Mail Delivery Subsystem <MAILER-DAEMON@mail.kampus-contoh.ac.id>",
        None,
        "Returned mail: see transcript for details",
        _sendmail,
        "5.1.1",
        "text",
    ),
    ("sendmail-null", "MAILER-DAEMON <>", None, "Returned mail: User unknown", _sendmail, "5.1.1", "text"),
    (
        "quoted-id",
        "Sistem Surat <pengiriman-gagal@mail.isp-contoh.net.id>",
        "<pengiriman-gagal@mail.isp-contoh.net.id>",
        "Pesan tidak terkirim",
        _quoted,
        "5.1.1",
        "text",
    ),
    (
        "quoted-id",
        "Postmaster <postmaster@mail.isp-contoh.net.id>",
        None,
        "Gagal terkirim: Keluhan Anda telah kami terima",
        _quoted,
        "5.1.1",
        "text",
    ),
    (
        "quoted-ms",
        "Sistem Mel <sistem-mel@mel.kerajaan-contoh.gov.my>",
        "<sistem-mel@mel.kerajaan-contoh.gov.my>",
        "Gagal dihantar: Keluhan Anda",
        _quoted,
        "5.1.1",
        "text",
    ),
    ("prose-id", "MAILER-DAEMON <>", None, "Undeliverable mail", _prose, "5.1.1", "text"),
    (
        "prose-id",
        "Mail Administrator <mailadmin@mail.kantor-contoh.co.id>",
        "<mailadmin@mail.kantor-contoh.co.id>",
        "Nicht zustellbar: Keluhan Anda",
        _prose,
        "5.1.1",
        "text",
    ),
    (
        "prose-id",
        "Administrateur système <sysadmin@mail.entreprise-contoh.fr>",
        "<sysadmin@mail.entreprise-contoh.fr>",
        "Message non remis : Keluhan Anda",
        _prose,
        "5.1.1",
        "text",
    ),
    (
        "prose-id",
        "Administrador del sistema <sysadmin@correo-contoh.es>",
        "<sysadmin@correo-contoh.es>",
        "No se puede entregar: Keluhan Anda",
        _prose,
        "5.1.1",
        "text",
    ),
    (
        "prose-id",
        "Amministratore di sistema <sysadmin@posta-contoh.it>",
        "<sysadmin@posta-contoh.it>",
        "Mancato recapito: Keluhan Anda",
        _prose,
        "5.1.1",
        "text",
    ),
    (
        "prose-id",
        "Systeembeheerder <beheer@mail-contoh.nl>",
        "<beheer@mail-contoh.nl>",
        "Onbestelbaar: Keluhan Anda",
        _prose,
        "5.1.1",
        "text",
    ),
    (
        "prose-id",
        "Administrador <admin@correio-contoh.com.br>",
        "<admin@correio-contoh.com.br>",
        "Mensagem não entregue: Keluhan Anda",
        _prose,
        "5.1.1",
        "text",
    ),
    (
        "prose-id",
        "システム管理者 <system@mail-contoh.co.jp>",
        "<system@mail-contoh.co.jp>",
        "配信不能: Keluhan Anda",
        _prose,
        "5.1.1",
        "text",
    ),
    (
        "prose-id",
        "系统管理员 <postmaster-cn@mail-contoh.cn>",
        "<postmaster-cn@mail-contoh.cn>",
        "退信：Keluhan Anda",
        _prose,
        "5.1.1",
        "text",
    ),
    (
        "lotus",
        "Lotus Notes <notes-admin@kantor-contoh.co.id>",
        "<notes-admin@kantor-contoh.co.id>",
        "DELIVERY FAILURE: User not listed in Domino Directory",
        _lotus,
        "5.1.1",
        "attached",
    ),
    (
        "exchange2003",
        "System Administrator <exchange-admin@kantor-contoh.co.id>",
        "<exchange-admin@kantor-contoh.co.id>",
        "Undeliverable: Keluhan Anda telah kami terima",
        _lotus,
        "5.1.1",
        "attached",
    ),
    ("attached-headers", "MAILER-DAEMON <>", None, "Undelivered Mail", _lotus, "5.1.1", "headers"),
    (
        "base64-text",
        "Mail Delivery System <ndr@relay.hosting-contoh.net>",
        "<ndr@relay.hosting-contoh.net>",
        "Delivery failure",
        _exim,
        "5.1.1",
        "base64",
    ),
    (
        "details-attachment",
        "Mail Delivery System <ndr@mx.kampus-contoh.ac.id>",
        "<ndr@mx.kampus-contoh.ac.id>",
        "Mail delivery failed",
        _prose,
        "5.1.1",
        "details",
    ),
    (
        "mailbox-full",
        "MAILER-DAEMON <>",
        None,
        "Mail delivery failed: returning message to sender",
        _exim,
        "5.2.2",
        "text",
    ),
    (
        "policy",
        "Mail Delivery System <ndr@mail.hosting-contoh.net>",
        "<ndr@mail.hosting-contoh.net>",
        "Mail delivery failed",
        _exim,
        "5.7.1",
        "text",
    ),
    ("verp-prose", "MAILER-DAEMON <>", None, "Pesan gagal terkirim", _verp_prose, "5.1.1", "verp"),
    (
        "verp-quoted",
        "Mail Delivery Subsystem <bounces@relay.isp-contoh.net.id>",
        "<bounces@relay.isp-contoh.net.id>",
        "Delivery to the following recipient failed permanently",
        _verp_quoted,
        "5.1.1",
        "text",
    ),
    ("verp-to", "MAILER-DAEMON <>", None, "Returned mail: User unknown", _verp_prose, "5.1.1", "verp-to"),
    ("yahoo-failure", "MAILER-DAEMON@yahoo-contoh.com", "<>", "Failure Notice", _qmail, "5.1.1", "text"),
]


def _plain_body(sent: Sent, rng: random.Random, text: str, how: str) -> mime.Entity:
    plain = mime.text_part(text, cte="8bit")
    if how == "attached":
        return mime.multipart(
            "mixed", f"=_mixed {mime.hexid(rng, 16)}_=", [plain, mime.rfc822(sent.original(rng))]
        )
    if how == "headers":
        headers_only = mime.Entity(
            [
                b"Content-Type: text/plain; charset=us-ascii",
                b'Content-Disposition: attachment; filename="headers.txt"',
            ],
            sent.header_block(rng).encode() + b"\n",
        )
        return mime.multipart("mixed", f"----=_bounce_{mime.hexid(rng, 16)}", [plain, headers_only])
    if how == "base64":
        return mime.text_part(text, cte="base64")
    if how == "details":
        details = mime.attachment(' filename="details.txt"', "text/plain; charset=utf-8", sent.original(rng))
        return mime.multipart("mixed", f"----=_bounce_{mime.hexid(rng, 16)}", [plain, details])
    return plain


def plain_bounces(ours: Ours) -> Iterator[Case]:
    """Bounces of our acknowledgements with no multipart/report: each must be tied by what its text names."""
    rng = random.Random("plain-bounces")
    for k, (shape, sender, return_path, subject, build, status, how) in enumerate(PLAIN_BOUNCES):
        sent = ours.ack(_dead(rng, 200 + k))
        text = build(sent, rng, status)
        headers: list[mime.Header] = [("Return-Path", return_path)] if return_path else []
        headers.append(("From", sender if sender.isascii() else mime.mailbox(*_split(sender))))
        if shape == "exim-daemon":
            # Exim's own bounces say what they are; the others of this group do not.
            headers += [("X-Failed-Recipients", sent.recipient), ("Auto-Submitted", "auto-replied")]
        to = sent.verp() if how == "verp-to" else CARE
        raw = _bounce_mail(rng, 1200 + k, headers, subject, _plain_body(sent, rng, text, how), to=to)
        yield Case(
            "bounce-plain",
            f"{shape}-{k}",
            raw,
            "bounce",
            _address(sender),
            subject,
            cls="bounce",
            tied="yes",
            returns=sent.message_id,
        )
    yield from _backscatter(rng)


def _split(value: str) -> tuple[str, str]:
    name, _, rest = value.partition(" <")
    return name, rest.rstrip(">")


def _address(value: str) -> str:
    inner = value[value.find("<") + 1 : value.rfind(">")] if "<" in value else value
    return inner.strip().lower()


BACKSCATTER = [
    ("exim-null-from", "MAILER-DAEMON <>", "Mail delivery failed: returning message to sender"),
    ("exim-ndr", "Mail Delivery System <ndr@mail.hosting-contoh.net>", "Mail delivery failed"),
    ("qmail", "MAILER-DAEMON@mail.hosting-contoh.net", "failure notice"),
    ("quoted-id", "Sistem Surat <pengiriman-gagal@mail.isp-contoh.net.id>", "Pesan tidak terkirim"),
    ("prose", "MAILER-DAEMON <>", "Undeliverable mail"),
    (
        "staff-mail",
        "Mail Delivery System <ndr@smtp.kantor-contoh.co.id>",
        "Mail delivery failed: returning message to sender",
    ),
    ("no-original", "MAILER-DAEMON <>", "Returned mail: see transcript for details"),
    ("fr-non-remis", "Administrateur système <sysadmin@mail.entreprise-contoh.fr>", "Message non remis"),
]


def _backscatter(rng: random.Random) -> Iterator[Case]:
    """Bounces of mail we never sent (spam forged with our address, a colleague's own mail): recorded only."""
    for k, (shape, sender, subject) in enumerate(BACKSCATTER):
        recipient = _dead(rng, 300 + k)
        if shape == "staff-mail":
            original = (
                f"From: Rina <rina.wulandari@example.co.id>\nTo: {recipient}\nSubject: Undangan rapat\n"
                f"Message-ID: <{mime.hexid(rng, 20)}@mail.example.co.id>\n\nHalo.\n"
            )
        elif shape == "no-original":
            original = ""
        else:
            original = (
                f"From: {CARE}\nTo: {recipient}\nSubject: Obat kuat murah\n"
                f"Message-ID: <{mime.hexid(rng, 20)}@spam-contoh.biz>\n\nBeli sekarang.\n"
            )
        text = (
            "This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its recipients.\n\n"
            f"  {recipient}\n"
            "    550 5.1.1 User unknown\n\n"
            + (f"------ This is a copy of the message ------\n\n{original}" if original else "")
        )
        headers: list[mime.Header] = [("From", sender if sender.isascii() else mime.mailbox(*_split(sender)))]
        raw = _bounce_mail(rng, 1300 + k, headers, subject, mime.text_part(text, cte="8bit"))
        yield Case(
            "bounce-plain",
            f"backscatter-{shape}",
            raw,
            "bounce",
            _address(sender),
            subject,
            cls="bounce",
            tied="no",
        )
