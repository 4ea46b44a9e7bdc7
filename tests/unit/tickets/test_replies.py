"""Reading a department's reply: commands at the top, the customer's part, the internal rest.

The last tests read the cheat-sheet in docs/departments.md, so the commands
documented for staff and the ones the parser accepts cannot drift apart.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.parse.quoting import strip_quoted
from daemon.tickets.commands import (
    COMMAND_ALIASES,
    EFFECTIVE_VALUES,
    SEVERITY_VALUES,
    STATUS_VALUES,
    Command,
    command_name,
    effective_value,
    parse_reply,
    severity_value,
    status_value,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "departments.md"

EVERY_SPELLING = [(canonical, alias) for canonical, aliases in COMMAND_ALIASES.items() for alias in aliases]


@pytest.mark.parametrize(("canonical", "alias"), EVERY_SPELLING)
def test_every_command_and_alias_is_read_in_any_case_with_an_optional_colon(
    canonical: str, alias: str
) -> None:
    for line in (f"#{alias} x", f"#{alias.upper()} x", f"  #{alias}: x", f"#{alias.title()}:x"):
        parsed = parse_reply(line)
        assert [command.name for command in parsed.commands] == [canonical], line
        if canonical != "reply":
            assert parsed.commands[0].argument == "x"
        assert parsed.unknown == ()


@pytest.mark.parametrize(
    "spelling", ["#root-cause", "#root_cause", "#rootcause", "#ROOT-CAUSE:", "#Akar_Masalah"]
)
def test_hyphens_and_underscores_in_a_name_are_optional(spelling: str) -> None:
    parsed = parse_reply(f"{spelling} Mesin cetak rusak")
    assert parsed.commands == (
        Command("root-cause", "Mesin cetak rusak", 1, f"{spelling} Mesin cetak rusak"),
    )


def test_commands_are_read_from_the_top_until_the_first_line_of_text() -> None:
    text = (
        "\n"
        "#root-cause Agen Bekasi berhenti\n"
        "\n"
        "#action Dialihkan ke agen lain\n"
        "Sudah saya telepon supervisor.\n"
        "Besok dicek lagi.\n"
    )
    parsed = parse_reply(text)
    assert parsed.commands == (
        Command("root-cause", "Agen Bekasi berhenti", 2, "#root-cause Agen Bekasi berhenti"),
        Command("action", "Dialihkan ke agen lain", 4, "#action Dialihkan ke agen lain"),
    )
    assert parsed.note_text == "Sudah saya telepon supervisor.\nBesok dicek lagi."
    assert parsed.reply_text == ""


def test_a_command_below_the_text_is_reported_as_misplaced_and_not_kept_as_note() -> None:
    parsed = parse_reply("#note first\nSome text.\n#status resolved\nMore text.")
    assert [command.name for command in parsed.commands] == ["note"]
    assert parsed.misplaced == ((3, "#status resolved"),)
    assert parsed.note_text == "Some text.\nMore text."


def test_unknown_command_like_lines_are_reported_and_do_not_end_the_block() -> None:
    parsed = parse_reply("#stauts resolved\n  #foo: bar\n#note ok\nText")
    assert parsed.unknown == ((1, "#stauts resolved"), (2, "#foo: bar"))
    assert [command.name for command in parsed.commands] == ["note"]
    assert parsed.note_text == "Text"


def test_a_hash_followed_by_a_number_is_text_not_a_command() -> None:
    parsed = parse_reply("#1 masalahnya adalah tinta.\n#status resolved")
    assert parsed.commands == ()
    assert parsed.unknown == ()
    assert parsed.note_text == "#1 masalahnya adalah tinta."
    assert parsed.misplaced == ((2, "#status resolved"),)


def test_unknown_hashtags_inside_the_note_are_just_text() -> None:
    parsed = parse_reply("Catatan soal #penting dan\n#prioritas minggu ini")
    assert parsed.unknown == ()
    assert parsed.misplaced == ()
    assert parsed.note_text == "Catatan soal #penting dan\n#prioritas minggu ini"


def test_reply_ends_the_command_block_and_its_text_goes_to_the_customer() -> None:
    parsed = parse_reply("#status resolved\n#reply\nYth. Bapak,\n\nKoran sudah dikirim ulang.\n")
    assert [command.name for command in parsed.commands] == ["status", "reply"]
    assert parsed.commands[1] == Command("reply", "", 2, "#reply")
    assert parsed.reply_text == "Yth. Bapak,\n\nKoran sudah dikirim ulang."
    assert parsed.note_text == ""


def test_text_on_the_reply_line_itself_starts_the_customer_text() -> None:
    parsed = parse_reply("#balas: Yth. Ibu, mohon maaf.\nKami perbaiki hari ini.")
    assert parsed.commands == (Command("reply", "", 1, "#balas: Yth. Ibu, mohon maaf."),)
    assert parsed.reply_text == "Yth. Ibu, mohon maaf.\nKami perbaiki hari ini."


def test_reply_may_follow_an_internal_note() -> None:
    text = (
        "#root-cause Tinta habis\n\nSudah saya telepon supervisor.\n\n#reply\nMohon maaf atas kejadian ini."
    )
    parsed = parse_reply(text)
    assert [(command.name, command.line) for command in parsed.commands] == [("root-cause", 1), ("reply", 5)]
    assert parsed.note_text == "Sudah saya telepon supervisor."
    assert parsed.reply_text == "Mohon maaf atas kejadian ini."


def test_commands_inside_the_reply_text_never_reach_the_customer() -> None:
    parsed = parse_reply("#reply\nMohon maaf.\n#status closed\nSalam.")
    assert parsed.reply_text == "Mohon maaf.\nSalam."
    assert parsed.misplaced == ((3, "#status closed"),)
    assert [command.name for command in parsed.commands] == ["reply"]


@pytest.mark.parametrize("separator", ["--", "-- ", " --"])
def test_the_signature_under_the_reply_is_cut_so_the_department_stays_hidden(separator: str) -> None:
    text = f"#reply\nKoran Anda dikirim ulang besok.\n\n{separator}\nAni Rahmawati\nDistribusi, ext. 2214\n"
    parsed = parse_reply(text)
    assert parsed.reply_text == "Koran Anda dikirim ulang besok."
    assert "Ani" not in parsed.note_text


@pytest.mark.parametrize(
    "client_line", ["Sent from my iPhone", "Dikirim dari Yahoo Mail di Android", "Get Outlook for Android"]
)
def test_a_mobile_client_signature_line_is_cut_from_the_reply(client_line: str) -> None:
    parsed = parse_reply(f"#reply\nSudah kami perbaiki.\n\n{client_line}\n")
    assert parsed.reply_text == "Sudah kami perbaiki."


def test_dashes_inside_a_sentence_are_not_a_signature() -> None:
    parsed = parse_reply("#reply\nJadwal baru -- mulai Senin -- pukul 06.00.\n---\nTerima kasih.")
    assert parsed.reply_text == "Jadwal baru -- mulai Senin -- pukul 06.00.\n---\nTerima kasih."


def test_without_reply_everything_stays_internal() -> None:
    parsed = parse_reply("#note cek gudang\nDetail: stok kosong.\n\n-- \nBudi")
    assert parsed.reply_text == ""
    assert all(command.name != "reply" for command in parsed.commands)
    assert parsed.note_text == "Detail: stok kosong.\n\n--\nBudi"


def test_an_empty_reply_has_nothing() -> None:
    parsed = parse_reply("")
    assert (parsed.commands, parsed.unknown, parsed.reply_text, parsed.note_text) == ((), (), "", "")


def test_crlf_lines_and_outlook_invisible_characters_are_tolerated() -> None:
    text = "\ufeff#status: resolved\r\n\u200b#catatan\xa0beres\r\n\r\nTerima kasih\r\n"
    parsed = parse_reply(text)
    assert [(command.name, command.argument) for command in parsed.commands] == [
        ("status", "resolved"),
        ("note", "beres"),
    ]
    assert parsed.note_text == "Terima kasih"


def test_an_outlook_reply_with_quoted_history_gives_only_the_new_commands() -> None:
    # What the pipeline hands over: the reply's new text after strip_quoted.
    body = (
        "#akar-masalah Roller mesin cetak aus\r\n"
        "#tindakan Roller diganti\r\n"
        "#status selesai\r\n"
        "\r\n"
        "Salam,\r\nBudi\r\n"
        "\r\n"
        "________________________________\r\n"
        "From: Customer Care <care@example.co.id>\r\n"
        "Sent: Monday, 2 November 2026 10:05\r\n"
        "To: Teknik <teknik@example.co.id>\r\n"
        "Subject: [CC-2026-000123] Keluhan baru / New complaint: Koran luntur\r\n"
        "\r\n"
        "#status closed\r\n"
        "Keluhan pelanggan baru untuk Teknik.\r\n"
    )
    parsed = parse_reply(strip_quoted(body))
    assert [(command.name, command.argument) for command in parsed.commands] == [
        ("root-cause", "Roller mesin cetak aus"),
        ("action", "Roller diganti"),
        ("status", "selesai"),
    ]
    assert parsed.misplaced == ()
    assert parsed.note_text == "Salam,\nBudi"


def test_a_hostile_line_of_spaces_is_read_in_linear_time() -> None:
    started = time.perf_counter()
    parsed = parse_reply("#note a" + " " * 200_000 + "b" + " " * 200_000 + "\n#reply " + " " * 200_000 + "x")
    assert time.perf_counter() - started < 1.0
    assert parsed.commands[0].argument == "a" + " " * 200_000 + "b"
    assert parsed.reply_text == "x"


@given(
    st.lists(st.sampled_from(["#", "status", "reply", "balas", " ", ":", "\n", "--", "x", "\u200b"])).map(
        "".join
    )
)
def test_any_text_parses_and_every_command_points_at_its_line(text: str) -> None:
    parsed = parse_reply(text)
    lines = text.splitlines()
    for command in parsed.commands:
        assert lines[command.line - 1].strip() == command.raw
        assert command.raw.lstrip("\ufeff\u200b \t").startswith("#")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in-progress", "in-progress"),
        ("In Progress", "in-progress"),
        ("in_progress", "in-progress"),
        ("proses", "in-progress"),
        ("Diproses", "in-progress"),
        ("resolved", "resolved"),
        ("SELESAI.", "resolved"),
        ("closed", "closed"),
        ("ditutup", "closed"),
        ("tutup", "closed"),
        ("done", None),
        ("new", None),
        ("", None),
    ],
)
def test_status_values_and_their_indonesian_aliases(text: str, expected: str | None) -> None:
    assert status_value(text) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [("yes", "yes"), ("Ya,", "yes"), ("YA:", "yes"), ("no", "no"), ("Tidak", "no"), ("mungkin", None)],
)
def test_effective_values_and_their_indonesian_aliases(word: str, expected: str | None) -> None:
    assert effective_value(word) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("major", "major"), ("Mayor", "major"), ("minor", "minor"), ("MINOR.", "minor"), ("sedang", None)],
)
def test_severity_values_and_their_indonesian_aliases(text: str, expected: str | None) -> None:
    assert severity_value(text) == expected


def test_command_name_rejects_what_is_not_a_command() -> None:
    assert command_name("Tenggat") == "target"
    assert command_name("status2") is None
    assert command_name("replyall") is None


# ---------------------------------------------------------------------------
# docs/departments.md and the parser agree
# ---------------------------------------------------------------------------


def _table_after(heading: str) -> list[list[str]]:
    """The rows (cells) of the first Markdown table after `heading` in the staff guide."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(heading)
    rows: list[list[str]] = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not set("".join(cells)) <= set("-: "):
                rows.append(cells)
        elif rows:
            break
    return rows[1:]  # without the header row


def _codes(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_the_cheat_sheet_lists_exactly_the_commands_and_aliases_the_parser_accepts() -> None:
    rows = _table_after("## Cheat-sheet")
    documented = {
        _codes(english)[0].lstrip("#"): {code.lstrip("#") for code in _codes(english) + _codes(indonesian)}
        for english, indonesian, _what, _example in rows
    }
    accepted = {canonical: set(aliases) for canonical, aliases in COMMAND_ALIASES.items()}
    assert documented == accepted


def test_every_cheat_sheet_example_parses_to_its_own_command() -> None:
    for english, _indonesian, _what, example in _table_after("## Cheat-sheet"):
        parsed = parse_reply(_codes(example)[0])
        assert [command.name for command in parsed.commands] == [_codes(english)[0].lstrip("#")], example
        assert parsed.unknown == ()


def test_the_values_table_lists_exactly_the_values_the_parser_accepts() -> None:
    tables = {"#status": STATUS_VALUES, "#effective": EFFECTIVE_VALUES, "#severity": SEVERITY_VALUES}
    documented: dict[str, dict[str, set[str]]] = {name: {} for name in tables}
    for value, indonesian, used_with in _table_after("Values:"):
        canonical = _codes(value)[0]
        documented[_codes(used_with)[0]][canonical] = {canonical, *_codes(indonesian)}
    assert documented == {
        name: {canonical: set(aliases) for canonical, aliases in table.items()}
        for name, table in tables.items()
    }
