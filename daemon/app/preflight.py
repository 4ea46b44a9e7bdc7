"""Start-up checks of what the daemon will need later: every mail template renders.

A template that is missing or broken would otherwise show only when the first
mail needs it, as a failed outgoing row behind a ticket that looks handled. The
daemon (`run`, `run --once`, `ingest`) refuses to start instead, with a
configuration error naming the file and line, before anything is fetched or
migrated.

Each template is rendered once in the same sandbox the mailer uses, with a
stand-in for every variable it reads: the check proves that the file exists,
compiles, defines the `subject` and `body` blocks and can run; it cannot prove
that a hand-edited template reads only variables the daemon passes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta

from daemon import shipped
from daemon.config import ConfigError
from daemon.outbox.compose import Renderer, TemplateFailure

log = logging.getLogger("caredesk.templates")

INCLUDED_TEMPLATES = ("commands_help.txt",)
"""Parts other templates include (`{% include %}`): no subject or body of their own, never sent alone."""


def required_templates() -> tuple[str, ...]:
    """Every template the daemon sends mail with: the names of the shipped ones, the included parts not."""
    names = (path.name for path in shipped.templates().glob("*.txt"))
    return tuple(sorted(name for name in names if name not in INCLUDED_TEMPLATES))


def check_templates(folder: Path) -> None:
    """Raise ConfigError naming the first missing or broken template in `folder`."""
    if not folder.is_dir():
        raise ConfigError(f"templates: {folder} is not a folder")
    renderer = Renderer(folder)
    for name in INCLUDED_TEMPLATES:
        _check_included(folder, name, renderer)
    for name in required_templates():
        path = _site_or_shipped(folder, name)
        try:
            source = path.read_text(encoding="utf-8")
            names = meta.find_undeclared_variables(renderer.environment.parse(source))
        except UnicodeDecodeError as error:
            raise ConfigError(f"{path}: not UTF-8 text: {error}") from None
        except TemplateSyntaxError as error:
            raise ConfigError(f"{path}:{error.lineno}: {error.message}") from None
        for language in ("id", "en"):
            context: dict[str, Any] = {variable: Sample(variable) for variable in names}
            context["language"] = language
            try:
                renderer.render(name, context)
            except TemplateFailure as error:
                raise ConfigError(f"{path}:{_line_of(error)}: {error}") from None


def _site_or_shipped(folder: Path, name: str) -> Path:
    """The site's template `name`, or the shipped one when the site folder has none (said once)."""
    path = folder / name
    if path.is_file():
        return path
    log.info("templates: %s is not in %s; the shipped one is used", name, folder)
    return shipped.templates() / name


def _check_included(folder: Path, name: str, renderer: Renderer) -> None:
    """An included part is UTF-8 and compiles (it is rendered with the mail that includes it)."""
    path = _site_or_shipped(folder, name)
    try:
        renderer.environment.parse(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text: {error}") from None
    except TemplateSyntaxError as error:
        raise ConfigError(f"{path}:{error.lineno}: {error.message}") from None


def _line_of(error: BaseException) -> int | str:
    """The template line of a rendering error, when jinja2 recorded one."""
    cause = error.__cause__
    line = getattr(cause, "lineno", None)
    return line if isinstance(line, int) else "?"


class Sample:
    """A stand-in for any value a template reads: text, a record, a list of two, a number."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Sample:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        return Sample(f"{self._name}.{attribute}")

    def __getitem__(self, key: object) -> Sample:
        return Sample(f"{self._name}[{key}]")

    def __call__(self, *args: object, **kwargs: object) -> Sample:
        return Sample(f"{self._name}()")

    def __iter__(self) -> Iterator[Sample]:
        # Two items, so that loops run and `for name, count in pairs` unpacks.
        return iter([Sample(f"{self._name}[0]"), Sample(f"{self._name}[1]")])

    def __len__(self) -> int:
        return 2

    def __int__(self) -> int:
        return 1

    def __float__(self) -> float:
        return 1.0

    def __str__(self) -> str:
        return f"<{self._name}>"

    def __html__(self) -> str:
        return str(self)

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return False
