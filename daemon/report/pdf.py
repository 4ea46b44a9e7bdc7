"""PDF of an html report: the very same page, printed by headless Chromium.

Printing the html a person can also open in a browser keeps one layout for
screen, archive and paper. Chromium comes from the system (Debian's
`chromium` package; `scripts/bootstrap` installs it for the tests); without
it, `PdfUnavailable` says what to install. The page has no script and no
external asset (customer text reaches it escaped), and Chromium runs with a
throw-away profile, no background network services, and a time limit after
which its whole process group is killed. (Chromium's switch to turn scripting
off also stops it printing, so it is not used.)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_SECONDS = 60.0


class PdfUnavailable(Exception):
    """No browser to print with, or it failed; the message says what to do."""


def find_browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: str, *, timeout: float = TIMEOUT_SECONDS) -> bytes:
    browser = find_browser()
    if browser is None:
        raise PdfUnavailable(
            "PDF needs Chromium: install it (Debian: apt-get install chromium), or use --format html"
        )
    with tempfile.TemporaryDirectory(prefix="caredesk-pdf-") as folder:
        page = Path(folder) / "page.html"
        page.write_text(html, encoding="utf-8")
        output = Path(folder) / "page.pdf"
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            f"--user-data-dir={Path(folder) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={output}",
            page.as_uri(),
        ]
        _run(command, timeout)
        if not output.is_file() or output.stat().st_size == 0:
            raise PdfUnavailable(f"{Path(browser).name} did not write the PDF")
        return output.read_bytes()


def _run(command: list[str], timeout: float) -> None:
    # Its own session, so that on a timeout the browser's helper processes
    # (zygote, renderer, GPU) are killed together with it.
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise PdfUnavailable(f"{Path(command[0]).name} took longer than {timeout:.0f} s to print") from None
    if process.returncode != 0:
        detail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise PdfUnavailable(f"{Path(command[0]).name} failed ({process.returncode}): {detail[0]}")
