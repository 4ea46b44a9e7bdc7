"""Who sent a mail: the sender recovered from a damaged From, or taken from a fallback field."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.parse.parser import parse
from daemon.parse.sender import (
    FROM,
    Sender,
    SenderFields,
    choose_sender,
    describe_source,
    is_recovered,
    plausible_address,
    read_mailbox,
)

DATA = Path(__file__).resolve().parents[2] / "data"
OWN = ("cs@example.co.id",)


def _choose(*headers: tuple[str, str], parsed: tuple[tuple[str, str], ...] = ()) -> Sender:
    return choose_sender(SenderFields(headers, parsed))


# --- reading one From value leniently ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "name", "address", "repairs"),
    [
        ("Test test@example.com", "Test", "test@example.com", ("no angle brackets",)),
        ('"Test" test@example.com', "Test", "test@example.com", ("no angle brackets",)),
        ("test@example.com (Test)", "Test", "test@example.com", ()),
        ("Test <test@example.com>", "Test", "test@example.com", ()),
        ("Test <test@example.com.>", "Test", "test@example.com", ("trailing dot in the domain",)),
        (
            "Budi Santoso budi@Example.COM.",
            "Budi Santoso",
            "budi@example.com",
            ("no angle brackets", "trailing dot in the domain"),
        ),
        ('"System Administrator"@example.com', "", '"system administrator"@example.com', ()),
        (
            'Admin "System Administrator"@example.com',
            "Admin",
            '"system administrator"@example.com',
            ("no angle brackets",),
        ),
        (
            "=?utf-8?q?Budi_Santoso?= budi@example.com",
            "=?utf-8?q?Budi_Santoso?=",
            "budi@example.com",
            ("no angle brackets",),
        ),
        ("Undisclosed, Rina <rina@example.co.id>", "Rina", "rina@example.co.id", ()),
    ],
)
def test_a_mailbox_is_read_the_way_mail_clients_read_it(
    value: str, name: str, address: str, repairs: tuple[str, ...]
) -> None:
    mailbox = read_mailbox(value)

    assert mailbox is not None
    assert (mailbox.name, mailbox.address, mailbox.repairs) == (name, address, repairs)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Formulir Pengaduan",
        "undisclosed-recipients:;",
        "alice@example.co.id)<bob@evil.example>",  # CVE-2023-27043: never guess between two
        "alice@example.co.id <bob@evil.example",
        "Test test@example.com other@example.com",
        "<a@example.com> <b@example.com>",
        "Test <test@example.com> trailing words",
        "budi@localhost",
        "budi@[192.0.2.1]",
        "budi@example..com",
        '"unterminated@example.com',
        "(unterminated comment budi@example.com",
        "budi@@example.com",
        ".budi@example.com",
        "budi@example.123",
    ],
)
def test_an_ambiguous_or_broken_value_gives_no_mailbox(value: str) -> None:
    assert read_mailbox(value) is None


# --- choosing the sender ------------------------------------------------------------


def test_a_well_formed_from_is_taken_as_the_backend_read_it() -> None:
    sender = _choose(
        ("from", "=?utf-8?q?Budi?= <Budi@Example.co.id>"), parsed=(("Budi", "Budi@Example.co.id"),)
    )

    assert sender == Sender("budi@example.co.id", "Budi", FROM)
    assert not is_recovered(sender.source)


def test_a_from_without_angle_brackets_is_recovered_and_says_so() -> None:
    sender = _choose(("from", "Test test@example.com"))

    assert sender == Sender("test@example.com", "Test", "from (recovered: no angle brackets)")
    assert is_recovered(sender.source)


def test_the_first_usable_of_two_from_fields_is_taken_and_counted() -> None:
    sender = _choose(("from", "Formulir Pengaduan"), ("from", "Teguh <teguh@example.co.id>"))

    assert sender == Sender("teguh@example.co.id", "Teguh", "from (recovered: From field 2 of 2)")


def test_two_usable_from_fields_give_the_first_and_are_counted() -> None:
    sender = _choose(
        ("from", "Satu <satu@example.co.id>"),
        ("from", "Dua <dua@example.co.id>"),
        parsed=(("Satu", "satu@example.co.id"), ("Dua", "dua@example.co.id")),
    )

    assert sender == Sender("satu@example.co.id", "Satu", "from (recovered: From field 1 of 2)")


def test_a_from_brought_back_by_the_header_repair_says_how() -> None:
    fields = SenderFields(
        (("from", "Yusuf <yusuf@example.co.id>"),),
        (("Yusuf", "yusuf@example.co.id"),),
        repaired_from="a stray line before the headers",
    )

    assert choose_sender(fields).source == "from (recovered: a stray line before the headers)"


@pytest.mark.parametrize(
    ("headers", "address", "source"),
    [
        (
            (("sender", "Maya <maya@example.or.id>"), ("reply-to", "r@example.or.id")),
            "maya@example.or.id",
            "sender",
        ),
        (
            (("reply-to", "Rudi <rudi@example.co.id>"), ("return-path", "<rp@example.co.id>")),
            "rudi@example.co.id",
            "reply-to",
        ),
        ((("return-path", "<Andi@Example.co.id>"),), "andi@example.co.id", "return-path"),
        (
            (("reply-to", "Rudi rudi@example.co.id"),),
            "rudi@example.co.id",
            "reply-to (recovered: no angle brackets)",
        ),
    ],
)
def test_without_a_usable_from_sender_reply_to_and_return_path_are_tried_in_order(
    headers: tuple[tuple[str, str], ...], address: str, source: str
) -> None:
    sender = _choose(("from", "undisclosed-recipients:;"), *headers)

    assert (sender.address, sender.source) == (address, source)


def test_a_missing_from_also_falls_back() -> None:
    assert (
        _choose(("to", "cs@example.co.id"), ("return-path", "<budi@example.net>")).address
        == "budi@example.net"
    )


def test_the_null_return_path_is_no_sender() -> None:
    assert _choose(("from", "Formulir"), ("return-path", "<>")) == Sender("", "", "")


def test_a_from_naming_the_null_address_is_unusable_like_any_other() -> None:
    sender = _choose(("from", "MAILER-DAEMON <>"), ("reply-to", "budi@example.net"))

    assert (sender.address, sender.source) == ("budi@example.net", "reply-to")
    assert _choose(("from", "<>"), ("return-path", "<>")) == Sender("", "", "")


@pytest.mark.parametrize(
    ("value", "name", "address", "how"),
    [
        ("yusuf@example.co.id;", "", "yusuf@example.co.id", "a stray semicolon or comma after it"),
        (
            "Rina Siregar <rina@example.co.id",
            "Rina Siregar",
            "rina@example.co.id",
            "an angle bracket never closed",
        ),
        (
            '"Rizky Mahendra <rizky@example.co.id>',
            "Rizky Mahendra",
            "rizky@example.co.id",
            "a quote never closed",
        ),
        (
            "=?utf-8?B?RGlhbiBUYW5qdW5nIDxkaWFuQGV4YW1wbGUuY28uaWQ+?=",
            "Dian Tanjung",
            "dian@example.co.id",
            "the address inside an encoded-word",
        ),
    ],
)
def test_what_real_mailers_break_is_mended_one_thing_at_a_time(
    value: str, name: str, address: str, how: str
) -> None:
    mailbox = read_mailbox(value)

    assert mailbox is not None
    assert (mailbox.name, mailbox.address, mailbox.repairs[0]) == (name, address, how)


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ('"System Administrator@example.com', None),  # a lone quote in a local part: which address?
        ("=?utf-8?q?Bank_Resmi?= <penipu@evil.example", "penipu@evil.example"),  # the name stays a name
        ("=?utf-8?q?support=40bank.example?= <penipu@evil.example> <x@y.example>", None),
        ("=?utf-8?q?support=40bank.example?= <penipu@evil.example>", "penipu@evil.example"),
        ("Team: budi@example.co.id;", None),
        ("alice@example.co.id <bob@evil.example", None),
    ],
)
def test_a_mend_never_makes_an_ambiguous_value_readable(value: str, address: str | None) -> None:
    mailbox = read_mailbox(value)

    assert (mailbox.address if mailbox is not None else None) == address


def test_a_hostile_from_falls_back_rather_than_guessing() -> None:
    sender = _choose(("from", "alice@example.co.id)<bob@evil.example>"))

    assert sender.address == ""


# --- what the history says ----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "sentence"),
    [
        ("from", None),
        ("", None),
        ("from (recovered: no angle brackets)", "sender recovered from From (no angle brackets)"),
        ("reply-to", "sender taken from Reply-To: From was unusable"),
        ("sender", "sender taken from Sender: From was unusable"),
        ("return-path", "sender taken from Return-Path: From was unusable"),
        (
            "reply-to (recovered: no angle brackets)",
            "sender taken from Reply-To (no angle brackets): From was unusable",
        ),
    ],
)
def test_the_source_is_described_for_the_history(source: str, sentence: str | None) -> None:
    assert describe_source(source) == sentence


@pytest.mark.parametrize(
    ("address", "plausible"),
    [
        ("budi@example.co.id", True),
        ("budi@localhost", True),
        ('"system administrator"@example.com', True),
        ("budi@[192.0.2.1]", True),
        ("testtest example.com", False),
        ("test test@example.com", False),
        ("@example.com", False),
        ("budi@", False),
    ],
)
def test_a_backend_address_is_kept_when_it_is_one_addr_spec(address: str, plausible: bool) -> None:
    assert plausible_address(address) is plausible


# --- the named test mails -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "address", "display", "source"),
    [
        (
            "sender_from_without_angle_brackets",
            "rina.wulandari@tokoberkah.co.id",
            "Rina Wulandari",
            "from (recovered: no angle brackets)",
        ),
        (
            "sender_from_quoted_name_without_brackets",
            "hendra.gunawan@mitrasejati.co.id",
            "Hendra Gunawan",
            "from (recovered: no angle brackets)",
        ),
        ("sender_from_comment_form", "dewi@linuxku.or.id", "Dewi Anggraini", "from"),
        (
            "sender_escaped_mbox_line",
            "yusuf.hakim@karyaindah.co.id",
            "Yusuf Hakim",
            "from (recovered: a stray line before the headers)",
        ),
        (
            "sender_outlook_internet_headers_line",
            "lina.marlina@cahayaprima.co.id",
            "Lina Marlina",
            "from (recovered: a stray line before the headers)",
        ),
        (
            "sender_blank_line_before_headers",
            "agus.pratama@berkahjaya.id",
            "Agus Pratama",
            "from (recovered: a stray line before the headers)",
        ),
        (
            "sender_exchange_broken_fold",
            "budi.hartono@sentosaabadi.co.id",
            "Budi Hartono",
            "from (recovered: hidden by a broken header line before it)",
        ),
        (
            "sender_header_without_colon",
            "sari.dewanti@nusantaramedia.co.id",
            "Sari Dewanti",
            "from (recovered: hidden by a broken header line before it)",
        ),
        (
            "sender_two_from_first_unusable",
            "teguh.santoso@sumbermakmur.co.id",
            "Teguh Santoso",
            "from (recovered: From field 2 of 2)",
        ),
        (
            "sender_trailing_dot_domain",
            "wati@pos.lintasdata.net.id",
            "Wati Suryani",
            "from (recovered: trailing dot in the domain)",
        ),
        (
            "sender_obsolete_colon_syntax",
            "wahyu.nugroho@graha-niaga.co.id",
            "Wahyu Nugroho",
            "from (recovered: whitespace before its colon)",
        ),
        ("sender_quoted_local_part", '"system administrator"@pelitaharapan.co.id', "", "from"),
        ("sender_reply_to_fallback", "rudi.siregar@mitraniaga.co.id", "Rudi Siregar", "reply-to"),
        ("sender_sender_fallback", "maya.kusuma@yayasanpeduli.or.id", "Maya Kusuma", "sender"),
        ("sender_return_path_fallback", "andi.wijaya@rekaguna.co.id", "", "return-path"),
        ("sender_recovered_robot", "baca-bounces@lists.komunitas-baca.or.id", "", "sender"),
    ],
)
def test_each_named_mail_has_its_sender_recovered(name: str, address: str, display: str, source: str) -> None:
    mail = parse((DATA / f"{name}.eml").read_bytes(), own_addresses=OWN)

    assert (mail.from_address, mail.from_name, mail.sender_source) == (address, display, source)
    # What the sender hid is back too: the subject and the Message-ID are the mail's own.
    assert mail.subject and not mail.message_id_synthetic
    assert "\ufffd" not in mail.subject


def test_the_repaired_exchange_mail_keeps_its_whole_subject_and_its_body() -> None:
    mail = parse((DATA / "sender_exchange_broken_fold.eml").read_bytes(), own_addresses=OWN)

    assert mail.subject == (
        "Keluhan: koran tidak diantar ke alamat kantor baru sejak kami pindah alamat bulan lalu"
    )
    assert mail.header("thread-topic") == (
        "Keluhan: koran tidak diantar ke alamat kantor baru sejak kami pindah alamat bulan lalu"
    )
    assert mail.text.startswith("Dengan hormat,")
    assert "From:" not in mail.text
    assert "badly folded header line joined to the field before" in mail.defects


def test_the_obsolete_syntax_mail_has_every_field_back() -> None:
    mail = parse((DATA / "sender_obsolete_colon_syntax.eml").read_bytes(), own_addresses=OWN)

    assert mail.message_id == "<OF5A3C2B1D.7E6F8A90-ON48258B2C.0027C1E5@graha-niaga.co.id>"
    assert mail.subject == "Pengaduan keterlambatan pengiriman koran"
    assert mail.to == ("cs@example.co.id",)
    assert mail.date is not None
