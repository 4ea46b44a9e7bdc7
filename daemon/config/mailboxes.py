"""Several mailboxes: the `[[mailbox]]` tables, read beside the one `[mailbox]` table.

A config file names either one `[mailbox]` table (as before: its name is
"default" unless it says otherwise) or an array of `[[mailbox]]` tables, each
with the same keys and a `name`, required when there are several and unique.
Both at once is refused, with the file and the line of the second.

What the environment and systemd give a mailbox of several carries its name:
`CAREDESK_MAILBOX_<NAME>_<KEY>` (the name upper-cased, every other character
than a letter or digit an underscore) and the credential `imap-password-<name>`.
The plain `CAREDESK_MAILBOX_<KEY>` and `imap-password` would not say which
mailbox they are for, so with `[[mailbox]]` tables they are refused.

Each table's values are then checked and built by `daemon.config.build`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from daemon.config.credentials import VARIABLE
from daemon.config.schema import _SCHEMA, _SECRET_KEYS, ConfigError

SINGLE_NAME = "default"
"""The name of the mailbox of a `[mailbox]` table that gives none."""
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
"""A mailbox name: it goes into variable and credential names, metrics and the log."""
ENV_PREFIX = "CAREDESK_MAILBOX_"
CREDENTIAL = "imap-password"

_SINGLE_HEADER = re.compile(r"^[ \t]*\[[ \t]*mailbox[ \t]*\]", re.MULTILINE)
_ARRAY_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*mailbox[ \t]*\]\]", re.MULTILINE)

Tables = list[dict[str, Any]]


def both_forms(path: Path, text: str) -> str | None:
    """The error for a file with both `[mailbox]` and `[[mailbox]]`, naming the later one's line; or None."""
    single, array = _SINGLE_HEADER.search(text), _ARRAY_HEADER.search(text)
    if single is None or array is None:
        return None
    later = max(single.start(), array.start())
    line = text.count("\n", 0, later) + 1
    return (
        f"{path}:{line}: [mailbox] and [[mailbox]] both given: use one [mailbox] table for one mailbox, "
        "or only [[mailbox]] tables, each with its own name, for several"
    )


def read_tables(path: Path, tables: list[Any]) -> Tables:
    """The `[[mailbox]]` tables of the file, keys checked; secrets and duplicate names refused."""
    read = [_read_table(path, position, table) for position, table in enumerate(tables, start=1)]
    seen: dict[str, int] = {}
    for position, table in enumerate(read, start=1):
        if len(read) > 1 and "name" not in table:
            raise ConfigError(
                f"{path}: [[mailbox]] {position} has no name: each of several mailboxes needs one"
            )
        name = table.get("name", SINGLE_NAME)
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ConfigError(
                f"{path}: [[mailbox]] {position}: name must be lower-case letters, digits, '-' and '_' "
                f"(at most 40, starting with a letter or digit), got {name!r}"
            )
        if name in seen:
            raise ConfigError(
                f"{path}: [[mailbox]] {position}: name {name!r} is taken by [[mailbox]] {seen[name]}: "
                "mailbox names must be unique"
            )
        seen[name] = position
    return read


def _read_table(path: Path, position: int, table: object) -> dict[str, Any]:
    """One `[[mailbox]]` table: known keys only, plain values, no password written in the file."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: mailbox must be a table ([mailbox] or [[mailbox]]), got {table!r}")
    name = table.get("name")
    where = f"[[mailbox]] {position}" + (f" ({name!r})" if isinstance(name, str) else "")
    for key, value in table.items():
        if key not in _SCHEMA["mailbox"]:
            close = difflib.get_close_matches(key, list(_SCHEMA["mailbox"]), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{path}: {where}: unknown key {key!r}{hint}")
        if ("mailbox", key) in _SECRET_KEYS:
            raise ConfigError(
                f"{path}: {where}: {key} must not be written in the config file; use "
                f"{key}_file, {ENV_PREFIX}<NAME>_{key.upper()} or the credential {CREDENTIAL}-<name>"
            )
        if isinstance(value, dict):
            raise ConfigError(f"{path}: {where}: {key} must be a value, not a table")
    return dict(table)


def env_name(name: str) -> str:
    """The part of a variable name that names the mailbox `name`: `branch-recap` -> `BRANCH_RECAP`."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def apply_environment(
    env: Mapping[str, str], tables: Tables, convert: Callable[[str, str, type], Any]
) -> set[str]:
    """Set each table's `CAREDESK_MAILBOX_<NAME>_<KEY>`; the variable names used.

    A plain `CAREDESK_MAILBOX_<KEY>` names no mailbox and is refused.
    """
    prefixes = sorted(
        ((f"{ENV_PREFIX}{env_name(table.get('name', SINGLE_NAME))}_", table) for table in tables),
        key=lambda pair: -len(pair[0]),
    )
    used: set[str] = set()
    for variable, raw in env.items():
        if not variable.startswith(ENV_PREFIX):
            continue
        for prefix, table in prefixes:
            key = variable.removeprefix(prefix).lower()
            if variable.startswith(prefix) and key in _SCHEMA["mailbox"] and key != "name":
                table[key] = convert(variable, raw, _SCHEMA["mailbox"][key][0])
                used.add(variable)
                break
        else:
            if variable.removeprefix(ENV_PREFIX).lower() in _SCHEMA["mailbox"]:
                raise ConfigError(
                    f"environment: {variable} names no mailbox, and the config file has [[mailbox]] "
                    f"tables: use {ENV_PREFIX}<NAME>_{variable.removeprefix(ENV_PREFIX)} "
                    f"(e.g. {prefixes[-1][0]}{variable.removeprefix(ENV_PREFIX)})"
                )
    return used


def apply_credentials(env: Mapping[str, str], tables: Tables) -> None:
    """Each table's password from systemd's `imap-password-<name>`, unless the environment gave one."""
    folder = env.get(VARIABLE, "")
    if not folder:
        return
    if (Path(folder) / CREDENTIAL).exists():
        raise ConfigError(
            f"credential {CREDENTIAL}: names no mailbox, and the config file has [[mailbox]] tables: "
            f"pass {CREDENTIAL}-<name> for each"
        )
    for table in tables:
        name = f"{CREDENTIAL}-{table.get('name', SINGLE_NAME)}"
        if "password" in table:
            continue
        path = Path(folder) / name
        try:
            table["password"] = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise ConfigError(
                f"credential {name}: cannot read ${VARIABLE}/{name} ({path}): {reason}"
            ) from None


def merged_tables(tables: Tables) -> Tables:
    """Each table with the defaults of the keys it does not give, types checked."""
    merged: Tables = []
    for table in tables:
        name = table.get("name", SINGLE_NAME)
        values: dict[str, Any] = {}
        for key, (kind, default) in _SCHEMA["mailbox"].items():
            value = table.get(key, default)
            # bool is an int subclass; a `true` where a number belongs is a mistake.
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ConfigError(f"mailbox[{name}].{key} must be {kind.__name__}, got {value!r}")
            values[key] = value
        merged.append(values)
    return merged
