"""The PIC contact: Indonesian phone numbers in every usual shape, and email addresses."""

from __future__ import annotations

import pytest

from daemon.parse.contact import extract_contact, normalise_phone


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("0812-3456-7890", "+6281234567890"),
        ("0812 3456 7890", "+6281234567890"),
        ("081234567890", "+6281234567890"),
        ("0812.3456.7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("+62-812-3456-7890", "+6281234567890"),
        ("+6281234567890", "+6281234567890"),
        ("+62 (0)812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("(021) 3456789", "+62213456789"),
        ("021-3456789", "+62213456789"),
        ("(021) 3456-7890", "+622134567890"),
        ("(0274) 123456", "+62274123456"),
        ("+62 21 3456 7890", "+622134567890"),
    ],
)
def test_indonesian_phone_shapes_are_normalised_to_plus_62(written: str, normalised: str) -> None:
    assert extract_contact(f"Hubungi saya di {written}, terima kasih.").phones == (normalised,)


@pytest.mark.parametrize(
    "not_a_phone",
    [
        "tanggal 2026-11-21",
        "tanggal 21-11-2026",
        "tagihan Rp 1.500.000",
        "tagihan Rp 081.234.567",
        "sebesar IDR 0812345678",
        "nomor pelanggan 0012345678",
        "pesanan 0123456789",
        "pesanan INV-081234567890",
        "pesanan #081234567890",
        "kode 0812345",
        "resi 08123456789012345678",
        "jam 08:30",
        "nomor 62212345678",
    ],
)
def test_dates_amounts_and_order_numbers_are_not_phones(not_a_phone: str) -> None:
    assert extract_contact(not_a_phone).phones == ()


def test_phone_in_signature_is_the_pic_contact() -> None:
    text = (
        "Mohon segera ditindaklanjuti.\n\nSalam,\nBudi Santoso\nPT Maju Jaya\n"
        "HP: 0812-3456-7890\nTelp. (021) 3456789\n"
    )

    assert extract_contact(text).phones == ("+6281234567890", "+62213456789")


def test_phone_followed_by_a_year_on_the_same_line_is_still_found() -> None:
    assert extract_contact("HP 0812 3456 7890 2026").phones == ("+6281234567890",)


def test_phone_is_not_glued_to_a_number_on_the_next_line() -> None:
    text = "HP 0812 3456 7890\n2026 adalah tahun langganan kami"

    assert extract_contact(text).phones == ("+6281234567890",)


def test_two_phones_joined_by_a_slash_are_both_found() -> None:
    assert extract_contact("Telp: 021-5551234/0857 1234 5678").phones == (
        "+62215551234",
        "+6285712345678",
    )


def test_the_same_phone_written_twice_is_kept_once_in_order() -> None:
    text = "WA 0857 1234 5678 atau telp 021-5551234, WA lagi +62 857-1234-5678"

    assert extract_contact(text).phones == ("+6285712345678", "+62215551234")


def test_emails_are_lower_case_deduplicated_and_in_order() -> None:
    text = "PIC: Siti <Siti.Rahma@MajuJaya.co.id>, cc budi@majujaya.co.id; siti.rahma@majujaya.co.id."

    assert extract_contact(text).emails == ("siti.rahma@majujaya.co.id", "budi@majujaya.co.id")


def test_our_own_addresses_are_never_the_pic() -> None:
    text = "Balasan ke CS@example.co.id dan pic@pelanggan.id\n> dari cs@example.co.id"

    contact = extract_contact(text, exclude_emails=["cs@example.co.id"])

    assert contact.emails == ("pic@pelanggan.id",)


def test_mailto_links_give_the_address() -> None:
    assert extract_contact("<mailto:andi@contoh.id>").emails == ("andi@contoh.id",)


def test_mail_without_contact_has_an_empty_contact() -> None:
    assert extract_contact("Koran tidak datang.").is_empty


@pytest.mark.parametrize("candidate", ["12345", "+1 212 555 0100", "", "0"])
def test_normalise_phone_rejects_non_indonesian_numbers(candidate: str) -> None:
    assert normalise_phone(candidate) is None
