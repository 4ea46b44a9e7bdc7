"""The web view's application: routes, log-in, and the headers every answer carries.

`make_app(site)` builds the Starlette application. Every page but the log-in
form needs an account; a ticket outside the account's scope answers 404, as
one that does not exist. Answers carry a Content-Security-Policy that allows
no script at all, `X-Frame-Options: DENY`, `nosniff` and no referrer across
sites. Nothing here writes to the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from daemon.web.access import client_address, csrf_ok
from daemon.web.accounts import check_password
from daemon.web.api import Api
from daemon.web.pages import Pages
from daemon.web.site import Site

SESSION_HOURS = 10
Endpoint = Callable[[Request], Awaitable[Response]]
CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""No script runs, ever; the reports' inline SVG and styles may; nothing is framed."""


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Endpoint) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response


def make_app(site: Site) -> Starlette:
    """The application serving `site`."""
    view = Pages(site)
    json = Api(site)

    async def login_form(request: Request) -> Response:
        if site.config.web.auth == "header":
            return RedirectResponse("/tickets", status_code=303)
        return site.page(request, "login.html", problem="", name="")

    async def login(request: Request) -> Response:
        if site.config.web.auth == "header":
            return RedirectResponse("/tickets", status_code=303)
        form = await request.form()
        name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
        address = client_address(request)
        if not csrf_ok(request, form.get("csrf")):
            return site.page(request, "login.html", 400, problem="The form expired; try again.", name=name)
        wait = site.limiter.wait_seconds(address, name)
        if wait:
            response = site.page(
                request, "login.html", 429, problem=f"Too many failed log-ins; wait {wait} s.", name=name
            )
            response.headers["Retry-After"] = str(wait)
            return response
        account = check_password(site.accounts.current(), name, password)
        if account is None:
            site.limiter.failed(address, name)
            return site.page(request, "login.html", 401, problem="Wrong name or password.", name=name)
        site.limiter.succeeded(name)
        request.session.clear()
        request.session["account"] = account.name
        return RedirectResponse("/tickets", status_code=303)

    async def logout(request: Request) -> Response:
        form = await request.form()
        if csrf_ok(request, form.get("csrf")):
            request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def home(request: Request) -> Response:
        return RedirectResponse("/tickets", status_code=303)

    routes = [
        Route("/", home),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        *view.routes(),
        *json.routes(),
        Mount("/static", StaticFiles(packages=[("daemon.web", "static")]), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=site.session_key,
                session_cookie="caredesk_session",
                max_age=int(timedelta(hours=SESSION_HOURS).total_seconds()),
                same_site="strict",
                https_only=site.config.web.secure_cookies,
            ),
        ],
    )
