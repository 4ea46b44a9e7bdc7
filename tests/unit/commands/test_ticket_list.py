"""`tickets list` options and lines, without a database: statuses and groups, paging, clipping, JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from daemon.cli import main
from daemon.commands.parsers.tickets import status_choice
from daemon.commands.ticket_list import Paging, Selection, count_line
from daemon.commands.ticket_values import clip, write_json_list

ALLOWED = "open, closed, all, new, acknowledged, assigned, in-progress, resolved"


def _refused(capsys: Any, *argv: str) -> str:
    with pytest.raises(SystemExit) as refused:
        main(["tickets", "list", *argv])
    assert refused.value.code == 2
    return str(capsys.readouterr().err)


def test_tickets_list_refuses_unknown_status(capsys: Any) -> None:
    err = _refused(capsys, "--status", "bogus")
    assert f"argument --status: unknown status 'bogus' (choose from {ALLOWED})" in err
    assert err.startswith("usage: caredesk tickets list")


def test_paging_options_are_checked_before_anything_is_read(capsys: Any) -> None:
    assert "argument --page: '0' is not a whole number of 1 or more" in _refused(capsys, "--page", "0")
    assert "not allowed with argument" in _refused(capsys, "--page", "2", "--all")
    assert "argument --limit: 'many' is not" in _refused(capsys, "--limit", "many")


def test_a_status_or_a_group_in_any_case_and_the_recap_spelling() -> None:
    assert [status_choice(word) for word in ("OPEN", "closed", "All", "assigned", "in_progress")] == [
        "open",
        "closed",
        "all",
        "assigned",
        "in-progress",
    ]
    assert Selection("in-progress").wanted.statuses == ("in-progress", "in_progress")
    assert Selection("open").wanted.excluded == ("resolved", "closed")
    assert Selection("closed", "keuangan").wanted.statuses == ("resolved", "closed")


def test_the_count_line_says_what_is_shown_and_how_to_see_more() -> None:
    assert count_line(Selection("open"), Paging(1), 50, 1234) == (
        "showing 1–50 of 1,234 open tickets; --page 2 for more"
    )
    assert count_line(Selection("assigned", "keuangan"), Paging(3, 10), 4, 24) == (
        "showing 21–24 of 24 assigned tickets in keuangan"
    )
    assert count_line(Selection("all"), Paging(None), 7, 7) == "showing all 7 tickets"


def test_a_value_too_long_for_its_column_ends_in_an_ellipsis() -> None:
    assert clip("pelanggan@example.net", 28) == "pelanggan@example.net"
    assert clip("x" * 28, 28) == "x" * 28
    assert clip("x" * 29, 28) == "x" * 27 + "…"


@pytest.mark.parametrize("items", [[], [{"a": 1, "b": [True, None]}, {"c": "é\nd"}]])
def test_the_json_list_is_written_as_json_dumps_writes_it(items: list[dict[str, Any]], capsys: Any) -> None:
    write_json_list(iter(items))
    assert capsys.readouterr().out == json.dumps(items, ensure_ascii=False, indent=2) + "\n"
