"""`[security]`: who may change a ticket by mail. Closed by default, checked at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import ConfigError, SecurityConfig, load_config


def _load(tmp_path: Path, security: str) -> SecurityConfig:
    path = tmp_path / "caredesk.toml"
    path.write_text(f"[security]\n{security}\n")
    return load_config(path, environ={}).security


def test_the_default_verifies_nobody_and_warns_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    security = load_config(None, environ={}).security
    assert security.trust == "authentication-results"
    assert security.trusted_authserv_ids == ()
    assert security.authserv_header_count == 1
    warning = security.startup_warning()
    assert warning is not None
    assert "[security] trusted_authserv_ids" in warning and "change nothing" in warning


def test_trusted_ids_and_a_header_count_are_read(tmp_path: Path) -> None:
    security = _load(
        tmp_path, 'trusted_authserv_ids = "MX.Example.co.id, mx2.example.co.id"\nauthserv_header_count = 2'
    )
    assert security.trusted_authserv_ids == ("mx.example.co.id", "mx2.example.co.id")
    assert security.authserv_header_count == 2
    assert security.startup_warning() is None


def test_trust_none_is_accepted_for_a_lab_and_warned_about(tmp_path: Path) -> None:
    security = _load(tmp_path, 'trust = "none"')
    assert not security.checks_senders
    warning = security.startup_warning()
    assert warning is not None and 'trust = "none"' in warning and "lab" in warning


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('trust = "dkim"', r'security.trust must be "authentication-results" or "none", not \'dkim\''),
        (
            'trust = "none"\ntrusted_authserv_ids = "mx.example.co.id"',
            r'security.trust = "none" checks no sender.*remove one of the two',
        ),
        ("authserv_header_count = 0", r"security.authserv_header_count must be from 1 to 10"),
        ("authserv_header_count = 11", r"security.authserv_header_count must be from 1 to 10"),
    ],
)
def test_contradictory_or_impossible_settings_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, text)
