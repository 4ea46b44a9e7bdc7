"""The parse stage: raw bytes from the mailbox -> InboundMail, on real-shaped mail."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import mailparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.message import InboundMail
from daemon.parse import ParseError, display_filename, html_to_text, normalise_message_id, parse

DATA = Path(__file__).resolve().parents[1] / "data"
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
    started = time.monotonic()

    mail = parse(raw)

    assert time.monotonic() - started < 2
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
    received = "".join(
        f"Received: from relay{n}.example.net by mx.example.co.id;\r\n Mon, 2 Nov 2026 10:00:00 +0700\r\n"
        for n in range(300)
    )
    raw = _raw("no_message_id").replace(b"From: ", received.encode() + b"From: ", 1)

    mail = parse(raw)

    assert mail.defects == ()
    assert len(mail.header_all("received")) == 301
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


def test_unknown_charset_is_decoded_with_replacement_characters() -> None:
    mail = _parse("unknown_charset")

    assert mail.parser == "mail-parser"
    assert mail.text.startswith("Tagihan kami ganda \ufffd")
    assert "untuk bulan Oktober." in mail.text
    assert mail.subject == "Keluhan \ufffd tagihan \ufffd\ufffd ganda"
    assert mail.from_name == "Pelanggan \ufffd\ufffd"
    assert "CharsetDecodeDefect" in mail.defects
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


def test_line_endings_do_not_change_the_body_hash() -> None:
    lf = _raw("no_message_id")
    crlf = lf.replace(b"\n", b"\r\n")

    assert parse(lf).body_sha256 == parse(crlf).body_sha256
    assert parse(lf).message_id == parse(crlf).message_id


def test_moderately_nested_multipart_still_finds_the_text() -> None:
    assert parse(_nested_multipart(40)).text == "Isi keluhan paling dalam."


def test_absurdly_deep_multipart_is_a_quick_parse_error() -> None:
    started = time.monotonic()

    with pytest.raises(ParseError, match="mail-parser failed: MailParserRecursionError"):
        parse(_nested_multipart(5000))

    assert time.monotonic() - started < 10


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
    assert mail.text.startswith("Tagihan kami ganda \ufffd")
    assert mail.subject == "Keluhan \ufffd tagihan \ufffd\ufffd ganda"
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
