"""The `retired_departments:` section: where the open tickets of a department gone from the file go.

A department taken out of `departments:` may still own open tickets; their
follow-ups, SLA steps and reports would then reach nobody. The section maps each
retired id to a department still listed:

    retired_departments:
      gudang: logistik

The daemon moves the open tickets of `gudang` to `logistik` when it loads the
rules (`daemon.tickets.retired`). Here only the file is read: a retired id must
be gone from `departments:` (a department cannot be both), and its target must
be listed there. Whether open tickets still belong to a department the file no
longer names is a question for the database, asked where the rules are loaded.
"""

from __future__ import annotations

from types import MappingProxyType

from daemon.route.reader import Entry, NodeReader, is_null
from daemon.route.rules import Retirement

SECTION = "retired_departments"
ID_LENGTH = 64
"""What the ticket's department column holds: a longer id cannot be a department any ticket has."""


def read_retired(reader: NodeReader, entry: Entry | None, departments: Entry | None) -> Retirement | None:
    """The section as a `Retirement` (empty when absent); None when it has an error (reported)."""
    departments_line = departments.key.start_mark.line + 1 if departments is not None else 0
    if entry is None or is_null(entry.value):
        return Retirement(departments_line=departments_line)
    fields = reader.mapping(entry.value, f"{SECTION} (retired id: department id)")
    if fields is None:
        return None
    before = reader.errors
    moves: dict[str, str] = {}
    listed = reader.ids["department"]
    for old_entry in fields.values():
        old = reader.text(old_entry.key, "retired department id")
        if old is None:
            continue
        if old in listed:
            reader.error(
                old_entry.key,
                f"department '{old}' is retired here but still listed under departments (line "
                f"{listed[old]}); take it out of departments, or out of {SECTION}",
            )
            continue
        if len(old) > ID_LENGTH:
            reader.error(old_entry.key, f"retired department id '{old}' is over {ID_LENGTH} characters")
            continue
        new = reader.reference(old_entry.value, "department")
        if new is not None:
            moves[old] = new
    if reader.errors > before:
        return None
    return Retirement(MappingProxyType(moves), departments_line)
