"""Server-side SVG charts: they render without JavaScript, scale with the page and carry a
text alternative (``<title>``, and the same figures in a table next to each chart)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from html import escape

BAR_COLOURS = ("#1d4e89", "#d1495b")  # contrast >= 4.5:1 on white for both series


@dataclass(frozen=True)
class Series:
    label: str
    values: list[Decimal]


def bar_chart(title: str, categories: list[str], series: list[Series], *, width: int = 640) -> str:
    """Grouped horizontal bars: one row per category, one bar per series, with a legend."""
    row_h, bar_h, left, right_pad, top = 14 + 10 * len(series), 10, 150, 70, 28
    height = top + row_h * max(len(categories), 1) + 10
    peak = max((v for s in series for v in s.values), default=Decimal(0)) or Decimal(1)
    span = width - left - right_pad
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i, s in enumerate(series):
        x = left + i * 160
        colour = BAR_COLOURS[i % len(BAR_COLOURS)]
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="16" font-size="12">{escape(s.label)}</text>')
    for r, category in enumerate(categories):
        y = top + r * row_h
        parts.append(
            f'<text x="{left - 6}" y="{y + row_h / 2 + 4:.0f}" font-size="12" '
            f'text-anchor="end">{escape(category[:22])}</text>'
        )
        for i, s in enumerate(series):
            value = s.values[r]
            w = float(value / peak) * span
            by = y + 2 + i * (bar_h + 2)
            colour = BAR_COLOURS[i % len(BAR_COLOURS)]
            parts.append(
                f'<rect x="{left}" y="{by}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                f"<title>{escape(category)} — {escape(s.label)}: {value}</title></rect>"
            )
            parts.append(
                f'<text x="{left + w + 4:.1f}" y="{by + bar_h - 1}" font-size="10">{value}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
