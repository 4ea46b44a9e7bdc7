"""The web view through Starlette's test client: who sees what, escaping, search, filters, downloads, API."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from daemon.store import db
from daemon.web import register
from daemon.web.app import make_app
from daemon.web.site import Site
from tests.web.desk import HOSTILE_SUBJECT, PASSWORD, PIC_PHONE_STORED, TOKENS, Desk, build_desk, site_of

pytestmark = pytest.mark.integration


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Desk:
    return build_desk(tmp_path, database_url)


@pytest.fixture
def client(desk: Desk) -> Iterator[TestClient]:
    with site_of(desk) as site, TestClient(make_app(site), base_url="https://testserver") as client:
        yield client


def login(client: TestClient, name: str, password: str = PASSWORD) -> int:
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    response = client.post(
        "/login", data={"name": name, "password": password, "csrf": csrf.group(1)}, follow_redirects=False
    )
    return response.status_code


def references(html: str) -> set[str]:
    return set(re.findall(r'href="/tickets/(CC-\d{4}-\d{6})"', html))


def test_every_page_needs_a_login_and_the_session_cookie_is_locked_down(client: TestClient) -> None:
    for path in ("/tickets", "/sla", "/month", "/recaps", "/tickets/CC-2026-000001"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/login"
    assert login(client, "care") == 303
    cookie = next(value for name, value in client.get("/tickets").request.headers.items() if name == "cookie")
    assert "caredesk_session=" in cookie
    form = client.get("/login")
    assert form.headers["x-frame-options"] == "DENY"
    assert "script-src" not in form.headers["content-security-policy"]
    assert "default-src 'none'" in form.headers["content-security-policy"]


def test_the_session_cookie_is_httponly_secure_and_samesite_strict(desk: Desk) -> None:
    with site_of(desk) as site, TestClient(make_app(site), base_url="https://testserver") as client:
        form = client.get("/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        response = client.post(
            "/login",
            data={"name": "care", "password": PASSWORD, "csrf": csrf.group(1)},
            follow_redirects=False,
        )
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "secure" in header and "samesite=strict" in header


def test_a_wrong_password_fails_and_failed_logins_are_limited(client: TestClient) -> None:
    assert login(client, "care", "wrong password!") == 401
    for _ in range(4):
        assert login(client, "care", "wrong password!") == 401
    assert login(client, "care") == 429, "the sixth try is refused, even with the right password"
    assert login(client, "nobody-known", "x" * 12) == 429, "the same client address is limited too"


def test_care_sees_every_complaint_and_a_department_only_its_own(desk: Desk, client: TestClient) -> None:
    everyone = {ticket.reference for ticket in desk.tickets}
    assert login(client, "care") == 303
    assert references(client.get("/tickets").text) == everyone
    client.post("/logout", data={"csrf": "x"})

    with site_of(desk) as site, TestClient(make_app(site), base_url="https://testserver") as other:
        assert login(other, "dept") == 303
        department = next(
            ticket.department for ticket in desk.tickets if ticket.reference == "CC-2026-000001"
        )
        own = {ticket.reference for ticket in desk.tickets if ticket.department == department}
        assert references(other.get("/tickets").text) == own
        hidden = next(ticket for ticket in desk.tickets if ticket.department != department)
        assert other.get(f"/tickets/{hidden.reference}").status_code == 404
        assert other.get(f"/tickets/{hidden.reference}/mail/in-1/source").status_code == 404
        assert other.get("/admin/quarantine").status_code == 404, "admin pages do not exist for others"


def test_a_gm_sees_the_departments_they_manage(desk: Desk) -> None:
    with site_of(desk) as site, TestClient(make_app(site), base_url="https://testserver") as client:
        assert login(client, "gm") == 303
        managed = {
            ticket.reference
            for ticket in desk.tickets
            if site.rules().general_manager_for(ticket.department)
            == site.rules().general_manager_for("koran")
        }
        assert references(client.get("/tickets").text) == managed
    with site_of(desk) as site, TestClient(make_app(site), base_url="https://testserver") as client:
        assert login(client, "nobody") == 303
        assert references(client.get("/tickets?status=all").text) == set()
        assert "No ticket matches" in client.get("/tickets").text


def test_what_a_customer_wrote_is_escaped(desk: Desk, client: TestClient) -> None:
    assert login(client, "care") == 303
    hostile = desk.by_subject("alert(")
    for page in (client.get("/tickets").text, client.get(f"/tickets/{hostile.reference}").text):
        assert "<script>" not in page
        assert "&lt;script&gt;" in page
    assert HOSTILE_SUBJECT.startswith("<script>")


def test_search_finds_a_customer_by_pic_phone_and_the_filters_narrow(desk: Desk, client: TestClient) -> None:
    assert login(client, "care") == 303
    siti = desk.by_subject("INV-202400001")
    assert siti.pic_phone == PIC_PHONE_STORED
    assert references(client.get("/tickets", params={"q": PIC_PHONE_STORED}).text) == {siti.reference}
    assert references(client.get("/tickets", params={"q": "SITI@EXAMPLE"}).text) == {siti.reference}
    assert references(client.get("/tickets", params={"q": "100%_"}).text) == set(), "LIKE signs are literal"
    department = siti.department
    expected = {t.reference for t in desk.tickets if t.department == department}
    assert references(client.get("/tickets", params={"department": department}).text) == expected
    assert references(client.get("/tickets", params={"status": "closed"}).text) == set()
    assert references(client.get("/tickets", params={"month": "1999-01"}).text) == set()
    bad = client.get("/tickets", params={"status": "everything", "month": "soon"})
    assert "status &#39;everything&#39; is not one of" in bad.text
    assert "month &#39;soon&#39; is not YYYY-MM" in bad.text


def test_the_view_exports_as_csv_and_xlsx(desk: Desk, client: TestClient) -> None:
    assert login(client, "care") == 303
    text = client.get("/tickets.csv", params={"q": "alert("}).text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "Reference" and len(rows) == 2
    assert rows[1][0] == desk.by_subject("alert(").reference
    response = client.get("/tickets.xlsx")
    assert "attachment" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    assert sheet is not None
    assert len(list(sheet.iter_rows(values_only=True))) == 1 + len(desk.tickets)


def test_a_complaint_shows_the_form_the_thread_and_its_attachment(desk: Desk, client: TestClient) -> None:
    assert login(client, "care") == 303
    siti = desk.by_subject("INV-202400001")
    page = client.get(f"/tickets/{siti.reference}").text
    assert "Koran saya tidak datang tiga hari." in page
    assert PIC_PHONE_STORED in page
    assert "#status in-progress" in page, "the copy-reply-command helper"
    assert f"/tickets/{siti.reference}/form.pdf" in page
    source = client.get(f"/tickets/{siti.reference}/mail/in-1/source")
    assert source.headers["content-type"].startswith("text/plain")
    assert "Message-ID:" in source.text
    download = client.get(f"/tickets/{siti.reference}/attachments/1")
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-disposition"].startswith('attachment; filename="bukti foto.jpg"')
    assert download.content.startswith(b"\xff\xd8")
    assert client.get(f"/tickets/{siti.reference}/attachments/9").status_code == 404


def test_the_board_month_recaps_and_admin_pages_render(desk: Desk, client: TestClient) -> None:
    assert login(client, "admin") == 303
    assert "SLA board" in client.get("/sla").text
    month = client.get("/month").text
    assert "<svg" in month and "Complaints received" in month
    assert client.get("/recaps").status_code == 200
    assert "Quarantined mail" in client.get("/admin/quarantine").text
    assert client.get("/admin/outbox").status_code == 200


def test_the_api_needs_a_token_and_gives_the_same_fields_as_the_cli(desk: Desk, client: TestClient) -> None:
    assert client.get("/api/v1/tickets").status_code == 401
    assert client.get("/api/v1/tickets", headers={"Authorization": "Bearer wrong"}).status_code == 401
    auth = {"Authorization": f"Bearer {TOKENS['care']}"}
    listing = client.get("/api/v1/tickets", headers=auth).json()
    assert listing["total"] == 3
    reference = listing["tickets"][0]["reference"]
    detail = client.get(f"/api/v1/tickets/{reference}", headers=auth).json()
    for field in ("history", "messages", "attachments", "first_response_due", "pic_phone"):
        assert field in detail
    assert client.get("/api/v1/tickets/CC-1999-000001", headers=auth).status_code == 404
    assert "departments" in client.get("/api/v1/sla", headers=auth).json()
    month = str(desk.tickets[0].received_at)[:7]
    assert client.get(f"/api/v1/reports/monthly/{month}", headers=auth).json()["total"] >= 1


def test_behind_a_single_sign_on_proxy_only_the_proxys_header_is_believed(desk: Desk) -> None:
    web = dataclasses.replace(desk.config.web, auth="header", trusted_proxies=("127.0.0.1",))
    config = dataclasses.replace(desk.config, web=web)
    engine = db.open_read_only(config.database_url)
    try:
        app = make_app(Site(config, engine))
        with TestClient(app, base_url="https://testserver", client=("127.0.0.1", 50000)) as proxied:
            assert references(proxied.get("/tickets", headers={"X-Remote-User": "dept"}).text) == {
                t.reference for t in desk.tickets if t.department == desk.tickets[0].department
            }
            assert proxied.get("/tickets", headers={"X-Remote-User": "stranger"}).status_code == 403
            assert proxied.get("/tickets").status_code == 403
        with TestClient(app, base_url="https://testserver", client=("10.9.8.7", 50000)) as direct:
            assert direct.get("/tickets", headers={"X-Remote-User": "admin"}).status_code == 403
    finally:
        engine.dispose()


def test_the_complaint_form_downloads_as_pdf(tmp_path: Path) -> None:
    desk = build_desk(tmp_path, f"sqlite:///{tmp_path}/caredesk.db")
    with site_of(desk) as site, TestClient(make_app(site), base_url="https://testserver") as client:
        assert login(client, "care") == 303
        reference = desk.tickets[0].reference
        response = client.get(f"/tickets/{reference}/form.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith(f'attachment; filename="{reference}.pdf"')
    assert response.content.startswith(b"%PDF")


def test_a_count_past_the_cap_says_more_than(
    desk: Desk, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(register, "COUNT_CAP", 2)
    monkeypatch.setattr(register, "PAGE_SIZE", 2)
    assert login(client, "care") == 303
    page = client.get("/tickets", params={"status": "all"}).text
    assert "Showing 1–2 of more than 2 tickets" in page
    assert "next ›" in page
    auth = {"Authorization": f"Bearer {TOKENS['care']}"}
    listing = client.get("/api/v1/tickets", headers=auth, params={"status": "all"}).json()
    assert listing["total"] == 2 and listing["total_capped"] is True
    exact = client.get("/api/v1/tickets", headers=auth, params={"q": "alert("}).json()
    assert exact["total"] == 1 and exact["total_capped"] is False
