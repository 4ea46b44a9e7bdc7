"""Corpus groups written by machines: auto-replies, list servers, gateways, abuse desks, notices.

`baseline_robots` carries the signals every robot should send (Auto-Submitted,
List-Id, Precedence, a noreply address, Feedback-ID, multipart/report).
`real_return_address` is the issue's class 1: robots with a real return
address and none of those signals, known only by their sender's local part,
their server's own headers (X-Mailman-Version, X-List-Administrivia), their
MIME structure (message/feedback-report inside multipart/mixed) or a
localised auto-reply subject. None of them may ever be answered.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from tests.corpus import mime
from tests.corpus.cases import Case
from tests.corpus.mime import CARE
from tests.corpus.texts import People


def _robot_mail(
    rng: random.Random,
    n: int,
    sender: tuple[str, str],
    subject: str,
    body: mime.Entity,
    extra: list[mime.Header],
) -> bytes:
    name, address = sender
    domain = address.partition("@")[2] or "example.net"
    when = mime.moment(rng, n)
    subject_value = subject if subject.isascii() else mime.b_words(subject)
    headers: list[mime.Header] = [
        ("Return-Path", f"<{address}>"),
        ("Received", mime.received(rng, f"mail.{domain}", mime.doc_ip(rng), when)),
        ("From", mime.mailbox(name, address)),
        ("To", CARE),
        ("Subject", subject_value),
        ("Date", mime.date_header(when)),
        ("Message-ID", f"<{mime.hexid(rng, 24)}.{n}@{domain}>"),
        ("MIME-Version", "1.0"),
        *extra,
    ]
    return mime.message(headers, body)


def _ignore(group: str, shape: str, raw: bytes, address: str, subject: str, cls: str) -> Case:
    return Case(group, shape, raw, "ignore", address, subject, cls=cls)


# --- robots that say what they are -------------------------------------------------

OOO_HEADERS = [
    (
        "id",
        "exchange",
        "Balasan Otomatis: {s}",
        "Saya sedang cuti sampai 20 Juli 2026. Untuk hal mendesak hubungi Rina (rina@{d}).",
    ),
    (
        "en",
        "exchange",
        "Automatic reply: {s}",
        "I am out of the office until 20 July with limited access to email.",
    ),
    ("fr", "exchange", "Réponse automatique : {s}", "Je suis absent du bureau jusqu'au 20 juillet."),
    ("de", "gmail", "Abwesenheitsnotiz: {s}", "Ich bin bis zum 20. Juli nicht im Büro."),
    ("es", "gmail", "Fuera de la oficina", "Estaré fuera de la oficina hasta el 20 de julio."),
    ("ja", "zimbra", "不在通知", "7月20日まで不在にしております。"),
    ("zh", "zimbra", "自动回复：{s}", "我7月20日前休假，期间回复可能延迟。"),
    ("nl", "gmail", "Afwezig", "Ik ben afwezig tot en met 20 juli."),
]
OOO_EXTRA = {
    "exchange": [
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "All"),
        ("X-MS-Exchange-Inbox-Rules-Loop", "{a}"),
    ],
    "gmail": [("Auto-Submitted", "auto-replied"), ("Precedence", "bulk")],
    "zimbra": [("Auto-Submitted", "auto-replied (zimbra; vacation)"), ("Precedence", "bulk")],
}


def baseline_robots(people: People) -> Iterator[Case]:
    rng = random.Random("baseline-robots")
    for k, (language, server, subject, text) in enumerate(OOO_HEADERS):
        name, address = people.person(rng, "corp")
        shown = subject.format(s="[PRE-2026-000412] Keluhan Anda telah kami terima")
        domain = address.partition("@")[2]
        extra = [(h, v.replace("{a}", address)) for h, v in OOO_EXTRA[server]]
        body = mime.text_part(text.replace("{d}", domain) + "\n", cte="8bit")
        raw = _robot_mail(rng, 800 + k, (name, address), shown, body, extra)
        yield _ignore("ooo-header", f"{server}-{language}", raw, address, shown, "baseline")
    yield from _lists(people, rng)
    yield from _noreply(rng)
    yield from _newsletters(rng)
    yield from _arf(rng)


LISTS = [
    (
        "mailman2",
        "pengumuman@lists.asosiasi-contoh.or.id",
        "[Pengumuman] Rapat anggota tahunan 2026",
        [
            ("List-Id", "Pengumuman anggota <pengumuman.lists.asosiasi-contoh.or.id>"),
            ("List-Unsubscribe", "<https://lists.asosiasi-contoh.or.id/mailman/options/pengumuman>"),
            ("List-Post", "<mailto:pengumuman@lists.asosiasi-contoh.or.id>"),
            ("X-Mailman-Version", "2.1.39"),
            ("Precedence", "list"),
            ("Sender", '"Pengumuman" <pengumuman-bounces@lists.asosiasi-contoh.or.id>'),
        ],
    ),
    (
        "mailman3",
        "diskusi@lists.komunitas-contoh.id",
        "[Diskusi] Jadwal kopdar Agustus",
        [
            ("List-Id", "<diskusi.lists.komunitas-contoh.id>"),
            (
                "Archived-At",
                "<https://lists.komunitas-contoh.id/hyperkitty/list/diskusi@lists.komunitas-contoh.id/message/ABC/>",
            ),
            (
                "List-Archive",
                "<https://lists.komunitas-contoh.id/hyperkitty/list/diskusi@lists.komunitas-contoh.id/>",
            ),
            ("List-Help", "<mailto:diskusi-request@lists.komunitas-contoh.id?subject=help>"),
            ("X-Mailman-Version", "3.3.9"),
            ("Message-ID-Hash", "QW3ERTYUIOPASDFGHJKLZXCVBNM12345"),
        ],
    ),
    (
        "googlegroups",
        "alumni-smansa@googlegroups.com",
        "Undangan reuni akbar alumni",
        [
            (
                "Mailing-list",
                "list alumni-smansa@googlegroups.com; contact alumni-smansa+owners@googlegroups.com",
            ),
            ("List-ID", "<alumni-smansa.googlegroups.com>"),
            ("X-Google-Group-Id", "418273645192"),
            (
                "List-Post",
                (
                    "<https://groups.google.com/group/alumni-smansa/post>, "
                    "<mailto:alumni-smansa@googlegroups.com>"
                ),
            ),
            ("Precedence", "list"),
        ],
    ),
    (
        "sympa",
        "forum-dosen@listes.univ-contoh.ac.id",
        "[forum-dosen] Call for papers SNTI 2026",
        [
            ("List-Id", "<forum-dosen.listes.univ-contoh.ac.id>"),
            ("Precedence", "list"),
            ("X-Loop", "forum-dosen@listes.univ-contoh.ac.id"),
            ("X-Sympa-To", "forum-dosen@listes.univ-contoh.ac.id"),
        ],
    ),
    (
        "listserv",
        "JURNALIS-L@LISTSERV.PERS-CONTOH.OR.ID",
        "Pelatihan jurnalisme data",
        [
            ("Sender", "Jurnalis Indonesia <JURNALIS-L@LISTSERV.PERS-CONTOH.OR.ID>"),
            ("List-Help", "<https://listserv.pers-contoh.or.id/cgi-bin/wa?LIST=JURNALIS-L>"),
            ("List-Unsubscribe", "<mailto:JURNALIS-L-signoff-request@LISTSERV.PERS-CONTOH.OR.ID>"),
            ("List-Owner", "<mailto:JURNALIS-L-request@LISTSERV.PERS-CONTOH.OR.ID>"),
        ],
    ),
]


def _lists(people: People, rng: random.Random) -> Iterator[Case]:
    """Posts a member sent to a list the care address is on: list mail, never a complaint."""
    for k, (server, list_address, subject, extra) in enumerate(LISTS * 2):
        name, address = people.person(rng, "gmail")
        body = mime.text_part(f"Rekan-rekan,\n\n{subject}.\n\n{name}\n", cte="8bit")
        raw = _robot_mail(rng, 820 + k, (name, address), subject if k < 5 else f"Re: {subject}", body, extra)
        raw = raw.replace(f"To: {CARE}".encode(), f"To: {list_address}".encode(), 1)
        yield _ignore(
            "list-post", f"{server}-{k}", raw, address, subject if k < 5 else f"Re: {subject}", "baseline"
        )


NOREPLY = [
    ("noreply@bank-contoh.co.id", "Bank Contoh", "Notifikasi transaksi: transfer berhasil"),
    ("no-reply@tokoonline-contoh.co.id", "Toko Online Contoh", "Pesanan INV/20260714/MPL/4471 telah dikirim"),
    ("do-not-reply@apps-contoh.com", "App Store Contoh", "Your receipt from App Store Contoh"),
    ("donotreply@pajak-contoh.go.id", "DJP Online Contoh", "Bukti penerimaan elektronik SPT"),
    ("no_reply@maskapai-contoh.co.id", "Maskapai Contoh", "E-ticket Anda: JKT-DPS 20 Juli"),
    ("noreply@accounts.google.com", "Google", "Security alert"),
    ("no.reply@asuransi-contoh.co.id", "Asuransi Contoh", "Polis Anda akan berakhir"),
    (
        "mailer-daemon@relay.isp-contoh.net.id",
        "Mail Delivery Subsystem",
        "Warning: could not send message for past 4 hours",
    ),
]


def _noreply(rng: random.Random) -> Iterator[Case]:
    for k, (address, name, subject) in enumerate(NOREPLY):
        body = mime.text_part(
            f"{subject}.\n\nEmail ini dikirim secara otomatis. Mohon tidak membalas email ini.\n", cte="8bit"
        )
        raw = _robot_mail(rng, 840 + k, (name, address), subject, body, [])
        yield _ignore(
            "robot-noreply", address.split("@")[0].replace(".", "-"), raw, address, subject, "baseline"
        )


NEWSLETTERS = [
    (
        "news@promo.tokoonline-contoh.co.id",
        "Toko Online Contoh",
        "Flash sale 7.7: diskon sampai 77%",
        "mailchimp",
    ),
    ("info@kabar.maskapai-contoh.co.id", "Maskapai Contoh", "Terbang hemat ke Bali bulan ini", "sendinblue"),
    ("newsletter@majalah-contoh.com", "Majalah Contoh", "Edisi pekan ini: 10 kuliner khas Medan", "sendgrid"),
    ("hello@startup-contoh.io", "Startup Contoh", "What's new in July", "mailchimp"),
    ("berita@portal-contoh.id", "Portal Contoh", "Ringkasan berita pagi 14 Juli", "sendgrid"),
    ("kabar@bank-contoh.co.id", "Bank Contoh", "Promo kartu kredit Juli", "sendinblue"),
]


def _newsletters(rng: random.Random) -> Iterator[Case]:
    for k, (address, name, subject, service) in enumerate(NEWSLETTERS):
        domain = address.partition("@")[2]
        extra: list[mime.Header] = [
            (
                "List-Unsubscribe",
                f"<https://{domain}/unsubscribe?u={mime.hexid(rng, 16)}>, <mailto:unsubscribe@{domain}>",
            ),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Feedback-ID", f"{rng.randrange(10**5, 10**6)}:{service}"),
            ("Precedence", "bulk"),
        ]
        html = (
            f"<html><body><h1>{subject}</h1><p>Klik di sini untuk berhenti berlangganan.</p></body></html>\n"
        )
        body = mime.multipart(
            "alternative",
            f"_----{mime.alnum(rng, 22)}",
            [mime.text_part(subject + "\n"), mime.text_part(html, subtype="html")],
        )
        raw = _robot_mail(rng, 850 + k, (name, address), subject, body, extra)
        yield _ignore("robot-newsletter", service, raw, address, subject, "baseline")


def _feedback_report(rng: random.Random, reporter: str, source_ip: str) -> mime.Entity:
    fields = (
        "Feedback-Type: abuse\nUser-Agent: SomeGenerator/1.0\nVersion: 1\n"
        f"Original-Mail-From: <{CARE}>\nArrival-Date: Tue, 14 Jul 2026 09:00:00 +0700\n"
        f"Reported-Domain: example.co.id\nSource-IP: {source_ip}\nReporting-MTA: dns; {reporter}\n"
    )
    return mime.Entity([b"Content-Type: message/feedback-report"], fields.encode())


def _arf(rng: random.Random) -> Iterator[Case]:
    """RFC 5965 feedback reports as multipart/report: recognised before the issue."""
    for k, reporter in enumerate(("fbl.mail-contoh.com", "feedback.isp-contoh.net.id")):
        address = f"fbl@{reporter}"
        inner = (
            f"From: {CARE}\nTo: pelanggan@{reporter}\n"
            f"Subject: [PRE-2026-000{k + 300}] Keluhan Anda telah kami terima\n"
            f"Message-ID: <x{k}@example.co.id>\n\nTerima kasih.\n"
        ).encode()
        parts = [
            mime.text_part(
                "This is an email abuse report for an email message received from IP 203.0.113.9.\n",
                cte="7bit",
            ),
            _feedback_report(rng, reporter, "203.0.113.9"),
            mime.rfc822(inner, ctype="text/rfc822-headers"),
        ]
        body = mime.multipart(
            "report", f"----=_ARF_{mime.hexid(rng, 16)}", parts, params="; report-type=feedback-report"
        )
        raw = _robot_mail(rng, 860 + k, ("Feedback Loop", address), "Abuse report", body, [])
        yield _ignore("robot-arf", "multipart-report", raw, address, "Abuse report", "baseline")


# --- class 1: robots with a real return address ------------------------------------


def real_return_address(people: People) -> Iterator[Case]:
    rng = random.Random("class-1")
    yield from _list_servers(rng)
    yield from _abuse_desks(rng)
    yield from _gateway_notices(rng)
    yield from _localised_auto_replies(people, rng)
    yield from _robot_local_parts(rng)
    yield from _challenges(people, rng)


def _digest(rng: random.Random, list_name: str, domain: str, volume: int) -> mime.Entity:
    toc = (
        f"Send {list_name} mailing list submissions to\n\t{list_name.lower()}@{domain}\n\n"
        f"Today's Topics:\n\n   1. Rapat anggota (Sekretariat)\n   2. Iuran tahunan (Bendahara)\n"
    )
    inner = [
        mime.rfc822(
            (
                f"From: sekretariat@{domain}\nSubject: Rapat anggota\n"
                "Date: Mon, 13 Jul 2026 09:00:00 +0700\n\nRapat diundur.\n"
            ).encode()
        ),
        mime.rfc822(
            (
                f"From: bendahara@{domain}\nSubject: Iuran tahunan\n"
                "Date: Mon, 13 Jul 2026 10:00:00 +0700\n\nMohon segera dibayar.\n"
            ).encode()
        ),
    ]
    digest = mime.multipart("digest", f"==============={rng.randrange(10**18, 10**19)}==", inner)
    parts = [mime.text_part(toc, "us-ascii", cte="7bit"), digest]
    return mime.multipart("mixed", f"==============={rng.randrange(10**18, 10**19)}==", parts)


LIST_SERVER_NOTICES = [
    ("mailman2-digest", "Pengumuman Digest, Vol 12, Issue 3", "pengumuman-request", "2.1.39", "digest"),
    (
        "mailman2-digest",
        "Forum-Wartawan Digest, Vol 88, Issue 14",
        "forum-wartawan-request",
        "2.1.29",
        "digest",
    ),
    (
        "mailman2-moderation",
        "Your message to Pengumuman awaits moderator approval",
        "pengumuman-owner",
        "2.1.39",
        "text",
    ),
    (
        "mailman2-moderation",
        "Pesan Anda ke Forum-Wartawan menunggu persetujuan moderator",
        "forum-wartawan-owner",
        "2.1.29",
        "text",
    ),
    ("mailman2-welcome", 'Welcome to the "Pengumuman" mailing list', "pengumuman-request", "2.1.39", "text"),
    ("mailman2-admin", "Forum-Wartawan administrative notice", "forum-wartawan-admin", "2.0.13", "text"),
    (
        "mailman2-bounces",
        "Forum-Wartawan subscription disabled (excessive bounces)",
        "forum-wartawan-bounces",
        "2.1.29",
        "text",
    ),
    ("mailman3-owner", "The results of your email commands", "diskusi-owner", "3.3.9", "text"),
    ("listserv-loop", "Loop Alert: message rejected", "LISTSERV", "", "text"),
    ("sympa-loop", "Loop detected for forum-dosen", "sympa", "", "text"),
]


def _list_servers(rng: random.Random) -> Iterator[Case]:
    for k, (shape, subject, local, version, kind) in enumerate(LIST_SERVER_NOTICES):
        domain = "lists.asosiasi-contoh.or.id" if k % 2 == 0 else "lists.pers-contoh.or.id"
        address = f"{local}@{domain}"
        extra: list[mime.Header] = [("X-BeenThere", f"{local.split('-')[0]}@{domain}")]
        if version:
            extra.append(("X-Mailman-Version", version))
        if "moderation" in shape or "admin" in shape or "welcome" in shape:
            extra.append(("X-List-Administrivia", "yes"))
        if kind == "digest":
            body = _digest(rng, local.split("-request")[0].title(), domain, k)
        else:
            body = mime.text_part(
                f"{subject}.\n\nThis message was generated by the list server; replies go to a robot.\n"
                "A copy of the message that caused it is below.\n\n"
                f"> From: anggota@{domain}\n> Subject: Re: {subject}\n",
                "us-ascii",
                cte="7bit",
            )
        raw = _robot_mail(rng, 900 + k, (local, address), subject, body, extra)
        yield _ignore("list-server", shape, raw, address, subject, "automated")


ABUSE = [
    ("jmrp", "staff@hotmail.com", "complaint about message from 203.0.113.9", "mixed-rfc822"),
    (
        "feedback-in-mixed",
        "feedbackloop@fbl.mail-contoh.com",
        "Email Feedback Report for IP 203.0.113.9",
        "mixed-feedback",
    ),
    ("yahoo-plain", "feedback@arf.mail-contoh.com", "Abuse Report: message from example.co.id", "plain"),
    (
        "spamcop",
        "1893124@reports.spamcop-contoh.net",
        (
            "[SpamCop (https://www.spamcop-contoh.net/sc?id=z1893124) id:7341227119]Keluhan "
            "Anda telah kami terima"
        ),
        "plain",
    ),
    (
        "abuse-desk-id",
        "abuse@telkom-contoh.net.id",
        "Laporan Penyalahgunaan (Abuse) Tiket #2026071400173",
        "plain",
    ),
    (
        "abuse-desk-en",
        "abuse-reports@hosting-contoh.com",
        "[Abuse #884213] Spam complaint regarding 203.0.113.9",
        "plain",
    ),
]


def _abuse_desks(rng: random.Random) -> Iterator[Case]:
    original = (
        f"From: {CARE}\nTo: someone@mail-contoh.com\nSubject: [PRE-2026-000512] Keluhan Anda\n"
        "Message-ID: <y1@example.co.id>\n\nTerima kasih.\n"
    ).encode()
    for k, (shape, address, subject, kind) in enumerate(ABUSE):
        intro = (
            "This is an email abuse report for an email message received from IP 203.0.113.9 on "
            "Tue, 14 Jul 2026 02:00:00 +0000.\nPlease take action to stop this mail.\n"
        )
        if shape == "abuse-desk-id":
            intro = (
                "Yth. Pengelola jaringan,\n\nKami menerima laporan spam dari IP 203.0.113.9 milik Anda.\n"
                "Mohon segera ditindaklanjuti dalam 2x24 jam.\n\nTim Abuse\n"
            )
        if kind == "mixed-rfc822":
            body = mime.multipart(
                "mixed",
                f"--{mime.hexid(rng, 24)}",
                [mime.text_part(intro, cte="7bit"), mime.rfc822(original)],
            )
        elif kind == "mixed-feedback":
            parts = [
                mime.text_part(intro, cte="7bit"),
                _feedback_report(rng, "fbl.mail-contoh.com", "203.0.113.9"),
                mime.rfc822(original),
            ]
            body = mime.multipart("mixed", f"--{mime.hexid(rng, 24)}", parts)
        else:
            body = mime.text_part(
                intro + "\n--- original message follows ---\n" + original.decode(), cte="7bit"
            )
        raw = _robot_mail(rng, 920 + k, ("Abuse Desk", address), subject, body, [])
        yield _ignore("abuse-report", shape, raw, address, subject, "automated")


GATEWAY_NOTICES = [
    (
        "proofpoint-digest",
        "quarantine@pps.gateway-contoh.co.id",
        "End User Digest: 3 New Messages",
        [("X-Proofpoint-Virus-Version", "vendor=nai engine=6300 definitions=10500")],
    ),
    (
        "proofpoint-encrypted",
        "secure-mail@pps.gateway-contoh.co.id",
        "You have received a secure message",
        [("X-Proofpoint-Spam-Details", "rule=notspam policy=default score=0")],
    ),
    (
        "mimecast-hold",
        "notifications@mimecast-contoh.com",
        "Message on hold for review: [PRE-2026-000611] Keluhan Anda",
        [("X-MC-Unique", "hold-77")],
    ),
    (
        "mimecast-attachment",
        "notifications@mimecast-contoh.com",
        "Attachment removed: Lampiran.zip",
        [("X-Mimecast-Spam-Score", "2")],
    ),
    (
        "barracuda-summary",
        "quarantine_summary@esg.gateway-contoh.co.id",
        "Barracuda Spam Quarantine Summary - care@example.co.id",
        [("X-Barracuda-Connect", "esg.gateway-contoh.co.id[198.51.100.4]")],
    ),
    ("ironport-summary", "spamquarantine@esa.gateway-contoh.co.id", "Spam Quarantine Notification", []),
    (
        "fortimail-summary",
        "fortimail@gateway-contoh.co.id",
        "Quarantine Summary: [ 3 message(s) quarantined from Jul 13 09:00 to Jul 14 09:00 ]",
        [],
    ),
    (
        "trendmicro-blocked",
        "imsva@gateway-contoh.co.id",
        "Pesan Anda diblokir oleh kebijakan keamanan email",
        [],
    ),
]


def _gateway_notices(rng: random.Random) -> Iterator[Case]:
    for k, (shape, address, subject, extra) in enumerate(GATEWAY_NOTICES):
        text = (
            f"{subject}\n\nThe following messages have been held by the email security gateway:\n\n"
            "  From: promo@spam-contoh.biz  Subject: You won!  Score: 98\n"
            "  From: invoice@phish-contoh.biz  Subject: Invoice overdue  Score: 91\n\n"
            "Release: https://gateway-contoh.co.id/quarantine?id=" + mime.hexid(rng, 16) + "\n"
        )
        html = f"<html><body><table><tr><td>{subject}</td></tr></table></body></html>\n"
        body = mime.multipart(
            "alternative",
            f"----=_NextPart_{mime.hexid(rng, 20)}",
            [mime.text_part(text), mime.text_part(html, subtype="html")],
        )
        raw = _robot_mail(rng, 940 + k, ("Email Security", address), subject, body, extra)
        yield _ignore("gateway-notice", shape, raw, address, subject, "automated")


LOCALISED_AUTO_REPLIES = [
    (
        "fr",
        "Absent du bureau : {s}",
        "Je suis absente jusqu'au 20 juillet. Votre message ne sera pas transféré.",
    ),
    (
        "fr",
        "Message non remis : {s}",
        "Ce message est une réponse automatique : je ne consulte plus cette adresse.",
    ),
    (
        "de",
        "Automatische Antwort: {s}",
        "Vielen Dank für Ihre Nachricht. Ich bin bis 20. Juli nicht erreichbar.",
    ),
    ("de", "Abwesenheit: {s}", "Ich bin im Urlaub und ab dem 21. Juli wieder im Büro."),
    ("es", "Respuesta automática: {s}", "Gracias por su mensaje. Estoy de vacaciones hasta el 20 de julio."),
    ("es", "Fuera de la oficina: {s}", "No estoy en la oficina. Responderé a mi regreso."),
    ("it", "Risposta automatica: {s}", "Sono fuori sede fino al 20 luglio."),
    ("it", "Fuori ufficio: {s}", "Risponderò al mio rientro."),
    ("nl", "Automatisch antwoord: {s}", "Ik ben met vakantie tot 20 juli."),
    ("nl", "Afwezigheidsbericht: {s}", "Ik ben afwezig en lees mijn mail na terugkomst."),
    ("pt", "Resposta automática: {s}", "Estou de férias até 20 de julho."),
    ("pt", "Ausência temporária: {s}", "Responderei assim que retornar."),
    ("id", "Sedang Cuti: {s}", "Terima kasih atas email Anda. Saya sedang cuti hingga 20 Juli 2026."),
    ("id", "Pesan Otomatis: {s}", "Ini adalah pesan otomatis. Saya sedang dinas luar kota."),
    ("id", "[Auto Reply] Di luar kantor", "Saya sedang di luar kantor sampai hari Senin."),
    ("ms", "Balasan Automatik: {s}", "Saya bercuti sehingga 20 Julai."),
    ("ms", "Di luar pejabat: {s}", "Saya berada di luar pejabat dan akan membalas kemudian."),
    ("ja", "自動返信: {s}", "7月20日まで休暇をいただいております。"),
    ("zh", "自动回复: {s}", "您好，我正在休假，7月20日返回。"),
    ("zh", "自動回覆：{s}", "您好，本人休假中，7月20日後回覆。"),
]


def _localised_auto_replies(people: People, rng: random.Random) -> Iterator[Case]:
    """Auto-replies a colleague's own mailbox sends from their own address, with nothing but the subject."""
    for k, (language, subject, text) in enumerate(LOCALISED_AUTO_REPLIES):
        name, address = people.person(rng, "corp")
        shown = subject.format(s="[PRE-2026-000412] Keluhan Anda telah kami terima")
        body = mime.text_part(text + f"\n\n{name}\n", cte="8bit")
        raw = _robot_mail(
            rng, 960 + k, (name, address), shown, body, [("In-Reply-To", "<ack.412@example.co.id>")]
        )
        yield _ignore("auto-reply-subject", f"{language}-{k}", raw, address, shown, "automated")


ROBOT_LOCAL_PARTS = [
    ("noreply1@notifikasi.bank-contoh.co.id", "Bank Contoh", "Mutasi rekening Anda"),
    ("noreply-notifications@tiket-contoh.com", "Tiket Contoh", "Pembayaran Anda telah kami terima"),
    ("no-reply+tx8812@dompet-contoh.id", "Dompet Contoh", "Isi ulang saldo berhasil"),
    ("jangan-dibalas@layanan-contoh.go.id", "Layanan Publik Contoh", "Nomor antrean Anda: A-117"),
    ("nepasrepondre@banque-contoh.fr", "Banque Contoh", "Votre relevé est disponible"),
    ("nicht-antworten@versand-contoh.de", "Versand Contoh", "Ihre Sendung ist unterwegs"),
    ("no-responder@tienda-contoh.es", "Tienda Contoh", "Su pedido ha sido enviado"),
    ("non-rispondere@poste-contoh.it", "Poste Contoh", "La tua spedizione è in consegna"),
    ("niet-antwoorden@bezorg-contoh.nl", "Bezorg Contoh", "Je pakket komt vandaag"),
    ("nao-responda@loja-contoh.com.br", "Loja Contoh", "Seu pedido foi enviado"),
    (
        "bounce-mc.us21_1234.567-care=example.co.id@mail.promo-contoh.com",
        "Promo Contoh",
        "Konfirmasi langganan newsletter",
    ),
    ("ndr@mailgw.kantor-contoh.co.id", "Mail Gateway", "Notifikasi: kotak surat hampir penuh"),
]


def _robot_local_parts(rng: random.Random) -> Iterator[Case]:
    for k, (address, name, subject) in enumerate(ROBOT_LOCAL_PARTS):
        body = mime.text_part(f"{subject}.\n\nRincian dapat dilihat di aplikasi.\n", cte="8bit")
        raw = _robot_mail(rng, 990 + k, (name, address), subject, body, [])
        yield _ignore(
            "robot-sender",
            address.split("@")[0].split("+")[0].split(".")[0],
            raw,
            address,
            subject,
            "automated",
        )


CHALLENGES = [
    (
        "en",
        "Please confirm you are human: your message to {who} is on hold",
        (
            "I protect my inbox with a challenge-response system. To deliver your message, "
            "click the link below and type the characters you see. You only need to do this "
            "once."
        ),
    ),
    (
        "id",
        "Verifikasi pengirim: mohon konfirmasi bahwa Anda manusia",
        (
            "Kotak surat ini dilindungi sistem anti-spam. Pesan Anda ditahan sampai Anda "
            "menekan tautan verifikasi di bawah ini."
        ),
    ),
    (
        "en",
        "Re: [PRE-2026-000419] Keluhan Anda telah kami terima [Verification Required]",
        (
            "Your email is awaiting verification. Please reply to this message or visit the "
            "link to be added to my approved senders list."
        ),
    ),
]


def _challenges(people: People, rng: random.Random) -> Iterator[Case]:
    """Challenge-response robots write from the protected person's own address."""
    for k, (language, subject, text) in enumerate(CHALLENGES):
        name, address = people.person(rng, "isp")
        shown = subject.replace("{who}", address)
        body = mime.text_part(
            f"{text}\n\nhttps://verify.challenge-contoh.com/c/{mime.hexid(rng, 20)}\n", cte="8bit"
        )
        raw = _robot_mail(rng, 1010 + k, (name, address), shown, body, [])
        yield _ignore("challenge-response", f"{language}-{k}", raw, address, shown, "automated")
