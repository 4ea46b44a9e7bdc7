"""The pages: the register, a complaint, the SLA board, the month, branch recaps, the admin lists.

Each handler finds who is asking (`Site` + `daemon.web.access`), reads what
that account may see, and renders a layout. A ticket outside the account's
departments answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from daemon.store.models import InboundMessage, OutboundMessage, RecapFile, Ticket
from daemon.store.vocabulary import InboundState, OutboundState
from daemon.tickets.views import ticket_detail
from daemon.web import downloads, exports, register
from daemon.web.access import browser_account
from daemon.web.accounts import Account
from daemon.web.board import sla_board
from daemon.web.month import month_view
from daemon.web.site import Site
from daemon.web.thread import thread

Handler = Callable[[Request], Response]
ADMIN_LIST_SIZE = 200
RECAP_COLUMNS = ("branch", "filename", "received_at", "state", "reason", "rows_imported", "rows_refused")
"""What the recaps page shows of each file (never the file's bytes)."""


class Pages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/tickets", self._page(self.tickets)),
            Route("/tickets.csv", self._page(self.tickets_csv)),
            Route("/tickets.xlsx", self._page(self.tickets_xlsx)),
            Route("/tickets/{reference}", self._page(self.complaint)),
            Route("/tickets/{reference}/mail/{key}/source", self._page(self.source)),
            Route("/tickets/{reference}/attachments/{number:int}", self._page(self.attachment)),
            Route("/tickets/{reference}/form.pdf", self._page(self.form_pdf)),
            Route("/sla", self._page(self.board)),
            Route("/month", self._page(self.month)),
            Route("/recaps", self._page(self.recaps)),
            Route("/admin/quarantine", self._page(self.quarantine, admin=True)),
            Route("/admin/outbox", self._page(self.outbox, admin=True)),
        ]

    def _page(self, handler: Callable[[Request, Account], Response], *, admin: bool = False) -> Handler:
        @functools.wraps(handler)
        def run(request: Request) -> Response:
            account = browser_account(request, self.site.config.web, self.site.accounts.current())
            if account is None:
                if self.site.config.web.auth == "header":
                    raise HTTPException(403, "no account for this user")
                return RedirectResponse("/login", status_code=303)
            if admin and not account.is_admin:
                raise HTTPException(404)
            return handler(request, account)

        return run

    # -- the register --------------------------------------------------------

    def _lookup(self, request: Request, account: Account) -> register.Lookup:
        query = register.Query.from_params(request.query_params)
        return register.Lookup(query, self.site.scope(account), self.site.clock(), self.site.zone)

    def tickets(self, request: Request, account: Account) -> Response:
        lookup = self._lookup(request, account)
        with self.site.session() as session:
            page = register.one_page(session, lookup)
            menus = register.choices(session, lookup.scope)
            rows = [exports.row(ticket, lookup.now) for ticket in page.tickets]
        return self.site.page(
            request,
            "register.html",
            account=account,
            query=lookup.query,
            page=page,
            rows=rows,
            menus=menus,
            statuses=register.STATUS_CHOICES,
            sorts=tuple(register.SORTS),
        )

    def tickets_csv(self, request: Request, account: Account) -> Response:
        return exports.csv_response(self.site, self._lookup(request, account))

    def tickets_xlsx(self, request: Request, account: Account) -> Response:
        return exports.xlsx_response(self.site, self._lookup(request, account))

    # -- a complaint ---------------------------------------------------------

    def _ticket(self, session: Any, request: Request, account: Account) -> Ticket:
        reference = request.path_params["reference"]
        statement = select(Ticket).where(col(Ticket.reference) == reference)
        ticket = session.execute(statement).scalar_one_or_none()
        if ticket is None or not self.site.scope(account).allows(ticket.department):
            raise HTTPException(404, f"no ticket {reference}")
        return ticket

    def complaint(self, request: Request, account: Account) -> Response:
        with self.site.session() as session:
            ticket = self._ticket(session, request, account)
            detail = ticket_detail(session, ticket, self.site.clock())
            mails = thread(session, ticket)
        return self.site.page(
            request,
            "complaint.html",
            account=account,
            ticket=detail,
            mails=mails,
            care_address=self.site.config.address,
        )

    def source(self, request: Request, account: Account) -> Response:
        with self.site.session() as session:
            ticket = self._ticket(session, request, account)
            return downloads.raw_source(session, ticket, request.path_params["key"])

    def attachment(self, request: Request, account: Account) -> Response:
        with self.site.session() as session:
            ticket = self._ticket(session, request, account)
            return downloads.attachment(session, ticket, request.path_params["number"])

    def form_pdf(self, request: Request, account: Account) -> Response:
        with self.site.session() as session:
            ticket = self._ticket(session, request, account)
            return downloads.form_pdf(self.site, session, ticket)

    # -- the board, the month, the recaps ------------------------------------

    def board(self, request: Request, account: Account) -> Response:
        with self.site.session() as session:
            board = sla_board(session, self.site.scope(account), self.site.clock(), self.site.zone)
        return self.site.page(request, "sla.html", account=account, board=board)

    def month(self, request: Request, account: Account) -> Response:
        with self.site.session() as session:
            view = month_view(self.site, session, self.site.scope(account), request.query_params.get("m", ""))
            return self.site.page(request, "month.html", account=account, view=view)

    def recaps(self, request: Request, account: Account) -> Response:
        month = request.query_params.get("m", "").strip()
        with self.site.session() as session:
            months = [
                str(m)
                for m in session.execute(
                    select(col(RecapFile.month)).distinct().order_by(col(RecapFile.month).desc())
                ).scalars()
                if m
            ]
            month = month if month in months else (months[0] if months else "")
            shown = [col(getattr(RecapFile, name)) for name in RECAP_COLUMNS]
            files = list(
                session.execute(
                    select(*shown)
                    .where(col(RecapFile.month) == month)
                    .order_by(col(RecapFile.branch), col(RecapFile.received_at))
                ).all()
            )
            branches = sorted(self.site.rules().branches)
        sent = {file.branch for file in files}
        return self.site.page(
            request,
            "recaps.html",
            account=account,
            month=month,
            months=months,
            files=files,
            missing=[branch for branch in branches if branch not in sent],
        )

    # -- admin ---------------------------------------------------------------

    def quarantine(self, request: Request, account: Account) -> Response:
        with self.site.session() as session:
            held = col(InboundMessage.state) == InboundState.QUARANTINED
            total = session.execute(select(func.count()).select_from(InboundMessage).where(held)).scalar_one()
            rows = list(
                session.execute(
                    select(InboundMessage)
                    .where(held)
                    .order_by(col(InboundMessage.id).desc())
                    .limit(ADMIN_LIST_SIZE)
                ).scalars()
            )
        return self.site.page(request, "quarantine.html", account=account, rows=rows, total=total)

    def outbox(self, request: Request, account: Account) -> Response:
        troubled = col(OutboundMessage.state).in_((OutboundState.FAILED, OutboundState.RETRY))
        with self.site.session() as session:
            counted = select(func.count()).select_from(OutboundMessage).where(troubled)
            total = session.execute(counted).scalar_one()
            rows = list(
                session.execute(
                    select(OutboundMessage)
                    .where(troubled)
                    .order_by(col(OutboundMessage.id).desc())
                    .limit(ADMIN_LIST_SIZE)
                ).scalars()
            )
        return self.site.page(request, "outbox.html", account=account, rows=rows, total=total)
