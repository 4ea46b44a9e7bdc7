"""Where the files shipped with caredesk are: the mail templates and the example rules.

A wheel carries them inside the package (`daemon/_shipped/`, copied there by the
build hook in setup.py); a source checkout or an editable install has them at the
top of the repository, which stays their single source. Nothing else in the code
may guess where the checkout is.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_INSTALLED = _PACKAGE / "_shipped"
_CHECKOUT = _PACKAGE.parent


def _root() -> Path:
    return _INSTALLED if _INSTALLED.is_dir() else _CHECKOUT


def templates() -> Path:
    """The folder of the shipped mail templates (used when the config names none)."""
    return _root() / "templates"


def example_rules() -> Path:
    """The shipped, commented example `rules.yaml` that `caredesk init` copies."""
    return _root() / "rules.yaml"


def site_config() -> Path:
    """The commented `caredesk.toml` that `caredesk init` writes (package data)."""
    return _PACKAGE / "site.toml"
