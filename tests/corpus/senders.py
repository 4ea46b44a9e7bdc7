"""Corpus groups with a sender only careful reading finds, and resends that are mails of their own.

`senders`: From headers as people's clients, scripts and gateways really break
them (no angle brackets, a stray line before the headers, a broken line that
hides the next, two From headers, a trailing dot, the obsolete `From :`, a
quoted local part with a space, no usable From at all so that Sender,
Reply-To or Return-Path must serve). A recovered sender that is a robot must
still never be answered.

`duplicates`: resends under the same Message-ID and with the same text, but
with a new or another attachment or a corrected subject: each is a complaint.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator

from tests.corpus import mime
from tests.corpus.cases import Case
from tests.corpus.clients import Draft, compose
from tests.corpus.mime import CARE
from tests.corpus.texts import COMPLAINTS, People, letter


def _draft(people: People, rng: random.Random, n: int, kind: str = "gmail") -> tuple[Draft, str]:
    subject, paragraph = COMPLAINTS["id"][n % len(COMPLAINTS["id"])]
    name, address = people.person(rng, kind)
    return Draft(name, address, subject, letter("id", paragraph, name), n), address


def _case(shape: str, raw: bytes, address: str, draft: Draft, label: str = "ticket") -> Case:
    return Case(
        "sender-" + shape.split(":")[0],
        shape.split(":")[-1],
        raw,
        label,
        address,
        draft.subject,
        cls="sender",
    )


def senders(people: People) -> Iterator[Case]:
    rng = random.Random("senders")
    yield from _no_brackets(people, rng)
    yield from _stray_lines(people, rng)
    yield from _broken_lines(people, rng)
    yield from _two_froms(people, rng)
    yield from _odd_syntax(people, rng)
    yield from _fallback_headers(people, rng)
    yield from _robots_behind(people, rng)


def _no_brackets(people: People, rng: random.Random) -> Iterator[Case]:
    for k, style in enumerate(("squirrelmail", "samsung", "roundcube", "zimbra")):
        draft, address = _draft(people, rng, 600 + k, "isp")
        draft.from_header = f'"{draft.name}" {address}' if k == 3 else f"{draft.name} {address}"
        yield _case(f"no-brackets:{style}", compose(style, draft, rng), address, draft)
    draft, address = _draft(people, rng, 604, "yahoo")
    draft.from_header = f"{address} ({draft.name})"
    yield _case("no-brackets:comment", compose("yahoo", draft, rng), address, draft)


STRAY_LINES = (
    ("outlook-saved", b"Microsoft Mail Internet Headers Version 2.0\n"),
    ("mbox-from", b"From {address}  Tue Jul 14 09:12:00 2026\n"),
    ("escaped-from", b">From {address} Tue Jul 14 09:12:00 2026\n"),
)


def _stray_lines(people: People, rng: random.Random) -> Iterator[Case]:
    for k, (shape, line) in enumerate(STRAY_LINES):
        draft, address = _draft(people, rng, 610 + k, "outlook")
        lead = line.replace(b"{address}", address.encode())
        yield _case(f"stray-line:{shape}", compose("outlook", draft, rng, lead=lead), address, draft)


BROKEN_LINES = (
    b"X-MS-Exchange-Organization-AuthAs Anonymous",
    b"X-MS-Exchange-Transport-CrossTenantHeadersStamped SEYPR06MB6211",
    b"Sent from my Huawei",
)


def _broken_lines(people: People, rng: random.Random) -> Iterator[Case]:
    for k, line in enumerate(BROKEN_LINES):
        draft, address = _draft(people, rng, 620 + k, "outlook")
        draft.replace_from = False
        draft.extra = [("", line), ("From", mime.mailbox(draft.name, address))]
        style = "outlook" if k < 2 else "samsung"
        raw = compose(style, draft, rng, crlf=style == "outlook")
        yield _case(f"broken-line:{style}-{k}", raw, address, draft)


def _two_froms(people: People, rng: random.Random) -> Iterator[Case]:
    for k in range(3):
        draft, address = _draft(people, rng, 630 + k)
        if k == 0:
            second = address
        elif k == 1:
            second = f"{draft.name.upper()} <{address.upper()}>"
        else:
            second = mime.mailbox(*people.person(rng, "gmail"))
        draft.extra = [("From", second)]
        yield _case(
            f"two-from:{('same', 'same-other-case', 'different')[k]}",
            compose("gmail", draft, rng),
            address,
            draft,
        )


def _odd_syntax(people: People, rng: random.Random) -> Iterator[Case]:
    for k, style in enumerate(("gmail", "outlook")):
        draft, address = _draft(people, rng, 640 + k, "gmail" if k == 0 else "outlook")
        draft.from_header = f"{draft.name} <{address}.>"
        yield _case(f"trailing-dot:{style}", compose(style, draft, rng), address, draft)
    for k, name in enumerate(("From ", "From  ")):
        draft, address = _draft(people, rng, 642 + k, "isp")
        draft.replace_from = False
        draft.extra = [(name, mime.mailbox(draft.name, address))]
        yield _case(
            f"obsolete-colon:{'one' if k == 0 else 'two'}-space",
            compose("squirrelmail", draft, rng),
            address,
            draft,
        )
    for k in range(2):
        draft, _unused = _draft(people, rng, 644 + k, "gov")
        local = f'"{draft.name}"'
        domain = ("mail.pemda-contoh.go.id", "kantor-contoh.co.id")[k]
        address = f"{local}@{domain}".lower()
        draft.from_header = f"{local}@{domain}" if k == 0 else f"{draft.name} <{local}@{domain}>"
        yield _case(
            f"quoted-local:{'bare' if k == 0 else 'named'}", compose("zimbra", draft, rng), address, draft
        )
    for k in range(2):
        draft, address = _draft(people, rng, 646 + k, "gmail")
        text = f"{draft.name} <{address}>" if k == 0 else f"François Lefèvre <{address}>"
        charset = "utf-8" if k == 0 else "iso-8859-1"
        draft.from_header = f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="
        yield _case(f"encoded-address:{charset}", compose("samsung", draft, rng), address, draft)
    unbalanced = ('"{name} <{address}>', "{name} <{address}", "{address};")
    for k, pattern in enumerate(unbalanced):
        draft, address = _draft(people, rng, 648 + k, "yahoo")
        draft.from_header = pattern.format(name=draft.name, address=address)
        yield _case(
            f"unbalanced:{('quote', 'angle', 'semicolon')[k]}", compose("yahoo", draft, rng), address, draft
        )


def _fallback_headers(people: People, rng: random.Random) -> Iterator[Case]:
    """No usable From: Sender, then Reply-To, then Return-Path, as a mail client would."""
    shapes = (
        ("sender", "name-only", [("From", "Pelanggan Setia")], "Sender"),
        ("sender", "empty-group", [("From", "undisclosed-recipients:;")], "Sender"),
        ("reply-to", "empty-angle", [("From", "<>")], "Reply-To"),
        ("reply-to", "name-only", [("From", '"Rina Wulandari"')], "Reply-To"),
        ("return-path", "missing-from", [], "Return-Path"),
        ("return-path", "garbage", [("From", "???")], "Return-Path"),
    )
    for k, (group, shape, froms, header) in enumerate(shapes):
        draft, address = _draft(people, rng, 660 + k, "isp")
        value = f"<{address}>" if header == "Return-Path" else mime.mailbox(draft.name, address)
        draft.replace_from = False
        draft.extra = [*froms, (header, value)]
        yield _case(f"from-unusable:{group}-{shape}", compose("roundcube", draft, rng), address, draft)


ROBOTS_BEHIND = (
    (
        "return-path",
        "Pesanan Anda telah dikirim",
        [],
        ("Return-Path", "<noreply@notifikasi.tokoonline-contoh.co.id>"),
    ),
    (
        "sender",
        "Pembayaran berhasil",
        [("From", "Toko Online Contoh")],
        ("Sender", "<no-reply@notifikasi.tokoonline-contoh.co.id>"),
    ),
    ("reply-to", "Kode verifikasi Anda", [("From", "<>")], ("Reply-To", "no-reply@akun.dompet-contoh.id")),
    (
        "return-path",
        "Undeliverable: Keluhan",
        [("From", "Mail Delivery")],
        ("Return-Path", "<mailer-daemon@mx.kantor-contoh.co.id>"),
    ),
)


def _robots_behind(people: People, rng: random.Random) -> Iterator[Case]:
    """The recovered sender is a robot: recorded, never answered."""
    for k, (shape, subject, froms, header) in enumerate(ROBOTS_BEHIND):
        when = mime.moment(rng, 670 + k)
        address = header[1].strip("<>")
        domain = address.partition("@")[2]
        headers: list[mime.Header] = [
            ("Received", mime.received(rng, f"mta{k}.{domain}", mime.doc_ip(rng), when)),
            *froms,
            header,
            ("To", CARE),
            ("Subject", subject),
            ("Date", mime.date_header(when)),
            ("Message-ID", f"<{mime.hexid(rng, 24)}@{domain}>"),
            ("MIME-Version", "1.0"),
        ]
        body = mime.text_part(
            f"{subject}.\n\nEmail ini dikirim otomatis, mohon tidak membalas.\n", cte="7bit"
        )
        case = Case(
            "sender-robot", shape, mime.message(headers, body), "ignore", address, subject, cls="sender"
        )
        yield case


# --- resends under one Message-ID ------------------------------------------------

RESENDS = (
    ("new-attachment", 5),
    ("corrected-subject", 4),
    ("other-attachment", 3),
)
TYPOS = {
    "Koran tidak diantar sejak hari Senin": "Koran tdk diantar sejak hr Senin",
    "E-paper tidak bisa diunduh": "E-paper tdk bisa diundh",
    "Tagihan langganan terpotong dua kali": "Tagihan langganan terptong 2x",
    "Aplikasi keluar sendiri saat membuka artikel": "Aplikasi keluar sndiri",
}


def duplicates(people: People) -> Iterator[Case]:
    rng = random.Random("duplicates")
    n = 700
    for shape, count in RESENDS:
        for k in range(count):
            n += 1
            subject, paragraph = COMPLAINTS["id"][k % 4]
            name, address = people.person(rng, ("gmail", "yahoo", "outlook")[k % 3])
            text = letter("id", paragraph, name)
            first_subject = TYPOS[subject] if shape == "corrected-subject" else subject
            message_id = (
                f"<{mime.hexid(rng, 32)}@{('email.android.com', 'mail.yahoo.com', 'outlook.com')[k % 3]}>"
            )
            photo_a = mime.attachment(
                ' filename="foto1.jpg"', 'image/jpeg; name="foto1.jpg"', mime.fake_jpeg(rng)
            )
            photo_b = mime.attachment(
                ' filename="foto2.jpg"', 'image/jpeg; name="foto2.jpg"', mime.fake_jpeg(rng)
            )
            first_parts = {"new-attachment": [], "corrected-subject": [], "other-attachment": [photo_a]}[
                shape
            ]
            second_parts = {
                "new-attachment": [photo_a],
                "corrected-subject": [],
                "other-attachment": [photo_b],
            }[shape]
            for copy, (parts, shown) in enumerate(((first_parts, first_subject), (second_parts, subject))):
                raw = _resend(rng, n * 2 + copy, (name, address), (shown, message_id), text, parts)
                yield Case(
                    "duplicate-resend",
                    f"{shape}-{k}{'ab'[copy]}",
                    raw,
                    "ticket",
                    address,
                    shown,
                    cls="duplicate",
                )


def _resend(
    rng: random.Random,
    n: int,
    who: tuple[str, str],
    what: tuple[str, str],
    text: str,
    attachments: list[mime.Entity],
) -> bytes:
    """One copy of a mail that a phone's outbox sent twice, the second time changed, under one Message-ID."""
    (name, address), (subject, message_id) = who, what
    when = mime.moment(rng, n)
    headers: list[mime.Header] = [
        ("Received", mime.received(rng, "mail-lf1-f43.google.com", mime.doc_ip(rng), when)),
        ("Date", mime.date_header(mime.FIRST_DAY)),
        ("From", mime.mailbox(name, address)),
        ("To", CARE),
        ("Subject", subject),
        ("Message-ID", message_id),
        ("MIME-Version", "1.0"),
    ]
    body = mime.text_part(text, cte="7bit")
    if attachments:
        body = mime.multipart(
            "mixed", f"--_com.android.email_{rng.randrange(10**14, 10**15)}", [body, *attachments]
        )
    return mime.message(headers, body)
