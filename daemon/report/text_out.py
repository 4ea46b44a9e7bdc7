"""The management-review summary as plain text (the terminal) and as JSON (scripts).

Both come a piece at a time (`review_text_parts`, `review_json_parts`), so that a
quarter of 300,000 resolved complaints is never one string. The text is the
summary; its list of resolved complaints comes only when asked for (`listed`,
`report review --list`). The JSON always has the list (`complaints`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from daemon.report import labels
from daemon.report.monthly import Compliance, Count, RegisterRow
from daemon.report.review import ReviewReport


def review_json(review: ReviewReport) -> dict[str, Any]:
    return {**_json_head(review), "complaints": [_complaint(review, row) for row in review.resolved]}


def review_json_parts(review: ReviewReport) -> Iterator[str]:
    """`review_json` as indented JSON text (as `json.dumps(..., indent=2)` writes it), a piece at a time."""
    head = json.dumps(_json_head(review), ensure_ascii=False, indent=2)
    yield head.removesuffix("\n}") + ',\n  "complaints": ['
    separator = "\n"
    for row in review.resolved:
        text = json.dumps(_complaint(review, row), ensure_ascii=False, indent=2)
        # Indented one level deeper; JSON text has no line of its own inside a string.
        yield separator + "    " + text.replace("\n", "\n    ")
        separator = ",\n"
    yield "]\n}\n" if separator == "\n" else "\n  ]\n}\n"


def _json_head(review: ReviewReport) -> dict[str, Any]:
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
    }


def _complaint(review: ReviewReport, row: RegisterRow) -> dict[str, Any]:
    return {
        **{key: _plain(value) for key, value in dataclasses.asdict(row).items()},
        "effectiveness_kind": row.effectiveness_kind,
        "working_days": review.working_days(row),
    }


def review_text(review: ReviewReport, *, listed: bool = False) -> str:
    return "".join(review_text_parts(review, listed=listed))


def review_text_parts(review: ReviewReport, *, listed: bool = False) -> Iterator[str]:
    """The summary; then, when `listed`, every resolved complaint with its root cause and action."""
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
    if not listed:
        if review.total:
            lines += [
                "",
                f"the {review.total} resolved complaints: add --list, or use --format csv|json|html",
            ]
        yield "\n".join(lines) + "\n"
        return
    lines += ["", "resolved complaints:"]
    yield "\n".join(lines) + "\n"
    for row in review.resolved:
        yield "\n".join(_listed(review, row)) + "\n"
    if not review.total:
        yield "  (none)\n"


def _listed(review: ReviewReport, row: RegisterRow) -> list[str]:
    days = review.working_days(row)
    lines = [
        f"  {row.reference}  {labels.when(row.completed, with_time=False)}  {row.department:<14} "
        f"{row.severity:<6} {_number(days):>3} wd  {labels.EFFECTIVENESS[row.effectiveness_kind]}"
    ]
    for label, text in (("root cause", row.root_cause), ("action", row.corrective_action)):
        if text:
            lines.append(f"      {label}: {' '.join(text.split())[:200]}")
    return lines


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
