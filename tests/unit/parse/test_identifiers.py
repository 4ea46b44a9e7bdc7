"""Identifiers read from headers: threading IDs, addresses, names, the synthetic Message-ID."""

from __future__ import annotations

import pytest

from daemon.parse import limits
from daemon.parse.identifiers import (
    SYNTHETIC_DOMAIN,
    addresses,
    first_name,
    in_reply_to,
    message_id_tokens,
    normalise_address,
    references,
    return_path,
    synthetic_message_id,
)


def test_message_id_tokens_are_normalised_and_not_repeated() -> None:
    assert message_id_tokens("<a@x> <b @x>\r\n <a@x> junk") == ("<a@x>", "<b@x>")


def test_many_references_keep_the_root_and_the_nearest_ancestors() -> None:
    ids = [f"<m{number}@x>" for number in range(50)]
    kept = references(" ".join(ids))
    assert len(kept) == limits.THREAD_ID_LIMIT
    assert kept[0] == ids[0]
    assert kept[1:] == tuple(ids[-(limits.THREAD_ID_LIMIT - 1) :])


def test_in_reply_to_keeps_the_first_ids() -> None:
    ids = [f"<r{number}@x>" for number in range(30)]
    assert in_reply_to(" ".join(ids)) == tuple(ids[: limits.THREAD_ID_LIMIT])


def test_addresses_are_lower_case_without_junk_or_repeats() -> None:
    pairs = [("A", "Pelanggan@Example.NET"), ("", ""), ("B", "pelanggan@example.net"), ("C", "x @y")]
    assert addresses(pairs) == ("pelanggan@example.net", "x@y")


def test_the_first_name_is_that_of_the_first_pair_with_an_address() -> None:
    assert first_name([("Tanpa alamat", ""), ("=?utf-8?q?Bu_Sari?=", "sari@example.net")]) == "Bu Sari"
    assert first_name([]) == ""


def test_return_path_tells_absent_from_null() -> None:
    assert return_path(None) is None
    assert return_path("<>") == ""
    assert return_path("<Bounce@Example.NET>") == "bounce@example.net"


def test_the_synthetic_message_id_depends_only_on_what_copies_share() -> None:
    first = synthetic_message_id("a@x", "Mon, 1 Jan 2024", "s", "abc")
    assert first == synthetic_message_id("a@x", "Mon, 1 Jan 2024", "s", "abc")
    assert first != synthetic_message_id("a@x", "Mon, 1 Jan 2024", "s", "abd")
    assert first.startswith("<") and first.endswith(f"@{SYNTHETIC_DOMAIN}>")


@pytest.mark.parametrize(
    ("address", "normal"),
    [
        ("Budi@Example.CO.ID", "budi@example.co.id"),
        (" budi @ example.co.id\r\n", "budi@example.co.id"),
        ("budi@example.co.id.", "budi@example.co.id"),
        ('"System Administrator"@Example.com', '"system administrator"@example.com'),
        ('"System Administrator"@example.com.', '"system administrator"@example.com'),
        ("budi\x00@example.co.id", "budi@example.co.id"),
        ("", ""),
    ],
)
def test_an_address_keeps_the_spaces_of_a_quoted_local_part_only(address: str, normal: str) -> None:
    assert normalise_address(address) == normal
    assert addresses([("", address)]) == ((normal,) if normal else ())


def test_a_quoted_return_path_keeps_its_spaces() -> None:
    assert return_path('<"System Administrator"@example.com>') == '"system administrator"@example.com'
