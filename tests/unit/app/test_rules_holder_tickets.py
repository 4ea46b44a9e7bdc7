"""The rules holder and the open tickets: stranding rules are refused, retired ones adopted.

The database side is a stand-in here (`Guard`); tests/hostile/test_retired_departments.py
runs the same on real SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daemon.app.rules_reload import RECHECK_SECONDS, Refusal, RulesHolder, content_version
from daemon.config import ConfigError
from daemon.route.rules import Problem, Rules

OLD = """\
departments:
  - {id: customer-care, name: Customer Care, email: cc@example.co.id}
  - {id: gudang, name: Gudang, email: gudang@example.co.id}
default: {department: customer-care}
rules: []
"""
NEW = """\
departments:
  - {id: customer-care, name: Customer Care, email: cc@example.co.id}
default: {department: customer-care}
rules: []
"""


class Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


class Guard:
    """Open tickets in `gudang` while `stranded`; `broken` makes the database fail."""

    def __init__(self) -> None:
        self.stranded = True
        self.broken = False
        self.asked: list[str] = []
        self.adopted: list[str] = []

    def problems(self, rules: Rules) -> list[Problem]:
        self.asked.append(rules.version)
        if self.broken:
            raise OSError("database gone")
        if self.stranded and "gudang" not in rules.departments:
            return [Problem(rules.source, 1, 1, "department 'gudang' is not in departments")]
        return []

    def adopt(self, rules: Rules) -> None:
        if self.broken:
            raise OSError("database gone")
        self.adopted.append(rules.version)


def _save(path: Path, text: str, clock: Clock) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (clock.now - 100, clock.now - 100))


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(OLD, encoding="utf-8")
    return path


def test_rules_stranding_open_tickets_are_refused_once_and_taken_when_the_tickets_are_gone(
    rules_file: Path,
) -> None:
    clock, guard, refusals = Clock(), Guard(), list[Refusal]()
    holder = RulesHolder(rules_file, on_refused=refusals.append, wall_clock=clock)
    holder.guard_tickets(guard)
    assert guard.adopted == [content_version(OLD)]
    _save(rules_file, NEW, clock)
    assert holder.refresh() is False
    assert holder().version == content_version(OLD)
    assert [refusal.messages for refusal in refusals] == [
        [f"{rules_file}:1:1: error: department 'gudang' is not in departments"]
    ]
    # Not looked at again at every poll, and when it is, not reported again.
    assert holder.refresh() is False
    assert guard.asked == [content_version(OLD), content_version(NEW)]
    clock.now += RECHECK_SECONDS
    assert holder.refresh() is False
    assert len(refusals) == 1 and len(guard.asked) == 3
    # The tickets were closed by hand: the same file is taken at the next look.
    guard.stranded = False
    clock.now += RECHECK_SECONDS
    assert holder.refresh() is True
    assert holder().version == content_version(NEW)
    assert guard.adopted == [content_version(OLD), content_version(NEW)]


def test_an_unreachable_database_keeps_the_old_rules_and_asks_again(rules_file: Path) -> None:
    clock, guard, refusals = Clock(), Guard(), list[Refusal]()
    holder = RulesHolder(rules_file, on_refused=refusals.append, wall_clock=clock)
    holder.guard_tickets(guard)
    guard.stranded, guard.broken = False, True
    _save(rules_file, NEW, clock)
    assert holder.refresh() is False
    assert holder().version == content_version(OLD) and refusals == []
    guard.broken = False
    assert holder.refresh() is True
    assert holder().version == content_version(NEW)


def test_an_adoption_that_fails_after_the_swap_is_retried(rules_file: Path) -> None:
    clock, guard = Clock(), Guard()
    guard.stranded = False
    holder = RulesHolder(rules_file, wall_clock=clock)
    holder.guard_tickets(guard)
    _save(rules_file, NEW, clock)

    def failing(rules: Rules) -> None:
        raise OSError("database gone")

    guard.adopt = failing  # type: ignore[method-assign]
    assert holder.refresh() is True
    del guard.adopt
    assert holder.refresh() is False
    assert guard.adopted[-1] == content_version(NEW)


def test_at_start_rules_stranding_open_tickets_are_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(NEW, encoding="utf-8")
    holder = RulesHolder(path)
    guard = Guard()
    with pytest.raises(ConfigError, match=r"rules are invalid:\n.*:1:1: error: department 'gudang'"):
        holder.guard_tickets(guard)
    assert guard.adopted == []
