"""Charts for the html reports as inline SVG, drawn here: no script, no external file.

Four shapes are enough for the reports and the web view: columns over time
(complaints per week), lines over months (the web view's trend), horizontal
bars by name (complaints per department, whose names are long) and paired
horizontal bars of shares (SLA compliance per department: first response and
resolution). Every label is XML-escaped; the result is
`Markup`, safe to put into an autoescaped template as it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PRIMARY = "#1f6f8b"
SECONDARY = "#e07a2f"
GRID = "#d9dee3"
TEXT = "#2b3440"
MUTED = "#6b7785"
FONT = "font-family:'DejaVu Sans',Arial,sans-serif"
LABEL_CHARS = 28
"""Longer names are cut with an ellipsis, so that they fit left of the bars."""


def _rect(x: float, y: float, width: float, height: float, fill: str) -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{fill}" rx="2"/>'


@dataclass(frozen=True, slots=True)
class Lettering:
    """How a piece of chart text is set: its size, which end of it sits on x, its colour."""

    size: int = 12
    anchor: str = "start"
    fill: str = TEXT


PLAIN = Lettering()
"""Values at the end of a bar."""
SMALL = Lettering(11)
"""Legend entries and shares."""
VALUE_ABOVE = Lettering(12, "middle")
"""A value centred above its column."""
NAME = Lettering(11, "end")
"""A name ending just left of its bar."""
AXIS = Lettering(11, "end", MUTED)
"""The numbers of a value axis, right-aligned against it."""
CATEGORY = Lettering(11, "middle", MUTED)
"""A column's label, centred under it."""
PERCENT_TICK = Lettering(10, "middle", MUTED)
"""The 0%-100% ticks under paired bars."""
NO_VALUE = Lettering(11, fill=MUTED)
"""The dash standing in for a share that cannot be measured."""


def _text(x: float, y: float, content: str, lettering: Lettering = PLAIN) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{lettering.size}" '
        f'text-anchor="{lettering.anchor}" fill="{lettering.fill}">{escape(content)}</text>'
    )


def _svg(width: int, height: int, title: str, parts: Sequence[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" style="{FONT}">'
        f"<title>{escape(title)}</title>"
    )
    # Every piece was escaped as it was made.
    return Markup(head + "".join(parts) + "</svg>")


def _axis(value: float) -> tuple[int, int]:
    """(top, step) of a value axis with at most five whole-number steps and some headroom."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000):
        steps = math.ceil((value + 0.5) / step)
        if steps <= 5:
            return max(steps, 1) * step, step
    step = 10 ** len(str(int(value)))
    return math.ceil((value + 0.5) / step) * step, step


def columns(items: Sequence[tuple[str, int]], *, title: str, width: int = 560, height: int = 260) -> Markup:
    """Vertical columns, one per item, value above each column."""
    left, right, top, bottom = 36, 12, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, step = _axis(max((value for _, value in items), default=0))
    parts: list[str] = []
    for tick in range(0, top_value + 1, step):
        y = top + plot_h - plot_h * tick / top_value
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 6, y + 4, str(tick), AXIS))
    slot = plot_w / max(len(items), 1)
    bar = min(slot * 0.6, 64)
    for index, (label, value) in enumerate(items):
        x = left + slot * index + (slot - bar) / 2
        h = plot_h * value / top_value
        y = top + plot_h - h
        parts.append(_rect(x, y, bar, h, PRIMARY))
        parts.append(_text(x + bar / 2, y - 5, str(value), VALUE_ABOVE))
        parts.append(_text(x + bar / 2, height - bottom + 18, label, CATEGORY))
    return _svg(width, height, title, parts)


def lines(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    title: str,
    width: int = 560,
    height: int = 260,
) -> Markup:
    """Lines over time: one per named series (at most two: PRIMARY, SECONDARY), a point per label."""
    left, right, top, bottom = 36, 12, 34, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value, step = _axis(max((v for _, values in series for v in values), default=0))
    parts: list[str] = []
    for tick in range(0, top_value + 1, step):
        y = top + plot_h - plot_h * tick / top_value
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 6, y + 4, str(tick), AXIS))
    slot = plot_w / max(len(labels), 1)
    for index, label in enumerate(labels):
        parts.append(_text(left + slot * (index + 0.5), height - bottom + 18, label, CATEGORY))
    for number, (name, values) in enumerate(series):
        colour = (PRIMARY, SECONDARY)[number % 2]
        points = [
            (left + slot * (index + 0.5), top + plot_h - plot_h * value / top_value)
            for index, value in enumerate(values)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points)
        legend_x = left + number * 200
        parts.append(_rect(legend_x, 8, 10, 10, colour))
        parts.append(_text(legend_x + 14, 17, name, SMALL))
    return _svg(width, height, title, parts)


def bars(items: Sequence[tuple[str, int]], *, title: str, width: int = 560) -> Markup:
    """Horizontal bars, one per item, name on the left and value at the end of the bar."""
    label_w, right, row_h, top = 210, 40, 26, 8
    height = top * 2 + row_h * max(len(items), 1)
    plot_w = width - label_w - right
    top_value = max((value for _, value in items), default=0) or 1
    parts: list[str] = []
    for index, (label, value) in enumerate(items):
        y = top + row_h * index
        w = plot_w * value / top_value
        parts.append(_text(label_w - 8, y + 17, _shorten(label, LABEL_CHARS), NAME))
        parts.append(_rect(label_w, y + 5, w, row_h - 10, PRIMARY))
        parts.append(_text(label_w + w + 6, y + 17, str(value)))
    return _svg(width, height, title, parts)


def paired_shares(
    items: Sequence[tuple[str, float | None, float | None]],
    *,
    title: str,
    series: tuple[str, str],
    width: int = 560,
) -> Markup:
    """Two horizontal bars per item (0-100%), e.g. first response and resolution on time."""
    label_w, right, row_h, top, legend_h, axis_h = 210, 52, 40, 8, 44, 18
    height = legend_h + top * 2 + row_h * max(len(items), 1) + axis_h
    plot_w = width - label_w - right
    bottom = height - axis_h
    parts: list[str] = []
    for line, (name, colour) in enumerate(zip(series, (PRIMARY, SECONDARY), strict=True)):
        parts.append(_rect(label_w, 4 + 18 * line, 12, 12, colour))
        parts.append(_text(label_w + 18, 14 + 18 * line, name, SMALL))
    for tick in (0, 25, 50, 75, 100):
        x = label_w + plot_w * tick / 100
        parts.append(f'<line x1="{x:.1f}" y1="{legend_h}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="{GRID}"/>')
        parts.append(_text(x, bottom + 14, f"{tick}%", PERCENT_TICK))
    for index, (label, first, second) in enumerate(items):
        y = legend_h + top + row_h * index
        parts.append(_text(label_w - 8, y + 20, _shorten(label, LABEL_CHARS), NAME))
        for offset, value, colour in ((3, first, PRIMARY), (19, second, SECONDARY)):
            if value is None:
                parts.append(_text(label_w + 4, y + offset + 11, "–", NO_VALUE))
                continue
            w = plot_w * value
            parts.append(_rect(label_w, y + offset, w, 14, colour))
            parts.append(_text(label_w + w + 5, y + offset + 11, f"{value * 100:.0f}%", SMALL))
    return _svg(width, height, title, parts)


def _shorten(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"
