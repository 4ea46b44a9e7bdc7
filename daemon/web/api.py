"""The JSON API under `/api/v1`: the same views as the pages, for scripts and dashboards.

`tickets` (the register, with the page's filters and `page`), `tickets/{ref}`
(the fields of `caredesk tickets show --json`), `sla` (the board) and
`reports/monthly/{month}` (the month's figures). Each account authenticates
with its token (`Authorization: Bearer …`, `caredesk web token NAME`) and sees
what its role sees in the pages; a ticket outside it is 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from daemon.store.models import Ticket
from daemon.tickets.views import ticket_detail, ticket_summary
from daemon.web import register
from daemon.web.access import api_account
from daemon.web.accounts import Account
from daemon.web.board import sla_board
from daemon.web.month import month_view
from daemon.web.site import Site


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(_plain(content), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _error(status: int, message: str) -> Response:
    return _Json({"error": message}, status_code=status)


class Api:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/v1/tickets", self._guard(self.tickets)),
            Route("/api/v1/tickets/{reference}", self._guard(self.ticket)),
            Route("/api/v1/sla", self._guard(self.sla)),
            Route("/api/v1/reports/monthly/{month}", self._guard(self.monthly)),
        ]

    def _guard(self, handler: Callable[[Request, Account], Response]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            account = api_account(request, self.site.accounts.current())
            if account is None:
                response = _error(401, "an account's API token is needed: Authorization: Bearer <token>")
                response.headers["WWW-Authenticate"] = 'Bearer realm="caredesk"'
                return response
            return handler(request, account)

        return run

    def tickets(self, request: Request, account: Account) -> Response:
        query = register.Query.from_params(request.query_params)
        if query.problems:
            return _error(400, "; ".join(query.problems))
        lookup = register.Lookup(query, self.site.scope(account), self.site.clock(), self.site.zone)
        with self.site.session() as session:
            page = register.one_page(session, lookup)
            items = [ticket_summary(ticket, lookup.now) for ticket in page.tickets]
        body = {"total": page.total, "total_capped": page.capped, "page": page.page, "pages": page.pages}
        return _Json(body | {"tickets": items})

    def ticket(self, request: Request, account: Account) -> Response:
        reference = request.path_params["reference"]
        with self.site.session() as session:
            statement = select(Ticket).where(col(Ticket.reference) == reference)
            ticket = session.execute(statement).scalar_one_or_none()
            if ticket is None or not self.site.scope(account).allows(ticket.department):
                return _error(404, f"no ticket {reference}")
            return _Json(ticket_detail(session, ticket, self.site.clock()))

    def sla(self, request: Request, account: Account) -> Response:
        with self.site.session() as session:
            board = sla_board(session, self.site.scope(account), self.site.clock(), self.site.zone)
        return _Json(board.as_dict())

    def monthly(self, request: Request, account: Account) -> Response:
        with self.site.session() as session:
            view = month_view(self.site, session, self.site.scope(account), request.path_params["month"])
            if str(view.month) != request.path_params["month"]:
                return _error(404, "a month looks like 2026-10 and is not in the future")
            report = view.report
            body = {
                "month": str(view.month),
                "departments": list(report.departments),
                "total": report.total,
                "open": len(report.open_tickets),
                "overdue": report.overdue,
                "first_response_share": report.compliance.first_response_share,
                "resolution_share": report.compliance.resolution_share,
                "by_department": {c.key: c.count for c in report.by_department},
                "by_product": {c.key: c.count for c in report.by_product},
                "by_severity": {c.key: c.count for c in report.by_severity},
                "by_channel": {c.key: c.count for c in report.by_channel},
                "by_week": {c.key: c.count for c in report.by_week},
            }
        return _Json(body)
