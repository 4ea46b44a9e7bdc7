"""Build hook: ship the top-level `templates/` and `rules.yaml` inside the wheel.

The operator-facing files stay at the top of the repository, where admins and the
design expect them, and stay their single source. A wheel must carry them all the
same, because an installed caredesk has no checkout beside it: `build_py` copies
them into the built package as `daemon/_shipped/`, where `daemon.shipped` finds
them. An editable install (`pip install -e .`) reads them from the checkout.
Everything else about the package is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = "_shipped"


class BuildWithShippedFiles(build_py):
    """The standard build, plus the templates and the example rules in `daemon/_shipped/`."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "daemon" / SHIPPED
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(HERE / "templates", target / "templates")
        shutil.copy2(HERE / "rules.yaml", target / "rules.yaml")


setup(cmdclass={"build_py": BuildWithShippedFiles})
