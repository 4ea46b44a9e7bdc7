"""The month page: the monthly report's tiles and charts for any month, and the year's trend.

The figures are the monthly report's own (`daemon.report.monthly.build_monthly`,
aggregated in SQL), limited to the departments the account may see; the charts
are the html report's inline SVG. The trend counts the complaints received in
each of the twelve months up to the one shown, one indexed count a month.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import and_, case, func, literal, select
from sqlmodel import Session, col

from daemon.report import svg
from daemon.report.html_out import monthly_charts
from daemon.report.monthly import MonthlyReport, build_monthly
from daemon.report.periods import AsOf, Month
from daemon.store.models import Ticket
from daemon.web.accounts import Scope
from daemon.web.site import Site

TREND_MONTHS = 12


@dataclass(frozen=True)
class MonthView:
    month: Month
    previous: Month
    following: Month | None
    report: MonthlyReport
    charts: dict[str, Markup]
    tiles: list[tuple[str, str]]


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def month_view(site: Site, session: Session, scope: Scope, asked: str) -> MonthView:
    now = site.clock()
    current = Month.of(now.astimezone(site.zone).date())
    try:
        month = Month.parse(asked) if asked else current
    except ValueError:
        month = current
    # An account that may see no department (a GM no department names) asks for the one
    # department that cannot exist (''), never for "all" (an empty tuple).
    departments = () if scope.departments is None else (tuple(sorted(scope.departments)) or ("",))
    report = build_monthly(session, site.rules(), month, AsOf(now, site.config.timezone), departments)
    labels, received, late = _trend(session, site, month, departments)
    compliance = report.compliance
    tiles = [
        ("Complaints received", f"{report.total:,}"),
        ("Still open", f"{len(report.open_tickets):,}"),
        ("Open and overdue", f"{report.overdue:,}"),
        ("First response in time", _share(compliance.first_response_share)),
        ("Resolved in time", _share(compliance.resolution_share)),
    ]
    charts = {
        "trend": svg.lines(
            labels,
            [("Keluhan / complaints", received), ("Tanggapan terlambat / answered late", late)],
            title="Keluhan per bulan / complaints per month",
        ),
        **monthly_charts(report),
    }
    following = month.next() if month.next().first_day <= current.first_day else None
    return MonthView(month, month.previous(), following, report, charts, tiles)


def _trend(
    session: Session, site: Site, month: Month, departments: tuple[str, ...]
) -> tuple[list[str], list[int], list[int]]:
    """The twelve months to `month`: their labels, complaints received, and first responses late."""
    months = [month]
    while len(months) < TREND_MONTHS:
        months.append(months[-1].previous())
    now = literal(site.clock(), type_=Ticket.__table__.c.received_at.type)  # type: ignore[attr-defined]
    late = and_(
        col(Ticket.first_response_due).is_not(None),
        col(Ticket.first_response_due) < func.coalesce(col(Ticket.first_responded_at), now),
    )
    labels, received, answered_late = [], [], []
    for each in reversed(months):
        start, end = each.bounds(site.zone)
        conditions = [col(Ticket.received_at) >= start, col(Ticket.received_at) < end]
        if departments:
            conditions.append(col(Ticket.department).in_(departments))
        counts = select(func.count(), func.count(case((late, 1)))).select_from(Ticket).where(*conditions)
        total, slow = session.execute(counts).one()
        labels.append(f"{each.month:02d}/{each.year % 100:02d}")
        received.append(int(total))
        answered_late.append(int(slow))
    return labels, received, answered_late
