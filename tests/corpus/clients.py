"""How each mail client writes a mail: its header set, boundaries, identifiers and text encodings.

`compose(style, ...)` returns the bytes a client of that style would hand to its
server, with the trace headers our MX adds in front. The header sets follow
what these clients really send (Outlook/Exchange Online, Gmail web and app,
Apple Mail on the Mac and iPhone, Thunderbird, Yahoo web and Android, Samsung
Email, Roundcube, Zimbra and SquirrelMail as Indonesian ISPs and offices run
them).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

from tests.corpus import mime
from tests.corpus.mime import CARE, Entity, Header
from tests.corpus.texts import html_of


@dataclass
class Draft:
    """What a person wrote, before a client turns it into a mail."""

    name: str
    address: str
    subject: str
    text: str
    n: int
    attachments: list[Entity] = field(default_factory=list)
    charset: str = "utf-8"
    from_header: str | bytes | None = None
    """The From value as the client writes it; built from name and address when None."""
    subject_header: str | bytes | None = None
    extra: list[Header] = field(default_factory=list)
    """Headers added after the client's own (a gateway's, a duplicate From, ...)."""
    replace_from: bool = True
    """Whether the client's From line is written at all (False: the draft's `extra` has the sender)."""


def _encoded_subject(style: str, text: str, charset: str) -> str:
    if text.isascii():
        return text
    if style in ("outlook", "squirrelmail"):
        try:
            return mime.q_words(text, "iso-8859-1")
        except UnicodeEncodeError:
            return mime.b_words(text, "utf-8")
    if style in ("apple", "iphone", "roundcube", "zimbra"):
        return mime.q_words(text, charset, label=charset)
    return mime.b_words(text, charset, label="UTF-8" if charset == "utf-8" else charset.upper())


def _uuid(rng: random.Random, upper: bool = True) -> str:
    value = "-".join(mime.hexid(rng, k) for k in (8, 4, 4, 4, 12))
    return value.upper() if upper else value


def _from(draft: Draft, style: str) -> str | bytes:
    if draft.from_header is not None:
        return draft.from_header
    return mime.mailbox(draft.name, draft.address, "utf-8", style="q" if style == "apple" else "b")


def _body(style: str, draft: Draft, rng: random.Random) -> Entity:
    text, charset = draft.text, draft.charset
    if style == "iphone":
        body = mime.text_part(text + "\nDikirim dari iPhone saya\n", charset)
    elif style == "thunderbird":
        body = mime.text_part(text, charset, cte="8bit", params="; format=flowed", label=charset.upper())
    elif style == "roundcube":
        body = mime.text_part(
            text, charset, cte="8bit" if not text.isascii() else "7bit", params="; format=flowed"
        )
    elif style == "squirrelmail":
        body = mime.text_part(text, charset, cte="8bit")
    else:
        html_style = "outlook" if style == "outlook" else "gmail"
        plain_cte = "quoted-printable" if not text.isascii() or style != "gmail" else ""
        signature = {
            "yahoo": "\nDikirim dari Yahoo Mail di Android\n",
            "samsung": "\n\nDikirim dari ponsel Samsung Galaxy saya\n",
        }
        full = text + signature.get(style, "")
        parts = [
            mime.text_part(full, charset, cte=plain_cte),
            mime.text_part(html_of(full, html_style), charset, subtype="html"),
        ]
        body = mime.multipart("alternative", _boundary(style, rng), parts)
    if draft.attachments:
        body = mime.multipart("mixed", _boundary(style, rng, mixed=True), [body, *draft.attachments])
    return body


def _boundary(style: str, rng: random.Random, *, mixed: bool = False) -> str:
    if style == "outlook":
        serial = mime.alnum(rng, 16, "0123456789ABCDEF")
        return f"_{'004' if mixed else '000'}_SEYPR06MB{serial}SEYPR06MB6211apcp_"
    if style in ("gmail", "android"):
        return "000000000000" + mime.hexid(rng, 12)
    if style == "apple":
        return f"Apple-Mail=_{_uuid(rng)}"
    if style in ("yahoo", "zimbra"):
        first, second = rng.randrange(10**6, 10**7), rng.randrange(10**8, 10**9)
        return f"----=_Part_{first}_{second}.17528{rng.randrange(10**7, 10**8)}"
    if style == "samsung":
        return f"--_com.samsung.android.email_{rng.randrange(10**14, 10**15)}"
    return "------------" + mime.alnum(rng, 24)


def _trace(style: str, rng: random.Random, when: mime.datetime, domain: str) -> list[Header]:
    relays = {
        "outlook": f"mail-sgaapc01on20{rng.randrange(10, 99)}.outbound.protection.outlook.com",
        "gmail": f"mail-pl1-f{rng.randrange(100, 200)}.google.com",
        "android": f"mail-oi1-f{rng.randrange(100, 200)}.google.com",
        "apple": f"qs51p00im-qukt0107{rng.randrange(1000, 9999)}.me.com",
        "iphone": f"st43p00im-ztfb1005{rng.randrange(1000, 9999)}.me.com",
        "yahoo": f"sonic{rng.randrange(300, 320)}-{rng.randrange(10, 40)}.consmr.mail.sg3.yahoo.com",
        "samsung": f"mail-wr1-f{rng.randrange(40, 80)}.google.com",
    }
    relay = relays.get(style, f"mail.{domain}")
    return [("Received", mime.received(rng, relay, mime.doc_ip(rng), when))]


def compose(style: str, draft: Draft, rng: random.Random, *, crlf: bool = False, lead: bytes = b"") -> bytes:
    """The raw mail a client of `style` sends for `draft`, as our MX stores it."""
    when = mime.moment(rng, draft.n)
    domain = draft.address.rpartition("@")[2] or "example.net"
    subject = (
        draft.subject_header
        if draft.subject_header is not None
        else _encoded_subject(style, draft.subject, draft.charset)
    )
    sender: list[Header] = [("From", _from(draft, style))] if draft.replace_from else []
    headers = _trace(style, rng, when, domain) + _client_headers(style, rng, when, domain, sender, subject)
    headers += draft.extra
    entity = _body(style, draft, rng)
    return mime.message(headers, entity, crlf=crlf, lead=lead)


def _client_headers(
    style: str,
    rng: random.Random,
    when: mime.datetime,
    domain: str,
    sender: list[Header],
    subject: str | bytes,
) -> list[Header]:
    builders = {
        "outlook": _outlook,
        "gmail": _gmail,
        "android": _gmail,
        "apple": _apple,
        "iphone": _iphone,
        "thunderbird": _thunderbird,
        "yahoo": _yahoo,
        "samsung": _samsung,
        "roundcube": _roundcube,
        "zimbra": _zimbra,
        "squirrelmail": _squirrelmail,
    }
    return builders[style](rng, when, domain, sender, subject)


def _outlook(
    rng: random.Random, when: mime.datetime, domain: str, sender: list[Header], subject: str | bytes
) -> list[Header]:
    box = f"SEYPR06MB{rng.randrange(1000, 9999)}"
    return [
        *sender,
        ("To", f'"{CARE}" <{CARE}>'),
        ("Subject", subject),
        ("Thread-Topic", subject),
        ("Thread-Index", "AQH" + mime.alnum(rng, 29) + "=="),
        ("Date", mime.date_header(when, 0)),
        ("Message-ID", f"<{box}{mime.alnum(rng, 24, '0123456789ABCDEF')}@{box}.apcprd06.prod.outlook.com>"),
        ("Accept-Language", "id-ID, en-US"),
        ("Content-Language", "id-ID"),
        ("X-MS-Has-Attach", ""),
        ("X-MS-TNEF-Correlator", ""),
        ("MIME-Version", "1.0"),
    ]


def _gmail(
    rng: random.Random, when: mime.datetime, domain: str, sender: list[Header], subject: str | bytes
) -> list[Header]:
    stamp = int(when.timestamp())
    return [
        (
            "DKIM-Signature",
            "v=1; a=rsa-sha256; c=relaxed/relaxed;\n        d=gmail.com; s=20230601;"
            f" t={stamp}; x={stamp + 604800}; darn=example.co.id;\n"
            "        h=to:subject:message-id:date:from:mime-version:from:to:cc:subject\n"
            f"         :date:message-id:reply-to;\n        bh={mime.alnum(rng, 43)}=;\n"
            f"        b={mime.alnum(rng, 60)}",
        ),
        ("X-Google-Smtp-Source", "AGHT+IE" + mime.alnum(rng, 60)),
        (
            "X-Received",
            f"by 2002:a17:90b:{mime.hexid(rng, 4)} with SMTP id {mime.alnum(rng, 20)};\n"
            f"        {mime.date_header(when, -7)}",
        ),
        ("MIME-Version", "1.0"),
        *sender,
        ("Date", mime.date_header(when)),
        ("Message-ID", f"<CA+{mime.alnum(rng, 40)}@mail.gmail.com>"),
        ("Subject", subject),
        ("To", CARE),
    ]


def _apple(
    rng: random.Random, when: mime.datetime, domain: str, sender: list[Header], subject: str | bytes
) -> list[Header]:
    return [
        *sender,
        ("Mime-Version", "1.0 (Mac OS X Mail 16.0 \\(3776.700.51\\))"),
        ("Subject", subject),
        ("Message-Id", f"<{_uuid(rng)}@{domain}>"),
        ("Date", mime.date_header(when)),
        ("To", CARE),
        ("X-Mailer", "Apple Mail (2.3776.700.51)"),
    ]


def _iphone(
    rng: random.Random, when: mime.datetime, domain: str, sender: list[Header], subject: str | bytes
) -> list[Header]:
    return [
        *sender,
        ("Mime-Version", "1.0 (1.0)"),
        ("Date", mime.date_header(when)),
        ("Subject", subject),
        ("Message-Id", f"<{_uuid(rng)}@{domain}>"),
        ("To", CARE),
        ("X-Mailer", "iPhone Mail (21F90)"),
    ]


def _thunderbird(
    rng: random.Random, when: mime.datetime, domain: str, sender: list[Header], subject: str | bytes
) -> list[Header]:
    return [
        ("Message-ID", f"<{_uuid(rng, upper=False)}@{domain}>"),
        ("Date", mime.date_header(when)),
        ("MIME-Version", "1.0"),
        ("User-Agent", "Mozilla Thunderbird"),
        ("Content-Language", "id"),
        ("To", CARE),
        *sender,
        ("Subject", subject),
    ]


def _yahoo(
    rng: random.Random, when: mime.datetime, domain: str, sender: list[Header], subject: str | bytes
) -> list[Header]:
    first, second = rng.randrange(10**8, 10**9), rng.randrange(10**6, 10**7)
    message_id = f"<{first}.{second}.{int(when.timestamp()) * 1000}@mail.yahoo.com>"
    return [
        ("X-YMail-OSG", mime.alnum(rng, 50)),
        ("Date", mime.date_header(when, 0).replace("+0000", "+0000 (UTC)")),
        *sender,
        ("To", f'"{CARE}" <{CARE}>'),
        ("Message-ID", message_id),
        ("Subject", subject),
        ("MIME-Version", "1.0"),
        ("References", message_id),
        ("X-Mailer", "WebService/1.1.22501 YahooMailAndroidMobile"),
    ]


def _samsung(
    rng: random.Random, when: mime.datetime, domain: str, sender: list[Header], subject: str | bytes
) -> list[Header]:
    return [
        ("Date", mime.date_header(when)),
        (
            "Message-ID",
            f"<{mime.alnum(rng, 24, string.ascii_lowercase + string.digits)}"
            f".{int(when.timestamp()) * 1000}@email.android.com>",
        ),
        *sender,
        ("To", CARE),
        ("Subject", subject),
        ("MIME-Version", "1.0"),
    ]


def _roundcube(
    rng: random.Random, when: mime.datetime, domain: str, sender: list[Header], subject: str | bytes
) -> list[Header]:
    return [
        ("MIME-Version", "1.0"),
        ("Date", mime.date_header(when)),
        *sender,
        ("To", CARE),
        ("Subject", subject),
        ("Message-ID", f"<{mime.hexid(rng, 32)}@{domain}>"),
        ("User-Agent", "Roundcube Webmail/1.6.6"),
    ]


def _zimbra(
    rng: random.Random, when: mime.datetime, domain: str, sender: list[Header], subject: str | bytes
) -> list[Header]:
    return [
        ("Date", mime.date_header(when) + " (WIB)"),
        *sender,
        ("To", CARE),
        (
            "Message-ID",
            f"<{rng.randrange(10**5, 10**6)}.{rng.randrange(10**5, 10**6)}"
            f".{int(when.timestamp()) * 1000}.JavaMail.zimbra@{domain}>",
        ),
        ("Subject", subject),
        ("MIME-Version", "1.0"),
        ("X-Originating-IP", f"[{mime.doc_ip(rng)}]"),
        ("X-Mailer", "Zimbra 8.8.15_GA_4581 (ZimbraWebClient - GC126 (Win)/8.8.15_GA_4581)"),
        ("Thread-Index", mime.alnum(rng, 28)),
        ("Thread-Topic", subject),
    ]


def _squirrelmail(
    rng: random.Random, when: mime.datetime, domain: str, sender: list[Header], subject: str | bytes
) -> list[Header]:
    return [
        ("Message-ID", f"<{mime.hexid(rng, 32)}.squirrel@webmail.{domain}>"),
        ("Date", mime.date_header(when)),
        ("Subject", subject),
        *sender,
        ("To", CARE),
        ("User-Agent", "SquirrelMail/1.4.22"),
        ("MIME-Version", "1.0"),
        ("X-Priority", "3 (Normal)"),
        ("Importance", "Normal"),
    ]
