"""The management-review summary as plain text (the terminal) and as JSON (scripts)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from daemon.report import labels
from daemon.report.monthly import Compliance, Count
from daemon.report.review import ReviewReport


def review_json(review: ReviewReport) -> dict[str, Any]:
    def counts(items: tuple[Count, ...]) -> list[dict[str, Any]]:
        return [dataclasses.asdict(item) for item in items]

    return {
        "quarter": str(review.quarter),
        "generated_at": review.generated_at.isoformat(),
        "timezone": review.timezone,
        "resolved": review.total,
        "received": review.received,
        "still_open": review.still_open,
        "working_days": {
            "mean": review.mean_working_days,
            "median": review.median_working_days,
            "longest": review.longest_working_days,
        },
        "compliance": _compliance(review.compliance),
        "by_department": counts(review.by_department),
        "by_product": counts(review.by_product),
        "by_severity": counts(review.by_severity),
        "by_category": counts(review.by_category),
        "by_channel": counts(review.by_channel),
        "effectiveness": counts(review.effectiveness),
        "complaints": [
            {
                **{key: _plain(value) for key, value in dataclasses.asdict(row).items()},
                "effectiveness_kind": row.effectiveness_kind,
                "working_days": review.working_days.get(row.reference),
            }
            for row in review.resolved
        ],
    }


def review_text(review: ReviewReport) -> str:
    lines = [
        f"Tinjauan manajemen / management review {review.quarter}",
        f"generated {labels.when(review.generated_at)} ({review.timezone})",
        "",
        f"resolved in the quarter        {review.total}",
        f"received in the quarter        {review.received} ({review.still_open} still open)",
        f"working days to resolve        mean {_number(review.mean_working_days)}, "
        f"median {_number(review.median_working_days)}, longest {_number(review.longest_working_days)}",
        f"resolved on target             {_compliance_line(review.compliance, 'resolution')}",
        f"first response in time         {_compliance_line(review.compliance, 'first_response')}",
    ]
    for title, items in (
        ("by department", review.by_department),
        ("by product", review.by_product),
        ("by severity", review.by_severity),
        ("by category", review.by_category),
        ("effectiveness", review.effectiveness),
    ):
        shown = [item for item in items if item.count]
        if shown:
            lines += ["", f"{title}:"] + [f"  {item.count:>5}  {item.label}" for item in shown]
    lines += ["", "resolved complaints:"]
    for row in review.resolved:
        days = review.working_days.get(row.reference)
        lines.append(
            f"  {row.reference}  {labels.when(row.completed, with_time=False)}  {row.department:<14} "
            f"{row.severity:<6} {_number(days):>3} wd  {labels.EFFECTIVENESS[row.effectiveness_kind]}"
        )
        for label, text in (("root cause", row.root_cause), ("action", row.corrective_action)):
            if text:
                lines.append(f"      {label}: {' '.join(text.split())[:200]}")
    if not review.resolved:
        lines.append("  (none)")
    return "\n".join(lines) + "\n"


def _compliance(item: Compliance) -> dict[str, Any]:
    return {
        **dataclasses.asdict(item),
        "first_response_share": item.first_response_share,
        "resolution_share": item.resolution_share,
    }


def _compliance_line(item: Compliance, target: str) -> str:
    met, measured = getattr(item, f"{target}_met"), getattr(item, f"{target}_measured")
    return f"{labels.share(met / measured if measured else None)} ({met}/{measured})"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
