"""Corpus groups written by people: complaints from every client, in every language and charset.

Four kinds: ordinary complaints (`baseline`), mails whose words a careless
decoder garbles (`garbled`), mails whose sender only careful reading recovers
(`sender`), and resends that share a Message-ID with their first copy but are
mails of their own (`duplicate`).
"""

from __future__ import annotations

import random
import urllib.parse
from collections.abc import Iterator
from typing import Any

from tests.corpus import mime
from tests.corpus.cases import Case
from tests.corpus.clients import Draft, compose
from tests.corpus.mime import CARE
from tests.corpus.texts import COMPLAINTS, FOREIGN_NAMES, People, letter

CLIENT_STYLES = (
    ("outlook", "outlook", 12),
    ("gmail", "gmail", 12),
    ("apple", "apple", 6),
    ("iphone", "apple", 6),
    ("thunderbird", "isp", 8),
    ("yahoo", "yahoo", 8),
    ("android", "gmail", 5),
    ("samsung", "gmail", 5),
    ("roundcube", "gov", 5),
    ("zimbra", "corp", 5),
    ("squirrelmail", "isp", 4),
)


def _complaint(rng: random.Random, language: str, index: int) -> tuple[str, str]:
    bank = COMPLAINTS[language]
    return bank[index % len(bank)]


def _ticket(group: str, shape: str, raw: bytes, address: str, subject: str, **more: Any) -> Case:
    return Case(group, shape, raw, "ticket", address, subject, **more)


def clients(people: People) -> Iterator[Case]:
    """Ordinary complaints as each client writes them, mostly Indonesian, some English, some with photos."""
    rng = random.Random("clients")
    n = 0
    for style, kind, count in CLIENT_STYLES:
        for k in range(count):
            n += 1
            language = "en" if k % 5 == 4 else "id"
            subject, paragraph = _complaint(rng, language, n)
            if k % 4 == 1:
                subject = f"Keluhan: {subject}" if language == "id" else f"Complaint: {subject}"
            name, address = people.person(rng, kind)
            draft = Draft(name, address, subject, letter(language, paragraph, name), n)
            shape = "plain"
            if k % 3 == 2:
                draft.attachments.append(
                    _photo(rng, f"IMG_{20260713 + k}_{rng.randrange(100000, 999999)}.jpg")
                )
                shape = "photo"
            yield _ticket(
                f"client-{style}",
                shape,
                compose(style, draft, rng, crlf=style == "outlook"),
                address,
                subject,
            )


def _photo(rng: random.Random, filename: str) -> mime.Entity:
    return mime.attachment(f' filename="{filename}"', f'image/jpeg; name="{filename}"', mime.fake_jpeg(rng))


GATEWAYS = {
    "proofpoint": [
        (
            "X-Proofpoint-Virus-Version",
            (
                "vendor=baseguard\n "
                "engine=ICAP:2.0.293,Aquarius:18.0.1039,Hydra:6.0.680,FMLib:17.12.28.16\n "
                "definitions=2026-07-14_02,2026-07-14_01,2026-07-14_01 signatures=0"
            ),
        ),
        (
            "X-Proofpoint-Spam-Details",
            (
                "rule=notspam policy=default score=0 spamscore=0 malwarescore=0\n phishscore=0 "
                "adultscore=0 bulkscore=0 classifier=spam adjust=0 reason=mlx\n scancount=1 "
                "engine=8.19.0-2406140000 definitions=main-2407140021"
            ),
        ),
        ("X-Proofpoint-ORIG-GUID", "Qx7mV3kq0H1pYtW9cZ2bR5nL8sA4dE6f"),
    ],
    "mimecast": [
        ("X-MC-Unique", "aB3dE5fG7hI9jK1lM3nO5p-1"),
        ("X-Mimecast-Spam-Score", "0"),
        ("X-Mimecast-MFC-AGG-ID", "34"),
        ("X-Mimecast-Originator", "customer"),
    ],
    "barracuda": [
        ("X-Barracuda-Connect", "mail.contoh-pelanggan.co.id[203.0.113.40]"),
        ("X-Barracuda-Start-Time", "1752460290"),
        ("X-Barracuda-URL", "https://esg.example.co.id:443/cgi-mod/mark.cgi"),
        ("X-Barracuda-Spam-Score", "0.00"),
        (
            "X-Barracuda-Spam-Status",
            (
                "No, SCORE=0.00 using global scores of TAG_LEVEL=3.5\n QUARANTINE_LEVEL=1000.0 "
                "KILL_LEVEL=6.0 tests=HTML_MESSAGE"
            ),
        ),
    ],
}
BANNERS = {
    "proofpoint": (
        "CAUTION: This email originated from outside of the organization. Do not click "
        "links or open attachments unless you recognize the sender.\n\n"
    ),
    "mimecast": "",
    "barracuda": "",
}


def gateways(people: People) -> Iterator[Case]:
    """Complaints that passed a security gateway (theirs or ours): extra headers, subject tags, banners."""
    rng = random.Random("gateways")
    n = 100
    for gateway, extra in GATEWAYS.items():
        for k in range(3):
            n += 1
            subject, paragraph = _complaint(rng, "id", n)
            shown = f"[EXTERNAL] {subject}" if gateway == "proofpoint" and k != 2 else subject
            name, address = people.person(rng, "corp")
            text = BANNERS[gateway] + letter("id", paragraph, name)
            draft = Draft(name, address, shown, text, n, extra=list(extra))
            style = ("outlook", "zimbra", "gmail")[k]
            yield _ticket(f"gateway-{gateway}", f"passed-{style}", compose(style, draft, rng), address, shown)


LANGUAGE_CLIENTS = {
    "fr": ("thunderbird", "orange.fr", "iso-8859-1"),
    "de": ("thunderbird", "gmx.de", "utf-8"),
    "es": ("outlook", "outlook.es", "utf-8"),
    "it": ("roundcube", "libero.it", "utf-8"),
    "nl": ("apple", "ziggo.nl", "utf-8"),
    "pt": ("gmail", "uol.com.br", "utf-8"),
    "ms": ("gmail", "yahoo.com.my", "utf-8"),
}


def languages(people: People) -> Iterator[Case]:
    """Complaints in the other languages, correctly encoded (iso-2022-jp, gb2312 and utf-8 among them)."""
    rng = random.Random("languages")
    n = 200
    for language, (style, domain, charset) in LANGUAGE_CLIENTS.items():
        for k, (subject, paragraph) in enumerate(COMPLAINTS[language]):
            n += 1
            name = FOREIGN_NAMES[language][k]
            address = people.address(
                rng, name.split()[0].encode("ascii", "ignore").decode() or "client", domain
            )
            draft = Draft(
                name, address, subject, letter(language, paragraph, name, phone=False), n, charset=charset
            )
            yield _ticket(f"lang-{language}", style, compose(style, draft, rng), address, subject, name=name)
    yield from _japanese(people, rng)
    yield from _chinese(people, rng)


def _japanese(people: People, rng: random.Random) -> Iterator[Case]:
    for k, (subject, paragraph) in enumerate(COMPLAINTS["ja"]):
        name = FOREIGN_NAMES["ja"][k]
        address = people.address(
            rng, ("hanako.yamada", "ken.sato")[k], ("docomo-contoh.ne.jp", "nifty-contoh.com")[k]
        )
        when = mime.moment(rng, 300 + k)
        headers: list[mime.Header] = [
            ("Received", mime.received(rng, "mail.nifty-contoh.com", mime.doc_ip(rng), when)),
            ("Message-ID", f"<{mime.hexid(rng, 16)}.{mime.hexid(rng, 8)}@nifty-contoh.com>"),
            ("Date", mime.date_header(when, 9)),
            ("From", f"{mime.b_words(name, 'iso2022_jp', label='ISO-2022-JP')} <{address}>"),
            ("To", CARE),
            ("Subject", mime.b_words(subject, "iso2022_jp", label="ISO-2022-JP")),
            ("MIME-Version", "1.0"),
            ("User-Agent", "Mozilla Thunderbird"),
        ]
        text = letter("ja", paragraph, name, phone=False)
        body = mime.text_part(
            text, "iso2022_jp", cte="7bit", label="ISO-2022-JP", params="; format=flowed; delsp=yes"
        )
        yield _ticket("lang-ja", "iso-2022-jp", mime.message(headers, body), address, subject, name=name)


def _chinese(people: People, rng: random.Random) -> Iterator[Case]:
    for k, (subject, paragraph) in enumerate(COMPLAINTS["zh"]):
        name = ("李娜", "张伟")[k]
        address = people.address(rng, ("lina", "zhangwei")[k], ("163.com", "qq.com")[k])
        when = mime.moment(rng, 310 + k)
        headers: list[mime.Header] = [
            (
                "Received",
                mime.received(
                    rng, "m15-42.126.com" if k == 0 else "smtpbg150.qq.com", mime.doc_ip(rng), when
                ),
            ),
            ("Date", mime.date_header(when, 8)),
            ("From", f'"{mime.b_words(name, "gb2312", label="gb2312")}" <{address}>'),
            ("To", f'"{CARE}" <{CARE}>'),
            ("Subject", mime.b_words(subject, "gb2312", label="gb2312")),
            ("X-Priority", "3"),
            (
                "X-Mailer",
                "Coremail Webmail Server Version XT5.0.14 build 20230109(dcb5de15)"
                if k == 0
                else "QQMail 2.x",
            ),
            ("MIME-Version", "1.0"),
            (
                "Message-ID",
                f"<{mime.alnum(rng, 20)}.{rng.randrange(10**4, 10**5)}@{address.partition('@')[2]}>",
            ),
        ]
        text = letter("zh", paragraph, name, phone=False)
        parts = [
            mime.text_part(text, "gb2312", cte="base64", label="GBK" if k else "gb2312"),
            mime.text_part(
                f"<div>{text}</div>", "gb2312", cte="base64", subtype="html", label="GBK" if k else "gb2312"
            ),
        ]
        body = mime.multipart(
            "alternative",
            f"----=_Part_{rng.randrange(10**5, 10**6)}_{rng.randrange(10**8, 10**9)}.17528",
            parts,
        )
        yield _ticket("lang-zh", "gb2312", mime.message(headers, body), address, subject, name=name)


# --- garbled text: what careless decoding mangles --------------------------------


def _plain_mail(
    rng: random.Random,
    n: int,
    *,
    from_value: str | bytes,
    subject_value: str | bytes,
    body: mime.Entity,
    agent: mime.Header = ("User-Agent", "Horde Application Framework 5"),
    domain: str = "webmail.telkom.net",
) -> bytes:
    when = mime.moment(rng, n)
    headers: list[mime.Header] = [
        ("Received", mime.received(rng, domain, mime.doc_ip(rng), when)),
        ("Date", mime.date_header(when)),
        ("From", from_value),
        ("To", CARE),
        ("Subject", subject_value),
        ("Message-ID", f"<{mime.hexid(rng, 20)}.{n}@{domain}>"),
        agent,
        ("MIME-Version", "1.0"),
    ]
    return mime.message(headers, body)


RAW_UTF8 = [
    ("Koran “Harian Nusantara” tidak datang — sudah 3 hari", "Nur’aini Siregar"),
    ("Tagihan salah 🙏 mohon dicek ulang", "Désirée Halim"),
    ("Langganan e‑paper hilang setelah ganti HP…", "Ayu Kusuma • Bali"),
    ("Iklan baris “Dijual Rumah” salah cetak", "Bernadette Sihombing"),
]
RAW_LEGACY = [
    ("fr", "iso-8859-1", "Réclamation : journal non livré depuis lundi", "Élodie Marchand", "laposte.net"),
    ("de", "windows-1252", "Beschwerde über die Zustellung – Zeitung fehlt", "Jürgen Weiß", "web.de"),
    ("es", "iso-8859-1", "Queja: el periódico no llegó esta semana", "José Núñez", "telefonica.es"),
    ("pt", "iso-8859-1", "Reclamação: jornal não entregue", "João Gonçalves", "sapo.pt"),
    ("zh", "gbk", "投诉：报纸没有送到，武小华", "武小华", "sina.com"),
    ("zh", "gbk", "镕基路订户：报纸一直没有送到", "朱镕", "sohu.com"),
    ("zh", "gbk", "电子版无法下载（堃）", "王喆", "126.com"),
    ("ja", "shift_jis", "新聞が届きません（７月分）", "山田 花子", "ezweb-contoh.ne.jp"),
    ("ja", "shift_jis", "電子版にログインできません", "佐藤 健", "softbank-contoh.ne.jp"),
    ("zh", "big5", "投訴：報紙沒有送到", "陳大文", "yahoo.com.tw"),
    ("ko", "euc-kr", "신문이 배달되지 않았습니다", "김민수", "naver-contoh.com"),
]
LEGACY_PARAGRAPHS = {
    "big5": "您好，從星期一開始我訂的報紙一直沒有送到，請盡快處理。",
    "euc-kr": "신문이 월요일부터 배달되지 않았습니다. 확인 부탁드립니다.",
}
BODY_CHARSET = {"gbk": "gb2312", "windows-1252": "windows-1252"}


def garbled(people: People) -> Iterator[Case]:
    """Raw 8-bit headers, broken encoded-words, mislabelled legacy charsets, hard attachment names."""
    rng = random.Random("garbled")
    yield from _raw_utf8(people, rng)
    yield from _raw_legacy(people, rng)
    yield from _broken_words(people, rng)
    yield from _supersets(people, rng)
    yield from _body_charsets(people, rng)
    yield from _attachment_names(people, rng)


def _raw_utf8(people: People, rng: random.Random) -> Iterator[Case]:
    agents = [
        ("User-Agent", "Horde Application Framework 5"),
        ("X-Mailer", "PHPMailer 5.2.9 (https://github.com/PHPMailer/PHPMailer/)"),
        ("X-Mailer", "Android Email 4.4"),
        ("User-Agent", "Roundcube Webmail/1.4.11"),
    ]
    for k, (subject, name) in enumerate(RAW_UTF8):
        address = people.address(
            rng, name.split()[0].encode("ascii", "ignore").decode() or "pelanggan", "telkom.net"
        )
        text = letter("id", _complaint(rng, "id", k)[1], name)
        raw = _plain_mail(
            rng,
            400 + k,
            from_value=f"{name} <{address}>".encode(),
            subject_value=subject.encode(),
            body=mime.text_part(text, "utf-8", cte="8bit"),
            agent=agents[k],
        )
        yield _ticket(
            "charset-raw8",
            f"utf8-{agents[k][1].split()[0].lower()}",
            raw,
            address,
            subject,
            cls="garbled",
            name=name,
        )


def _raw_legacy(people: People, rng: random.Random) -> Iterator[Case]:
    for k, (language, charset, subject, name, domain) in enumerate(RAW_LEGACY):
        address = people.address(rng, f"pelanggan.{language}", domain)
        paragraph = LEGACY_PARAGRAPHS.get(charset) or COMPLAINTS[language][0][1]
        text = f"{paragraph}\n\n{name}\n"
        label = BODY_CHARSET.get(charset, charset)
        body = mime.text_part(text, charset, cte="8bit" if k % 2 == 0 else "base64", label=label)
        raw = _plain_mail(
            rng,
            420 + k,
            from_value=f"{name} <{address}>".encode(charset),
            subject_value=subject.encode(charset),
            body=body,
            agent=(
                "X-Mailer",
                "Foxmail 7.2.25.228[cn]" if language == "zh" else "Microsoft Outlook Express 6.00.2900.5931",
            ),
            domain=f"mail.{domain}",
        )
        yield _ticket(
            "charset-raw8", f"{charset}-{language}", raw, address, subject, cls="garbled", name=name
        )


def _words_8bit(text: str, charset: str) -> bytes:
    """A Q encoded-word that carries raw 8-bit bytes instead of =XX escapes (seen from webmail)."""
    return b"=?" + charset.encode() + b"?Q?" + text.replace(" ", "_").encode(charset) + b"?="


BROKEN_WORDS = [
    ("8bit-in-q", "Pengiriman koran terlambat — mohon dicek", "utf-8"),
    ("8bit-in-q", "Langganan “premium” tidak aktif", "utf-8"),
    ("8bit-in-q", "Réclamation facture n° 2026-114", "iso-8859-1"),
    ("spaces", "Koran tidak datang 3 hari berturut-turut", "utf-8"),
    ("spaces", "Problème de livraison à Bandung", "iso-8859-1"),
    ("spaces", "Keluhan: e-paper error “akses ditolak”", "utf-8"),
    ("split-b", "電子版のログインができません。至急ご確認ください", "utf-8"),
    ("split-b", "Terima kasih 🙏 tapi koran belum datang juga", "utf-8"),
    ("split-q", "Tagihan ganda — Rp 125.000 × 2", "utf-8"),
]


def _escaped(char: str, charset: str) -> str:
    """`char` as in a Q encoded-word written by hand: ASCII as is (spaces too), the rest as =XX."""
    return char if char.isascii() else "".join(f"={byte:02X}" for byte in char.encode(charset))


def _broken_words(people: People, rng: random.Random) -> Iterator[Case]:
    for k, (shape, subject, charset) in enumerate(BROKEN_WORDS):
        name, address = people.person(rng, "isp")
        if shape == "8bit-in-q":
            value: str | bytes = _words_8bit(subject, charset)
        elif shape == "spaces":
            value = f"=?{charset}?Q?{''.join(_escaped(c, charset) for c in subject)}?="
        elif shape == "split-b":
            data = subject.encode(charset)
            inside = [i for i in range(1, len(data)) if data[i] & 0xC0 == 0x80]
            cut = min(inside, key=lambda i: abs(i - len(data) // 2))
            value = mime.b_words_split(subject, charset, cut)
        else:
            data = subject.encode(charset)
            cut = data.index("—".encode()) + 1
            value = mime.q_words_split(subject, charset, cut)
        text = letter("id", _complaint(rng, "id", k)[1], name)
        raw = _plain_mail(
            rng, 440 + k, from_value=f"{name} <{address}>", subject_value=value, body=mime.text_part(text)
        )
        yield _ticket("charset-words", shape, raw, address, subject, cls="garbled")


SUPERSETS = [
    # (shape, declared label, real codec, subject, name, body paragraph)
    (
        "gb2312-gbk",
        "gb2312",
        "gbk",
        "投诉：王喆的报纸一直没有送到",
        "王喆",
        "您好，我是订户王喆，住在镕基路18号。报纸从星期一开始没有送到。",
    ),
    ("gb2312-gbk", "GB2312", "gbk", "镕基路：电子版无法登录", "朱镕", "电子版登录时一直提示错误，账户名堃。"),
    (
        "latin1-cp1252",
        "iso-8859-1",
        "cp1252",
        "“Langganan” dibatalkan – refund € 50 belum diterima",
        "Renée D’Souza",
        "Saya sudah membatalkan langganan “premium” – tetapi refund € 50 belum masuk.",
    ),
    (
        "latin1-cp1252",
        "iso-8859-1",
        "cp1252",
        "Koran tidak datang… lagi",
        "Chloé Wijaya",
        "Koran tidak datang lagi hari ini… sudah ke-3 kalinya.",
    ),
    (
        "big5-hkscs",
        "big5",
        "big5hkscs",
        "投訴：報紙今日冇送到嚟",
        "陳嘅文",
        "你好，報紙今日又冇送到嚟，已經係第三次咗。",
    ),
    ("big5-hkscs", "Big5", "big5hkscs", "電子版登入唔到啲", "黃咗明", "電子版登入唔到，啲文章都睇唔到。"),
    (
        "ksc-cp949",
        "ks_c_5601-1987",
        "cp949",
        "신문 배달 문의 (똠방각하)",
        "김똠",
        "똠방각하 아파트로 배달되는 신문이 오지 않습니다.",
    ),
    (
        "ksc-cp949",
        "ks_c_5601-1987",
        "cp949",
        "전자판 로그인 오류 똠",
        "박똠희",
        "전자판에 로그인할 수 없습니다.",
    ),
    (
        "sjis-cp932",
        "shift_jis",
        "cp932",
        "①配達遅延について（㈱ナカムラ）",
        "中村 一郎",
        "①７月１３日分が届いていません。②請求書も確認してください。㈱ナカムラ",
    ),
    (
        "sjis-cp932",
        "Shift_JIS",
        "cp932",
        "②電子版の不具合",
        "高橋 ①",
        "電子版が開けません。①ログイン②ダウンロード、どちらも失敗します。",
    ),
    ("2022jp-ext", "ISO-2022-JP", "iso2022_jp_ext", "ｼﾝﾌﾞﾝ ｶﾞ ﾄﾄﾞｷﾏｾﾝ", "ﾀﾅｶ ﾀﾛｳ", "ｼﾝﾌﾞﾝ ｶﾞ ｹﾞﾂﾖｳﾋﾞ ｶﾗ ﾄﾄﾞｷﾏｾﾝ。"),
    (
        "2022jp-ext",
        "iso-2022-jp",
        "iso2022_jp_ext",
        "請求書の件（ｾｲｷｭｳ）",
        "鈴木 ｼﾞﾛｳ",
        "請求書が二重です。ｶｸﾆﾝ ｵﾈｶﾞｲｼﾏｽ。",
    ),
]


def _supersets(people: People, rng: random.Random) -> Iterator[Case]:
    """Subject, name and body labelled with a legacy charset but written in the superset mail clients use."""
    for k, (shape, label, codec, subject, name, paragraph) in enumerate(SUPERSETS):
        address = people.address(
            rng, f"pelanggan.{shape.split('-')[0]}", ("hinet-contoh.net", "163.com", "outlook.com")[k % 3]
        )
        words_subject = mime.b_words(subject, codec, label=label)
        words_name = mime.b_words(name, codec, label=label)
        text = (paragraph + "\n") * (12 if shape == "gb2312-gbk" else 1) + f"\n{name}\n"
        body = mime.text_part(text, codec, cte="base64", label=label)
        raw = _plain_mail(
            rng,
            460 + k,
            from_value=f'"{words_name}" <{address}>',
            subject_value=words_subject,
            body=body,
            agent=("X-Mailer", "Microsoft Outlook 16.0"),
            domain="mail.outlook-contoh.com",
        )
        yield _ticket("charset-superset", shape, raw, address, subject, cls="garbled", name=name)


BODY_CASES = [
    # (shape, declared charset or None, real codec, cte, text)
    (
        "iso88591-smart-quotes",
        "iso-8859-1",
        "cp1252",
        "quoted-printable",
        "Loper bilang “sudah diantar” – padahal tidak ada.",
    ),
    (
        "usascii-cp1252",
        "us-ascii",
        "cp1252",
        "8bit",
        "Koran saya tidak datang, loper’s bilang alamat tidak ditemukan…",
    ),
    (
        "utf8-label-cp1252",
        "utf-8",
        "cp1252",
        "8bit",
        "Tagihan “ganda” – mohon dicek, ini sangat merugikan saya…",
    ),
    (
        "utf8-label-latin1",
        "utf-8",
        "cp1252",
        "8bit",
        "Mon journal n’est pas arrivé : problème récurrent à Jakarta, déçu.",
    ),
    ("no-charset-utf8", None, "utf-8", "8bit", "Koran tidak datang — sudah 4 hari. Mohon bantuannya 🙏"),
    (
        "no-charset-latin1",
        None,
        "cp1252",
        "8bit",
        "Zeitung fehlt seit Montag – bitte prüfen, Grüße aus Jakarta.",
    ),
    ("gb2312-long", "gb2312", "gbk", "base64", "您好，我是镕基路的订户王喆。" * 40),
]


def _body_charsets(people: People, rng: random.Random) -> Iterator[Case]:
    """Bodies whose declared charset is wrong or missing: the text must still arrive whole."""
    for k, (shape, declared, codec, cte, text) in enumerate(BODY_CASES):
        name, address = people.person(rng, "isp")
        subject = f"Keluhan pelanggan nomor {7100 + k}"
        body = mime.text_part(text + f"\n\n{name}\n", codec, cte=cte, label=declared or "")
        raw = _plain_mail(
            rng,
            480 + k,
            from_value=f"{name} <{address}>",
            subject_value=subject,
            body=body,
            agent=("X-Mailer", "Microsoft Outlook 14.0"),
        )
        yield _ticket("charset-body", shape, raw, address, subject, cls="garbled")


def _rfc2231(name: str, charset: str = "utf-8", pieces: int = 2) -> str:
    quoted = urllib.parse.quote(name.encode(charset), safe="")
    size = -(-len(quoted) // pieces)
    chunks = []
    position = 0
    while position < len(quoted):
        end = position + size
        while end < len(quoted) and "%" in quoted[end - 2 : end]:
            end += 1  # never cut a %XX escape
        chunks.append(quoted[position:end])
        position = end
    params = [
        f"\n filename*{i}*={charset}''{chunk}" if i == 0 else f"\n filename*{i}*={chunk}"
        for i, chunk in enumerate(chunks)
    ]
    return ";".join(params)


ATTACHMENT_CASES = [
    ("rfc2231-continuation", "Bukti pembayaran langganan — Juli 2026.pdf", "utf-8", "rfc2231"),
    ("rfc2231-continuation", "Foto koran basah di teras rumah (Senin pagi).jpg", "utf-8", "rfc2231"),
    ("rfc2231-continuation", "領収書_７月分_山田花子.pdf", "utf-8", "rfc2231"),
    ("rfc2231-latin1", "Réclamation facture été 2026.pdf", "iso-8859-1", "rfc2231"),
    ("raw8-utf8", "Foto kerusakan — koran sobek.jpg", "utf-8", "raw"),
    ("raw8-utf8", "Tangkapan layar e‑paper “error”.png", "utf-8", "raw"),
    ("raw8-gbk", "报纸照片_王喆.jpg", "gbk", "raw"),
    ("rfc2047-quoted", "Surat keluhan — lampiran.docx", "utf-8", "rfc2047"),
]


def _attachment_names(people: People, rng: random.Random) -> Iterator[Case]:
    for k, (shape, filename, charset, how) in enumerate(ATTACHMENT_CASES):
        name, address = people.person(rng, "gmail" if how != "raw" else "isp")
        if how == "rfc2231":
            disposition: str | bytes = _rfc2231(filename, charset)
            ctype = "application/octet-stream"
        elif how == "raw":
            disposition = b' filename="' + filename.encode(charset) + b'"'
            ctype = "application/octet-stream"
        else:
            words = mime.b_words(filename, "utf-8", label="UTF-8", fold=" ")
            disposition = f' filename="{words}"'
            ctype = f'application/octet-stream; name="{words}"'
        subject = f"Lampiran keluhan {k + 1}: {filename.rsplit('.', 1)[0][:18].strip()}"
        text = letter("id", "Berikut saya lampirkan buktinya.", name)
        # A raw GBK name comes from a client whose text is GB2312 too: the body's charset tells.
        text_part = mime.text_part(text, "gbk", label="gb2312") if charset == "gbk" else mime.text_part(text)
        attachment = mime.attachment(disposition, ctype, mime.fake_pdf(rng, f"lampiran {k}"))
        body = mime.multipart("mixed", "------------" + mime.alnum(rng, 24), [text_part, attachment])
        raw = _plain_mail(
            rng,
            500 + k,
            from_value=f"{name} <{address}>",
            subject_value=mime.b_words(subject) if not subject.isascii() else subject,
            body=body,
        )
        yield _ticket(
            "charset-filename", shape, raw, address, subject, cls="garbled", attachments=(filename,)
        )
