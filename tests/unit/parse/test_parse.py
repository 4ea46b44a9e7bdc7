"""The parse stage: raw bytes from the mailbox -> InboundMail, on real-shaped mail."""

from __future__ import annotations

import base64
import gc
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import mailparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.parse import limits, prescan
from daemon.parse.attachments import display_filename
from daemon.parse.htmltext import html_to_text
from daemon.parse.identifiers import normalise_message_id
from daemon.parse.message import InboundMail
from daemon.parse.parser import ParseError, parse

DATA = Path(__file__).resolve().parents[2] / "data"
OWN = ("cs@example.co.id",)


def _raw(name: str) -> bytes:
    return (DATA / f"{name}.eml").read_bytes()


def _parse(name: str) -> InboundMail:
    return parse(_raw(name), own_addresses=OWN)


def _nested_multipart(depth: int) -> bytes:
    lines = ["From: deep@example.net", "To: cs@example.co.id", "Subject: deep", "MIME-Version: 1.0"]
    for level in range(depth):
        lines += [f'Content-Type: multipart/mixed; boundary="b{level}"', "", f"--b{level}"]
    lines += ["Content-Type: text/plain", "", "Isi keluhan paling dalam.", ""]
    lines += [f"--b{level}--" for level in reversed(range(depth))]
    return "\r\n".join(lines).encode()


# --- a plain complaint --------------------------------------------------------------


def test_indonesian_plain_complaint_fills_every_field() -> None:
    mail = _parse("complaint_id_plain")

    assert mail.parser == "mail-parser"
    assert mail.message_id == "<8f3e2a10-5c1d-4b7e-9a61-2d2c0f6e7b11@majujaya.co.id>"
    assert not mail.message_id_synthetic
    assert mail.from_address == "budi.santoso@majujaya.co.id"
    assert mail.from_name == "Budi Santoso"
    assert mail.to == ("cs@example.co.id",)
    assert mail.cc == ("siti.rahma@majujaya.co.id",)
    assert mail.reply_to == ()
    assert mail.return_path == "budi.santoso@majujaya.co.id"
    assert mail.subject == "Keluhan: koran langganan tidak diantar sejak Senin"
    assert mail.date == datetime(2026, 11, 2, 2, 14, 5, tzinfo=UTC)
    assert mail.content_type == "text/plain"
    assert mail.text.startswith("Dengan hormat,\n\nKami ingin menyampaikan keluhan")
    assert "Manajer Umum – PT Maju Jaya" in mail.text
    assert mail.new_text == mail.text
    assert mail.language == "id"
    assert mail.attachments == ()
    assert mail.in_reply_to == () and mail.references == ()
    assert mail.defects == ()
    assert len(mail.body_sha256) == 64


def test_phone_and_email_in_signature_are_the_pic_contact() -> None:
    mail = _parse("complaint_id_plain")

    # The customer number 0012345678, the amount and the date are not phones.
    assert mail.contact.phones == ("+6281234567890", "+62213456789")
    assert mail.contact.emails == ("budi.santoso@majujaya.co.id",)


def test_headers_are_kept_in_order_decoded_and_unfolded() -> None:
    mail = _parse("complaint_id_plain")

    names = [name for name, _ in mail.headers]
    assert names[:4] == ["return-path", "delivered-to", "received", "received"]
    assert names.count("received") == 2
    assert all(name == name.lower() for name in names)
    assert all("\r" not in value and "\n" not in value for _, value in mail.headers)
    assert mail.header("Subject") == "Keluhan: koran langganan tidak diantar sejak Senin"
    assert (mail.header("DKIM-Signature") or "").startswith("v=1; a=rsa-sha256;")
    assert len(mail.header_all("received")) == 2


# --- HTML and attachments ------------------------------------------------------------


def test_html_only_complaint_becomes_readable_text() -> None:
    mail = _parse("complaint_en_html_only")

    assert mail.text.splitlines()[0] == "Dear Customer Care team,"
    assert "alert" not in mail.text and "font-family" not in mail.text
    assert "Invoice issue" not in mail.text  # the <title> is not content
    assert "(invoice INV-2026-10-0042 & INV-2026-10-0043)" in mail.text
    assert "INV-2026-10-0042 Rp 2.750.000\nINV-2026-10-0043 Rp 2.750.000" in mail.text
    assert "Finance – Harbour Logistics\nMobile: +62 812 9876 5432" in mail.text
    assert mail.language == "en"
    assert mail.from_name == "Tan, Jason"
    assert mail.contact.phones == ("+6281298765432",)


def test_html_converter_drops_scripts_and_keeps_blocks_apart() -> None:
    html = (
        "<html><head><title>t</title><style>p{}</style></head><body>"
        "<script>var x = 1;</script><div><p>Halo&nbsp;tim,</p></div>"
        "<ul><li>satu</li><li>dua</li></ul>baris<br>baru &lt;ok&gt; &#8211; &amp;</body></html>"
    )

    assert html_to_text(html) == "Halo tim,\n\n- satu\n- dua\n\nbaris\nbaru <ok> – &"


def test_unclosed_head_does_not_hide_the_body() -> None:
    assert html_to_text("<head><title>Judul<body><p>Isi keluhan</p>") == "Isi keluhan"


def test_attachments_are_decoded_with_size_and_hash() -> None:
    mail = _parse("complaint_with_attachment")

    photo, letter = mail.attachments
    assert photo.filename == "foto kerusakan – 1.jpg"
    assert photo.content_type == "image/jpeg"
    assert photo.payload.startswith(b"\xff\xd8\xff\xe0") and photo.payload.endswith(b"\xff\xd9")
    assert photo.size == len(photo.payload) == 283
    assert letter.filename == "surat jalan № 12.pdf"
    assert letter.payload.startswith(b"%PDF-1.4")
    assert len({photo.sha256, letter.sha256}) == 2
    assert "Foto kerusakan dan surat jalan terlampir." in mail.text
    assert mail.contact.phones == ("+6281311223344",)


def test_attachment_names_are_display_names_never_paths() -> None:
    names = [attachment.filename for attachment in _parse("attachment_hostile_filenames").attachments]

    assert names[:4] == ["passwd", "evil.dll", "invoicefdp.exe", "nulbyte name.txt"]
    assert len(names[4]) == 255 and names[4].endswith("a.pdf")
    assert names[5] == "attachment"
    for name in names:
        assert "/" not in name and "\\" not in name and "\x00" not in name


@pytest.mark.parametrize(
    ("supplied", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\x.exe", "x.exe"),
        ("/abs/path/report.xlsx", "report.xlsx"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("", "attachment"),
        ("..", "attachment"),
        (".hidden", "hidden"),
        ("x" * 300, "x" * 255),
    ],
)
def test_display_filename_strips_paths_and_invisible_characters(supplied: str, shown: str) -> None:
    assert display_filename(supplied) == shown


# --- replies --------------------------------------------------------------------------


def test_outlook_reply_without_in_reply_to_keeps_only_the_new_text() -> None:
    mail = _parse("reply_outlook_no_in_reply_to")

    assert mail.in_reply_to == () and mail.references == ()
    assert mail.subject == "RE: [CC-2026-000123] Keluhan tagihan ganda"
    assert mail.content_type == "multipart/alternative"
    assert "Keluhan Anda telah kami terima" in mail.text
    assert "Keluhan Anda telah kami terima" not in mail.new_text
    assert "Dikirim:" not in mail.new_text and "____" not in mail.new_text
    assert mail.new_text.endswith("Telp: 021-5551234 / 0857 1234 5678")
    assert mail.contact.phones == ("+62215551234", "+6285712345678")
    assert mail.contact.emails == ()  # our own address in the quoted ack is not the PIC
    assert mail.date == datetime(2026, 11, 6, 9, 45, 10, tzinfo=UTC)


def test_gmail_indonesian_reply_threads_to_our_ack_and_drops_the_quote() -> None:
    mail = _parse("reply_gmail_id")

    assert mail.in_reply_to == ("<ack.123.456.f00d@example.co.id>",)
    assert mail.references == ("<ack.123.456.f00d@example.co.id>",)
    assert mail.new_text == (
        "Terima kasih atas tanggapannya. Koran hari ini juga belum datang, mohon\n"
        "dicek kembali ke agen pengantar di wilayah kami.\n\nAgus\n0813-9988-7766"
    )
    assert mail.contact.phones == ("+6281399887766",)
    assert mail.language == "id"


def test_forwarded_mail_keeps_the_forwarded_content_as_new_text() -> None:
    message = EmailMessage()
    message["From"] = "Sari <sari@pelanggan.id>"
    message["To"] = "cs@example.co.id"
    message["Subject"] = "Fwd: Koran tidak datang"
    message.set_content(
        "Mohon ditindaklanjuti.\n\n"
        "________________________________\n"
        "From: Pak RT <rt05@warga.id>\n"
        "Sent: Monday, 2 November 2026 08:00\n"
        "Subject: Koran tidak datang\n\n"
        "Koran warga RT 05 tidak datang tiga hari. Hubungi 0812-7777-8888.\n"
    )

    mail = parse(message.as_bytes())

    assert "Koran warga RT 05 tidak datang" in mail.new_text
    assert mail.contact.phones == ("+6281277778888",)


# --- identifiers -------------------------------------------------------------------------


def test_missing_message_id_gets_a_deterministic_synthetic_id() -> None:
    raw = _raw("no_message_id")
    redelivered = b"Received: from relay2.example.co.id by mx.example.co.id; Fri, 6 Nov 2026\r\n" + raw

    first, second = parse(raw), parse(redelivered)

    assert first.message_id_synthetic and second.message_id_synthetic
    assert first.message_id == second.message_id
    assert first.message_id.endswith("@synthetic.invalid>") and len(first.message_id) == 52
    assert first.contact.phones == ("+62274123456",)


def test_different_mails_without_message_id_get_different_synthetic_ids() -> None:
    raw = _raw("no_message_id")
    other = raw.replace(b"belum sampai.", b"sudah sampai tetapi rusak.")

    assert parse(raw).message_id != parse(other).message_id


def test_a_forged_synthetic_looking_message_id_is_not_flagged_synthetic() -> None:
    raw = _raw("rfc2047_crlf_subject").replace(b"<crlf-subject-1@evil.example>", b"<abc@synthetic.invalid>")

    mail = parse(raw)

    assert mail.message_id == "<abc@synthetic.invalid>" and not mail.message_id_synthetic


@pytest.mark.parametrize(
    ("header", "normalised"),
    [
        ("<abc@example.co.id>", "<abc@example.co.id>"),
        ("  < abc@example.co.id >  <second@x>", "<abc@example.co.id>"),
        ("(comment) <abc@host>", "<abc@host>"),
        ("bare-id@host.example", "<bare-id@host.example>"),
        ("", None),
        ("<>", None),
        ("not an id", None),
    ],
)
def test_message_ids_are_normalised(header: str, normalised: str | None) -> None:
    assert normalise_message_id(header) == normalised


def test_overlong_message_id_is_capped_at_998_characters() -> None:
    normalised = normalise_message_id("<" + "a" * 10_000 + "@x>")

    assert normalised is not None and len(normalised) == 998
    assert normalised.startswith("<aaa") and normalised.endswith(">")


def test_references_are_capped_to_the_root_and_nearest_ancestors() -> None:
    ids = " ".join(f"<id{n}@example.net>" for n in range(1000))
    message = EmailMessage()
    message["From"] = "a@example.net"
    message["References"] = ids
    message["In-Reply-To"] = ids
    message.set_content("x")

    mail = parse(message.as_bytes())

    assert len(mail.references) == 20
    assert mail.references[0] == "<id0@example.net>"
    assert mail.references[-1] == "<id999@example.net>"
    assert mail.in_reply_to[:2] == ("<id0@example.net>", "<id1@example.net>")
    assert len(mail.in_reply_to) == 20


def test_in_reply_to_folded_into_encoded_words_still_threads() -> None:
    # Python's email package folds long In-Reply-To values into RFC 2047
    # encoded-words; the IDs inside must still be found.
    raw = (
        b"From: a@example.net\r\nSubject: Re: x\r\n"
        b"In-Reply-To: =?utf-8?q?=3Cack=2E1=2E2=2Eabcd=40example=2Eco=2Eid=3E?=\r\n\r\nx\r\n"
    )

    assert parse(raw).in_reply_to == ("<ack.1.2.abcd@example.co.id>",)


# --- hostile and broken input ---------------------------------------------------------


def test_encoded_subject_cannot_smuggle_a_bcc_line() -> None:
    mail = _parse("rfc2047_crlf_subject")

    assert mail.subject == "hello Bcc: victim@x"
    assert mail.header("subject") == "hello Bcc: victim@x"


def test_subject_loses_bidi_overrides_and_zero_width_characters() -> None:
    hostile = "Tagihan\u202e fdp.exe\u200b \u2066x\u2069\u2028baris\x07\t  dua"
    encoded = base64.b64encode(hostile.encode()).decode()
    raw = f"From: a@example.net\r\nSubject: =?utf-8?b?{encoded}?=\r\n\r\nx\r\n".encode()

    assert parse(raw).subject == "Tagihan fdp.exe x baris dua"


def test_subject_is_capped_at_998_characters() -> None:
    message = EmailMessage()
    message["From"] = "a@example.net"
    message["Subject"] = "panjang " * 20_000
    message.set_content("x")

    assert len(parse(message.as_bytes()).subject) == 998


def test_huge_encoded_subject_is_cut_before_parsing_so_it_stays_fast() -> None:
    raw = ("From: a@example.net\r\nSubject: " + "=?utf-8?q?a?= " * 50_000 + "\r\n\r\nisi\r\n").encode()
    started = time.thread_time()

    mail = parse(raw)

    assert time.thread_time() - started < 2
    assert "header field truncated" in mail.defects
    assert mail.subject == "a" * 998
    assert mail.text == "isi"


def test_header_block_is_cut_at_256_kilobytes() -> None:
    filler = "".join(f"X-Filler-{n}: {'x' * 1000}\r\n" for n in range(300))
    raw = f"From: a@example.net\r\n{filler}Subject: hilang\r\n\r\nisi\r\n".encode()

    mail = parse(raw)

    assert "header block truncated" in mail.defects
    assert mail.from_address == "a@example.net"
    assert mail.subject == ""
    assert len(mail.headers) < 300
    assert mail.text == "isi"


@pytest.mark.parametrize(
    "field",
    [b"X-Blank: " + b" " * 40_000, b" " * 40_000, b"X-One-Word: " + b"y" * 40_000],
    ids=["blank value", "leading continuation", "one long word"],
)
def test_overlong_header_fields_of_any_shape_are_cut(field: bytes) -> None:
    mail = parse(b"From: a@example.net\r\n" + field + b"\r\nSubject: ok\r\n\r\nisi\r\n")

    assert "header field truncated" in mail.defects
    assert mail.text == "isi"


def test_large_but_legitimate_headers_are_untouched() -> None:
    # 100 Received hops and 300 fields in all: over 16 KB, under every limit.
    received = "".join(
        f"Received: from relay{n}.example.net by mx.example.co.id;\r\n Mon, 2 Nov 2026 10:00:00 +0700\r\n"
        for n in range(99)
    )
    trace = "".join(f"X-Trace-{n}: scanned by filter {n} at mx.example.co.id\r\n" for n in range(200))
    raw = _raw("no_message_id").replace(b"From: ", (received + trace).encode() + b"From: ", 1)

    mail = parse(raw)

    assert len(raw.split(b"\n\n")[0]) > 16 * 1024
    assert mail.defects == ()
    assert len(mail.header_all("received")) == 100
    assert len(mail.headers) > 300
    assert mail.text == parse(_raw("no_message_id")).text


def test_display_name_spoof_keeps_the_real_address() -> None:
    raw = _raw("rfc2047_crlf_subject").replace(
        b"From: Penyerang <attacker@evil.example>",
        b'From: "support@bank.example" <Evil@X.Example>',
    )

    mail = parse(raw)

    assert mail.from_address == "evil@x.example"
    assert mail.from_name == "support@bank.example"


def test_recipients_are_lower_case_and_deduplicated_in_order() -> None:
    message = EmailMessage()
    message["From"] = "a@example.net"
    message["To"] = "CS@Example.co.id, b@example.net, cs@example.co.id"
    message["Cc"] = '"Doe, Jane" <Jane@Example.net>, undisclosed-recipients:;'
    message["Reply-To"] = "Balas <balas@example.net>"
    message.set_content("x")

    mail = parse(message.as_bytes())

    assert mail.to == ("cs@example.co.id", "b@example.net")
    assert mail.cc == ("jane@example.net",)
    assert mail.reply_to == ("balas@example.net",)
    assert mail.recipients == ("cs@example.co.id", "b@example.net", "jane@example.net")


def test_unknown_charset_is_read_with_the_legacy_fallback_not_replaced() -> None:
    # Issue 14: no U+FFFD where a reasonable decoding exists; windows-1252 reads any byte.
    mail = _parse("unknown_charset")

    assert mail.parser == "mail-parser"
    assert mail.text.startswith("Tagihan kami ganda éèÿ untuk bulan Oktober.")
    assert mail.subject == "Keluhan é tagihan éè ganda"
    assert mail.from_name == "Pelanggan éñ"
    assert "CharsetDecodeDefect" in mail.defects
    assert "charset 'x-unknown-bogus' unknown: read as cp1252" in mail.defects
    assert mail.contact.phones == ("+6281211112222",)


def test_charset_names_with_a_nul_byte_fall_back_to_utf8() -> None:
    # codecs.lookup raises ValueError, not LookupError, on such a name.
    raw = (
        b"From: a@example.net\r\nSubject: =?utf\x008?q?Keluhan_=C3=A9?=\r\n"
        b'Content-Type: text/plain; charset="utf\x008"\r\n\r\nIsi \xc3\xa9\r\n'
    )

    mail = parse(raw)

    assert mail.subject == "Keluhan é"
    assert mail.text == "Isi é"


@pytest.mark.parametrize(
    ("date_header", "expected"),
    [
        ("Mon, 2 Nov 2026 10:00:00 +0700", datetime(2026, 11, 2, 3, 0, tzinfo=UTC)),
        ("Mon, 2 Nov 2026 10:00:00", datetime(2026, 11, 2, 10, 0, tzinfo=UTC)),
        ("kemarin sore", None),
        (None, None),
    ],
)
def test_date_is_aware_utc_or_none(date_header: str | None, expected: datetime | None) -> None:
    head = "From: a@example.net\r\nSubject: x\r\n"
    if date_header is not None:
        head += f"Date: {date_header}\r\n"

    mail = parse((head + "\r\nisi\r\n").encode())

    assert mail.date == expected
    assert mail.date is None or mail.date.tzinfo is not None


def test_return_path_is_none_when_absent_and_empty_for_the_null_path() -> None:
    assert _parse("reply_gmail_id").return_path is None
    assert _parse("bounce_dsn_postfix").return_path == ""
    assert _parse("list_mail").return_path == (
        "pengumuman-bounces+cs=example.co.id@lists.asosiasipenerbit.or.id"
    )


def test_empty_message_parses_to_empty_values() -> None:
    mail = parse(b"")

    assert mail.from_address == "" and mail.subject == "" and mail.text == ""
    assert mail.message_id_synthetic
    assert mail.headers == ()


def test_body_text_is_capped_at_one_megabyte() -> None:
    message = EmailMessage()
    message["From"] = "a@example.net"
    message.set_content(("baris keluhan yang sangat panjang\n" * 70_000), cte="8bit")

    mail = parse(message.as_bytes())

    assert len(mail.text) <= 1_000_000
    assert mail.text.startswith("baris keluhan")
    assert mail.text.endswith("more characters in the original mail]")
    assert "[… teks dipotong / text truncated: 1,380,200 more characters" in mail.text
    assert "text truncated" in mail.defects


def test_body_text_under_the_limit_has_no_notice() -> None:
    message = EmailMessage()
    message["From"] = "a@example.net"
    message.set_content(("baris keluhan\n" * 10_000), cte="8bit")

    mail = parse(message.as_bytes())

    assert "text truncated" not in mail.text and mail.defects == ()


def test_line_endings_do_not_change_the_body_hash() -> None:
    lf = _raw("no_message_id")
    crlf = lf.replace(b"\n", b"\r\n")

    assert parse(lf).body_sha256 == parse(crlf).body_sha256
    assert parse(lf).message_id == parse(crlf).message_id


def test_multipart_nested_twenty_deep_still_finds_the_text() -> None:
    assert parse(_nested_multipart(20)).text == "Isi keluhan paling dalam."


@pytest.mark.parametrize("depth", [21, 5000])
def test_multipart_nested_deeper_than_twenty_is_a_quick_parse_error(depth: int) -> None:
    nested = _nested_multipart(depth)
    parse(_nested_multipart(2))  # anything the first parse of a worker loads, loaded before
    # The collector stays out of the measured time: a full collection walks every object the
    # worker's earlier tests left (0.76 s of CPU once in CI), which is not the parser's work.
    gc.collect()
    gc.disable()
    try:
        started = time.thread_time()
        with pytest.raises(ParseError, match="limit exceeded: MIME parts nested deeper than 20 levels"):
            parse(nested)
        spent = time.thread_time() - started
    finally:
        gc.enable()

    assert spent < 0.5


# --- input limits -------------------------------------------------------------------------


def _with_attachments(count: int, size: int = 10, body: str = "Lihat lampiran.") -> bytes:
    message = EmailMessage()
    message["From"] = "pelanggan@example.net"
    message["To"] = "cs@example.co.id"
    message["Subject"] = "Lampiran"
    message.set_content(body)
    for number in range(count):
        payload = bytes([number % 256]) * size
        message.add_attachment(payload, maintype="application", subtype="pdf", filename=f"f{number}.pdf")
    return message.as_bytes()


def _headers(count: int, name: str = "X-Trace") -> bytes:
    # From and Subject are two of the fields.
    extra = "".join(f"{name}: hop {n}\r\n" for n in range(count - 2))
    return f"From: a@example.net\r\nSubject: x\r\n{extra}\r\nisi\r\n".encode()


def test_a_thousand_header_fields_are_accepted() -> None:
    assert parse(_headers(1000)).text == "isi"


def test_more_than_a_thousand_header_fields_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="limit exceeded: more than 1,000 header fields"):
        parse(_headers(1001))


def test_more_than_a_hundred_received_headers_is_a_looping_mail() -> None:
    assert len(parse(_headers(102, "Received")).header_all("received")) == 100
    with pytest.raises(ParseError, match="more than 100 Received headers: the mail is looping"):
        parse(_headers(103, "Received"))


def test_a_part_bomb_never_reaches_mail_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(raw: bytes) -> object:
        raise AssertionError("mail-parser was given a part bomb")

    monkeypatch.setattr(mailparser, "parse_from_bytes", must_not_run)
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {n}\r\n" for n in range(20_000))
    raw = f"From: a@example.net\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n{parts}--b--\r\n"
    started = time.thread_time()

    with pytest.raises(ParseError, match="limit exceeded: more than 200 MIME parts"):
        parse(raw.encode())

    # Refused from a count, not a parse: 0.02 s idle; parsing the 20,000 parts with
    # the standard library alone takes 3.3 s (CPU time of this thread only).
    assert time.thread_time() - started < 1.5


def test_two_hundred_mime_parts_are_the_limit() -> None:
    # The message, its body text and 198 attachments are 200 entities.
    mail = parse(_with_attachments(198))

    assert len(mail.attachments) == 50
    assert [a.filename for a in mail.attachments[:2]] == ["f0.pdf", "f1.pdf"]
    assert mail.attachments[-1].filename == "f49.pdf"
    assert "attachments truncated: kept 50 of 198" in mail.defects
    assert mail.text == "Lihat lampiran."
    with pytest.raises(ParseError, match="more than 200 MIME parts"):
        parse(_with_attachments(199))


def test_fifty_attachments_are_all_kept() -> None:
    mail = parse(_with_attachments(50))

    assert len(mail.attachments) == 50
    assert mail.defects == ()


def test_forwarded_messages_count_towards_the_depth() -> None:
    inner = b"From: x@example.net\r\nSubject: asli\r\n\r\nIsi asli.\r\n"
    for level in range(21):
        inner = (
            f"From: f{level}@example.net\r\nSubject: Fwd\r\nContent-Type: message/rfc822\r\n\r\n".encode()
            + inner
        )

    with pytest.raises(ParseError, match="nested deeper than 20 levels"):
        parse(inner)


def test_bare_cr_line_endings_do_not_hide_a_bomb() -> None:
    with pytest.raises(ParseError, match="nested deeper than 20 levels"):
        parse(_nested_multipart(50).replace(b"\r\n", b"\r"))


def test_a_part_bomb_inside_a_delivery_status_block_is_counted() -> None:
    # The feedparser parses every block of a delivery-status part as a message,
    # and a block may be a multipart whose parts need no blank lines.
    parts = "".join(f"--x\r\nX-N: {n}\r\n" for n in range(300))
    raw = (
        "From: postmaster@example.net\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n"
        "--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Content-Type: multipart/mixed; boundary=x\r\n{parts}--x--\r\n--r--\r\n"
    )

    with pytest.raises(ParseError, match="more than 200 MIME parts"):
        parse(raw.encode())


def test_a_part_bomb_in_the_epilogue_of_a_damaged_mail_is_counted() -> None:
    # mail-parser re-parses text between boundaries in the epilogue of a mail
    # whose start boundary went missing somewhere inside.
    hidden = "".join(f"--e\r\nContent-Type: text/plain\r\n\r\nx{n}\r\n" for n in range(300))
    raw = (
        "From: a@example.net\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\nno start boundary\r\n--b--\r\n"
        f"--b\r\nContent-Type: multipart/mixed; boundary=e\r\n\r\n{hidden}--e--\r\n--b--\r\n"
    )

    with pytest.raises(ParseError, match="more than 200 MIME parts"):
        parse(raw.encode())


def test_the_prescan_measures_what_the_parser_builds() -> None:
    shape = prescan.check_structure(_raw("bounce_exchange"))

    # The report, its alternative of two texts, the delivery status with its two
    # blocks, the returned message in its part: nine for the parser, and one more
    # here for the blank line that ends the status, which could start a block.
    assert (shape.parts, shape.depth) == (10, 2)


def test_invalid_base64_in_an_attachment_is_decoded_as_far_as_it_goes() -> None:
    raw = (
        b"From: a@example.net\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nFoto terlampir.\r\n"
        b"--b\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=foto.jpg\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ!!!\r\n====\r\nSkZJRg\r\n--b--\r\n"
    )

    mail = parse(raw)

    [photo] = mail.attachments
    assert photo.payload == b"\xff\xd8\xff\xe0\x00\x10JFI"
    assert "attachment damaged: foto.jpg has invalid base64" in mail.defects
    assert mail.text == "Foto terlampir."


def test_an_outsized_parameter_field_in_a_part_is_a_parse_error() -> None:
    # Splitting parameters takes the parsers superlinear time: 100,000 took 20 s.
    field = "Content-Type: application/pdf; name=x" + "; a=b" * 2000
    raw = (
        "From: a@example.net\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        f"--b\r\nContent-Type: text/plain\r\n\r\nisi\r\n--b\r\n{field}\r\n\r\nx\r\n--b--\r\n"
    )
    started = time.thread_time()

    with pytest.raises(ParseError, match="a MIME part's Content-Type field is over 8,192 bytes"):
        parse(raw.encode())

    assert time.thread_time() - started < 0.5


def test_the_message_own_outsized_content_type_is_cut_not_refused() -> None:
    raw = (
        "From: a@example.net\r\nContent-Type: text/plain; charset=utf-8"
        + "; a=b" * 100_000
        + "\r\n\r\nisi\r\n"
    ).encode()
    started = time.thread_time()

    mail = parse(raw)

    assert time.thread_time() - started < 1
    assert mail.text == "isi" and "header field truncated" in mail.defects


def test_long_fields_in_a_forwarded_message_and_long_file_names_are_accepted() -> None:
    recipients = ", ".join(f"orang{n}@contoh.id" for n in range(1000))
    name = "%E6%96%87" * 255  # 255 CJK characters, percent-encoded: 2.3 KB
    raw = (
        "From: a@example.net\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nTerusan.\r\n"
        f"--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@contoh.id\r\nTo: {recipients}\r\n\r\nasli\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        f"Content-Disposition: attachment; filename*=utf-8''{name}.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--b--\r\n"
    )

    mail = parse(raw.encode())

    assert mail.attachments[-1].filename == "文" * 251 + ".pdf"
    assert mail.attachments[-1].payload == b"%PDF"


def test_the_stdlib_fallback_decodes_encoded_words_in_file_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailparser, "parse_from_bytes", _broken_mailparser)
    raw = (
        b"From: a@example.net\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nisi\r\n--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="=?utf-8?q?surat_jalan_=E2=84=96_12.pdf?="\r\n'
        b"\r\nx\r\n--b--\r\n"
    )

    mail = parse(raw)

    assert mail.parser == "email"
    assert [a.filename for a in mail.attachments] == ["surat jalan № 12.pdf"]


def test_a_message_over_the_raw_size_limit_is_a_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prescan, "MESSAGE_LIMIT", 1000)

    assert parse(_with_attachments(1, size=100)).attachments
    with pytest.raises(ParseError, match=r"message of 1,[0-9]{3} bytes is over the 1,000 byte limit"):
        parse(_with_attachments(1, size=1000))


@pytest.mark.parametrize("backend", ["mail-parser", "email"])
def test_an_attachment_over_the_size_limit_is_dropped_and_noted(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "email":
        monkeypatch.setattr(mailparser, "parse_from_bytes", _broken_mailparser)
    monkeypatch.setattr(limits, "ATTACHMENT_SIZE_LIMIT", 1000)
    message = EmailMessage()
    message["From"] = "pelanggan@example.net"
    message.set_content("Foto terlampir.")
    message.add_attachment(b"k" * 1000, maintype="image", subtype="jpeg", filename="kecil.jpg")
    message.add_attachment(b"b" * 1001, maintype="image", subtype="jpeg", filename="../besar.jpg")
    message.add_attachment(b"t" * 10, maintype="text", subtype="plain", filename="catatan.txt")

    mail = parse(message.as_bytes())

    assert mail.parser == backend
    assert [(a.filename, a.size) for a in mail.attachments] == [("kecil.jpg", 1000), ("catatan.txt", 10)]
    assert "attachment dropped: besar.jpg is over 1,000 bytes" in mail.defects
    assert mail.text == "Foto terlampir."


@pytest.mark.parametrize("backend", ["mail-parser", "email"])
def test_attachments_beyond_the_total_are_dropped_and_later_small_ones_kept(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "email":
        monkeypatch.setattr(mailparser, "parse_from_bytes", _broken_mailparser)
    monkeypatch.setattr(limits, "ATTACHMENT_TOTAL_LIMIT", 2500)
    message = EmailMessage()
    message["From"] = "pelanggan@example.net"
    message.set_content("Tiga foto.")
    for name, size in (("a.jpg", 1200), ("b.jpg", 1200), ("c.jpg", 1200), ("d.jpg", 50)):
        message.add_attachment(b"x" * size, maintype="image", subtype="jpeg", filename=name)

    mail = parse(message.as_bytes())

    assert [a.filename for a in mail.attachments] == ["a.jpg", "b.jpg", "d.jpg"]
    assert "attachment dropped: c.jpg is over the 2,500 byte total" in mail.defects


def test_the_attachment_count_limit_holds_for_the_stdlib_fallback_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mailparser, "parse_from_bytes", _broken_mailparser)

    mail = parse(_with_attachments(60))

    assert mail.parser == "email"
    assert len(mail.attachments) == 50
    assert "attachments truncated: kept 50 of 60" in mail.defects


def _broken_mailparser(raw: bytes) -> object:
    raise AttributeError("'NoneType' object has no attribute 'index'")


# --- sanitised HTML ------------------------------------------------------------------------


def test_html_body_is_kept_sanitised_beside_the_text() -> None:
    mail = _parse("complaint_en_html_only")

    assert mail.html.startswith("<div>\n<p>Dear Customer Care team,</p>")
    assert "INV-2026-10-0042" in mail.html and "<table>" in mail.html
    for removed in ("<script", "alert", "<style", "<title", "<meta", "class=", "MsoNormal"):
        assert removed not in mail.html


def test_plain_mail_has_no_html() -> None:
    assert _parse("complaint_id_plain").html == ""


@pytest.mark.parametrize("backend", ["mail-parser", "email"])
def test_utf7_html_cannot_smuggle_a_script(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The standard library decodes UTF-7 to real markup; mail-parser leaves it as it was.
    if backend == "email":
        monkeypatch.setattr(mailparser, "parse_from_bytes", _broken_mailparser)
    raw = (
        b"From: a@example.net\r\nSubject: x\r\nContent-Type: text/html; charset=utf-7\r\n\r\n"
        b"+ADw-script+AD4-alert(1)+ADw-/script+AD4-+ADw-p+AD4-Keluhan+ADw-/p+AD4-\r\n"
    )

    mail = parse(raw)

    assert mail.parser == backend
    assert "<script" not in mail.html and "<script" not in mail.text
    if backend == "email":
        assert mail.html == "<p>Keluhan</p>"
        assert mail.text == "Keluhan"


def test_html_is_capped_and_still_well_formed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "HTML_DISPLAY_LIMIT", 1000)
    # Every bare '<' becomes '&lt;': the sanitised HTML is longer than its input.
    html = "<div><p>" + "a < b " * 300 + "</p></div>"
    raw = f"From: a@example.net\r\nContent-Type: text/html\r\n\r\n{html}\r\n".encode()

    mail = parse(raw)

    assert len(mail.html) <= 1000
    assert mail.html.startswith("<div><p>a &lt; b a &lt; b")
    assert mail.html.endswith("</p></div><p>[… teks dipotong / text truncated]</p>")
    assert "html truncated" in mail.defects


# --- the standard library fallback -------------------------------------------------------


def test_mail_parser_really_fails_on_a_truncated_bounce() -> None:
    # The original message in this bounce is headers only and its closing
    # boundary is missing: mail-parser 4.8 trips over the absent epilogue.
    with pytest.raises(AttributeError):
        mailparser.parse_from_bytes(_raw("bounce_truncated_headers_only_original"))


def test_truncated_bounce_is_parsed_completely_by_the_stdlib_fallback() -> None:
    mail = _parse("bounce_truncated_headers_only_original")

    assert mail.parser == "email"
    assert mail.defects[0] == "mail-parser failed: AttributeError"
    assert "StartBoundaryNotFoundDefect" in mail.defects
    assert mail.message_id == "<202611050040.5A0eLm12345@mail.kantorpos-mitra.id>"
    assert mail.from_address == "postmaster@kantorpos-mitra.id"
    assert mail.from_name == "Mail Delivery Subsystem"
    assert mail.to == ("bounces+ack.132.463@example.co.id",)
    assert mail.return_path == ""
    assert mail.subject == "Returned mail: see transcript for details"
    assert mail.date == datetime(2026, 11, 5, 0, 40, 21, tzinfo=UTC)
    assert mail.content_type == "multipart/report"
    assert "(reason: 552 5.2.2 Mailbox full)" in mail.text
    assert mail.header("auto-submitted") == "auto-generated (failure)"
    assert mail.attachments == ()


def test_stdlib_fallback_reads_unknown_charsets_without_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(raw: bytes) -> object:
        raise AttributeError("'NoneType' object has no attribute 'index'")

    monkeypatch.setattr(mailparser, "parse_from_bytes", broken)

    mail = _parse("unknown_charset")

    assert mail.parser == "email"
    assert mail.text.startswith("Tagihan kami ganda éèÿ untuk")
    assert mail.subject == "Keluhan é tagihan éè ganda"
    assert mail.from_name == "Pelanggan éñ"
    assert mail.from_address == "pelanggan@contoh.id"
    assert mail.contact.phones == ("+6281211112222",)


def test_stdlib_fallback_gives_the_same_complaint_as_mail_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = _parse("complaint_with_attachment")

    def broken(raw: bytes) -> object:
        raise RecursionError

    monkeypatch.setattr(mailparser, "parse_from_bytes", broken)
    fallback = _parse("complaint_with_attachment")

    assert fallback.parser == "email"
    for field in ("message_id", "from_address", "from_name", "to", "subject", "date", "text"):
        assert getattr(fallback, field) == getattr(expected, field), field
    assert fallback.headers == expected.headers
    assert fallback.attachments == expected.attachments
    assert fallback.contact == expected.contact


# --- every sample mail --------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(DATA.glob("*.eml")), ids=lambda path: path.stem)
def test_every_sample_mail_parses_to_display_safe_values(path: Path) -> None:
    mail = parse(path.read_bytes(), own_addresses=OWN)

    assert mail.message_id.startswith("<") and mail.message_id.endswith(">")
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert "\r" not in mail.text
    assert mail.language in ("id", "en")
    assert mail.date is None or mail.date.tzinfo is not None
    assert all(name == name.lower() for name, _ in mail.headers)


SAMPLES = sorted(DATA.glob("*.eml"))


def _assert_display_safe(mail: InboundMail) -> None:
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert "\r" not in mail.text
    assert mail.message_id.startswith("<") and len(mail.message_id) <= 998
    mail.text.encode("utf-8")
    for _, value in mail.headers:
        value.encode("utf-8")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_escape_as_anything_but_parse_error(raw: bytes) -> None:
    try:
        mail = parse(raw)
    except ParseError:
        return
    _assert_display_safe(mail)


@settings(max_examples=150, deadline=None)
@given(
    sample=st.sampled_from(SAMPLES),
    edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=0, max_size=8)), max_size=6),
)
def test_damaged_sample_mails_still_parse_safely(sample: Path, edits: list[tuple[float, bytes]]) -> None:
    raw = bytearray(sample.read_bytes())
    for where, replacement in edits:
        position = int(where * len(raw))
        raw[position : position + len(replacement)] = replacement

    try:
        mail = parse(bytes(raw))
    except ParseError:
        return
    _assert_display_safe(mail)
