"""Reading the configuration: the file, `CAREDESK_*` overrides, defaults, type checks."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from daemon import clock
from daemon.config import mailboxes
from daemon.config.build import build
from daemon.config.credentials import apply_credentials
from daemon.config.schema import _FALSE, _SCHEMA, _SECRET_KEYS, _TRUE, SITE_CONFIG, Config, ConfigError


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the config file (if any), apply environment overrides, validate everything."""
    env = os.environ if environ is None else environ
    if path is None and env.get("CAREDESK_CONFIG"):
        path = env["CAREDESK_CONFIG"]
    if path is None and (Path.cwd() / SITE_CONFIG).is_file():
        # The folder `caredesk init` made: `cd mysite && caredesk run` uses its config.
        path = Path.cwd() / SITE_CONFIG
    values: dict[str, dict[str, Any]] = {section: {} for section in _SCHEMA}
    tables: mailboxes.Tables | None = None
    if path is not None:
        file_path = Path(path)
        base = file_path.resolve().parent
        source = str(file_path)
        tables = _read_file(file_path, values)
    else:
        base = Path.cwd()
        source = "embedded defaults"
    # `[[mailbox]]` tables take their variables by name; the plain ones name no mailbox.
    used = mailboxes.apply_environment(env, tables, _convert) if tables is not None else set()
    _apply_environment(env, values, used)
    # systemd's LoadCredential= files: after the environment, before the *_file keys.
    if tables is not None:
        mailboxes.apply_credentials(env, tables)
    apply_credentials(env, values)
    merged = _merge_defaults(values)
    return build(merged, base, source, mailboxes.merged_tables(tables) if tables is not None else None)


def _read_file(path: Path, values: dict[str, dict[str, Any]]) -> mailboxes.Tables | None:
    """Fill `values` from the file; the `[[mailbox]]` tables, or None when it has none."""
    try:
        raw = path.read_bytes()
        document = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        both = mailboxes.both_forms(path, raw.decode("utf-8", errors="replace"))
        raise ConfigError(both or f"{path}: not valid TOML: {error}") from None
    tables = None
    for key, value in document.items():
        if key == "mailbox" and isinstance(value, list):
            tables = mailboxes.read_tables(path, value)
        elif isinstance(value, dict):
            if key not in _SCHEMA or key == "":
                raise ConfigError(f"{path}: unknown section [{key}]{_suggest(key, _SCHEMA)}")
            for sub_key, sub_value in value.items():
                _check_key(path, key, sub_key)
                if (key, sub_key) in _SECRET_KEYS:
                    raise ConfigError(
                        f"{path}: [{key}] {sub_key} must not be written in the config file; "
                        f"use {key}.{sub_key}_file or CAREDESK_{key.upper()}_{sub_key.upper()}"
                    )
                values[key][sub_key] = sub_value
        else:
            _check_key(path, "", key)
            if ("", key) in _SECRET_KEYS:
                raise ConfigError(
                    f"{path}: {key} must not be written in the config file; "
                    "use secret_file or CAREDESK_SECRET"
                )
            values[""][key] = value
    return tables


def _check_key(path: Path | str, section: str, key: str) -> None:
    if key not in _SCHEMA[section]:
        where = f"[{section}] " if section else ""
        hint = _suggest(key, _SCHEMA[section])
        raise ConfigError(f"{path}: unknown key {where}{key!r}{hint}")


def _suggest(word: str, choices: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(word, [c for c in choices if c], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _env_names() -> dict[str, tuple[str, str]]:
    names = {}
    for section, keys in _SCHEMA.items():
        for key in keys:
            prefix = f"CAREDESK_{section.upper()}_" if section else "CAREDESK_"
            names[prefix + key.upper()] = (section, key)
    return names


def _apply_environment(
    env: Mapping[str, str], values: dict[str, dict[str, Any]], used: Collection[str] = ()
) -> None:
    """The `CAREDESK_*` overrides, but those in `used` (a `[[mailbox]]` table took them)."""
    names = _env_names()
    for name, raw in env.items():
        # The pinned test clock's variables belong to daemon.clock, not to the configuration.
        if not name.startswith("CAREDESK_") or name == "CAREDESK_CONFIG" or name in clock.VARIABLES:
            continue
        if name in used:
            continue
        if name not in names:
            hint = difflib.get_close_matches(name, list(names), n=1)
            extra = f" (did you mean {hint[0]}?)" if hint else ""
            raise ConfigError(f"environment: unknown variable {name}{extra}")
        section, key = names[name]
        values[section][key] = _convert(name, raw, _SCHEMA[section][key][0])


def _convert(name: str, raw: str, kind: type) -> Any:
    """The value of the variable `name` as the schema's `kind`."""
    if kind is bool:
        if raw.strip().lower() not in _TRUE | _FALSE:
            raise ConfigError(f"environment: {name} must be true or false, got {raw!r}")
        return raw.strip().lower() in _TRUE
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"environment: {name} must be a whole number, got {raw!r}") from None
    return raw


def _merge_defaults(values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for section, keys in _SCHEMA.items():
        merged[section] = {}
        for key, (kind, default) in keys.items():
            value = values[section].get(key, default)
            label = f"{section}.{key}" if section else key
            # bool is an int subclass; a `true` where a number belongs is a mistake.
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ConfigError(f"{label} must be {kind.__name__}, got {value!r}")
            merged[section][key] = value
    return merged
