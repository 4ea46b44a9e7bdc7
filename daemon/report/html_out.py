"""Reports as one self-contained html page: inline CSS, inline SVG charts, no script.

The layouts are jinja2 templates beside this module (`layouts/`), rendered
with autoescaping on: whatever a customer wrote reaches the page as text,
never as markup. The page prints well (A4, landscape for the register), so the
same html is what `daemon.report.pdf` turns into a PDF.

A page is for reading, not for a whole month's data: each list (the register,
open tickets, corrective actions, a review's resolved complaints) shows its
first `LIST_LIMIT` rows and then says how many more there are and that the
xlsx and csv have them all. The summary tables are always complete. The page
is rendered a piece at a time (`monthly_html_parts`, `review_html_parts`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from daemon.report import labels, svg
from daemon.report.form import ComplaintForm
from daemon.report.monthly import MonthlyReport
from daemon.report.review import ReviewReport

LAYOUTS = Path(__file__).resolve().parent / "layouts"
LIST_LIMIT = 500
"""The rows of one list a page shows; the xlsx and csv have every row."""
T = TypeVar("T")


def _head(rows: Iterable[T], limit: int) -> list[T]:
    """The first `limit` rows of a list (read no further)."""
    return list(islice(rows, limit))


_environment = Environment(
    loader=FileSystemLoader(str(LAYOUTS)),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(
    when=labels.when,
    day=lambda value: labels.when(value, with_time=False),
    share=labels.share,
    target_status=labels.target_status,
    severity=lambda value: labels.SEVERITIES.get(value, value),
    channel=lambda value: labels.CHANNELS.get(value, value),
    status=lambda value: labels.STATUSES.get(value, value),
    head=_head,
)


def _render(layout: str, **context: Any) -> Iterator[str]:
    return _environment.get_template(layout).generate(limit=LIST_LIMIT, **context)


def monthly_html(report: MonthlyReport, *, organisation: str) -> str:
    return "".join(monthly_html_parts(report, organisation=organisation))


def monthly_charts(report: MonthlyReport) -> dict[str, Markup]:
    """The month's charts as inline SVG: per week, per department, SLA compliance per department."""
    return {
        "weeks": svg.columns(
            [(count.label, count.count) for count in report.by_week],
            title="Keluhan per minggu / complaints per week",
        ),
        "departments": svg.bars(
            [(count.label, count.count) for count in report.by_department],
            title="Keluhan per departemen / complaints per department",
        ),
        "compliance": svg.paired_shares(
            [
                (item.label, item.first_response_share, item.resolution_share)
                for item in report.compliance_by_department
            ],
            title="Kepatuhan SLA per departemen / SLA compliance per department",
            series=("Tanggapan ≤ 1 hari kerja / response", "Selesai tepat waktu / resolved"),
        ),
    }


def monthly_html_parts(report: MonthlyReport, *, organisation: str) -> Iterator[str]:
    charts = monthly_charts(report)
    return _render(
        "monthly.html",
        report=report,
        organisation=organisation,
        title=labels.month_title(report.month.year, report.month.month),
        charts=charts,
    )


def review_html(review: ReviewReport, *, organisation: str) -> str:
    return "".join(review_html_parts(review, organisation=organisation))


def review_html_parts(review: ReviewReport, *, organisation: str) -> Iterator[str]:
    chart = svg.bars(
        [(count.label, count.count) for count in review.by_department if count.count],
        title="Keluhan selesai per departemen / resolved complaints per department",
    )
    return _render("review.html", review=review, organisation=organisation, chart=chart)


def form_html(form: ComplaintForm, *, organisation: str) -> str:
    return "".join(_render("form.html", form=form, organisation=organisation))


def style() -> Markup:
    """The stylesheet every layout inlines."""
    return Markup((LAYOUTS / "report.css").read_text(encoding="utf-8"))


_environment.globals["style"] = style
