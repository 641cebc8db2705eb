"""Charts drawn on the server as SVG: no script, no outside resource, readable without colour.

Each chart has a title and a description for screen readers (``role="img"``), and the page
shows the same figures in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# Dark enough for 3:1 against white (WCAG 1.4.11, non-text contrast).
SERIES_COLOURS = ("#1f4e79", "#b35900")
WIDTH, HEIGHT = 640, 220
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 36, 36, 12


@dataclass(frozen=True)
class Series:
    """One series of a bar chart."""

    name: str
    values: Sequence[int]


def bar_chart(*, title: str, labels: Sequence[str], series: Sequence[Series]) -> SafeString:
    """Grouped bars, one group per label, one bar per series; a few horizontal grid lines."""
    top = max([1, *(value for s in series for value in s.values)])
    plot_w = WIDTH - MARGIN_LEFT - 8
    plot_h = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    group_w = plot_w / max(1, len(labels))
    bar_w = max(2.0, (group_w - 6) / max(1, len(series)))
    parts: list[str] = []
    for step in range(5):
        value = round(top * step / 4)
        y = MARGIN_TOP + plot_h - plot_h * value / top
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#d0d7de" stroke-width="1"/>'
            f'<text x="{MARGIN_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="13" '
            f'fill="#333">{value}</text>'
        )
    for index, label in enumerate(labels):
        x0 = MARGIN_LEFT + index * group_w + 3
        for number, one in enumerate(series):
            value = one.values[index] if index < len(one.values) else 0
            height = plot_h * value / top
            x = x0 + number * bar_w
            y = MARGIN_TOP + plot_h - height
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{height:.1f}" '
                f'fill="{SERIES_COLOURS[number % len(SERIES_COLOURS)]}">'
                f"<title>{escape(one.name)} {escape(label)} : {value}</title></rect>"
            )
        if index % 2 == 0 or len(labels) <= 6:
            parts.append(
                f'<text x="{x0 + group_w / 2 - 3:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
                f'text-anchor="middle" font-size="13" fill="#333">{escape(label)}</text>'
            )
    description = "; ".join(
        f"{one.name}: "
        + ", ".join(f"{label} {value}" for label, value in zip(labels, one.values, strict=False))
        for one in series
    )
    svg = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="{}" height="{}" '
        'role="img" aria-labelledby="{}-t {}-d"><title id="{}-t">{}</title>'
        '<desc id="{}-d">{}</desc>{}</svg>',
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        _slug(title),
        _slug(title),
        _slug(title),
        title,
        _slug(title),
        description,
        mark_safe("".join(parts)),  # noqa: S308 - every value above is a number or escaped
    )
    return svg


def _slug(text: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in text.lower())[:40]
