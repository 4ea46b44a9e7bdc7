"""Reports as one self-contained html page: inline CSS, inline SVG charts, no script.

The layouts are jinja2 templates beside this module (`layouts/`), rendered
with autoescaping on: whatever a customer wrote reaches the page as text,
never as markup. The page prints well (A4, landscape for the register), so the
same html is what `daemon.report.pdf` turns into a PDF.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from daemon.report import labels, svg
from daemon.report.form import ComplaintForm
from daemon.report.monthly import MonthlyReport
from daemon.report.review import ReviewReport

LAYOUTS = Path(__file__).resolve().parent / "layouts"

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
)


def _render(layout: str, **context: Any) -> str:
    return _environment.get_template(layout).render(**context)


def monthly_html(report: MonthlyReport, *, organisation: str) -> str:
    charts = {
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
    return _render(
        "monthly.html",
        report=report,
        organisation=organisation,
        title=labels.month_title(report.month.year, report.month.month),
        charts=charts,
    )


def review_html(review: ReviewReport, *, organisation: str) -> str:
    chart = svg.bars(
        [(count.label, count.count) for count in review.by_department if count.count],
        title="Keluhan selesai per departemen / resolved complaints per department",
    )
    return _render("review.html", review=review, organisation=organisation, chart=chart)


def form_html(form: ComplaintForm, *, organisation: str) -> str:
    return _render("form.html", form=form, organisation=organisation)


def style() -> Markup:
    """The stylesheet every layout inlines."""
    return Markup((LAYOUTS / "report.css").read_text(encoding="utf-8"))


_environment.globals["style"] = style
