"""The web view in a real headless Chromium (Debian's, driven by Playwright) against `caredesk web`.

A person logs in, finds a customer by the PIC's phone, opens the complaint,
downloads its attachment, looks at the SLA board and logs out. Every page is
photographed at 1366×768 and at a phone's width into `test-output/screenshots/`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.servers import free_port
from tests.web.desk import PASSWORD, PIC_PHONE_STORED, Desk, build_desk

pytestmark = pytest.mark.integration

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
WIDTHS = {"desktop": (1366, 768), "phone": (390, 844)}


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Debian's chromium is needed (scripts/bootstrap installs it)")
    return found


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    return build_desk(tmp_path, f"sqlite:///{tmp_path}/caredesk.db")


@pytest.fixture
def web(desk: Desk) -> Iterator[str]:
    """`caredesk web` on a free loopback port, as a process of its own; its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daemon",
            "--config",
            str(desk.config_path),
            "web",
            "--listen",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/login", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"caredesk web did not start:\n{output}")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), headless=True)
        try:
            yield browser
        finally:
            browser.close()


def shoot(page: Page, name: str) -> None:
    """Photograph the page at both widths (then back to the desktop's)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})


def test_a_person_finds_a_complaint_opens_it_and_downloads_its_attachment(
    desk: Desk, web: str, browser: Browser, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{web}/tickets")
    assert page.url.endswith("/login")
    shoot(page, "login")
    page.fill("input[name=name]", "care")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{web}/tickets")
    assert page.locator("table.register tbody tr").count() == len(desk.tickets)
    shoot(page, "register")

    page.fill("input[name=q]", PIC_PHONE_STORED)
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    rows = page.locator("table.register tbody tr")
    assert rows.count() == 1
    siti = desk.by_subject("INV-202400001")
    assert siti.reference in rows.first.inner_text()

    page.click(f"text={siti.reference}")
    page.wait_for_url(f"{web}/tickets/{siti.reference}")
    assert "Koran saya tidak datang tiga hari." in page.inner_text("main")
    shoot(page, "complaint")

    with page.expect_download() as waiting:
        page.click("ul.attachments a")
    download = waiting.value
    assert download.suggested_filename == "bukti foto.jpg"
    saved = tmp_path / "saved.jpg"
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"\xff\xd8")

    page.click("nav >> text=SLA board")
    page.wait_for_url(f"{web}/sla")
    assert "SLA board" in page.inner_text("h1")
    shoot(page, "sla")
    page.click("nav >> text=Month")
    page.wait_for_url(f"{web}/month")
    assert page.locator("svg").count() >= 1
    shoot(page, "month")
    page.click("nav >> text=Branch recaps")
    shoot(page, "recaps")

    page.click("text=Log out")
    page.wait_for_url(f"{web}/login")
    page.goto(f"{web}/tickets")
    assert page.url.endswith("/login"), "after logging out the register needs a log-in again"
    context.close()
