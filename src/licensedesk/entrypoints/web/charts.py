"""Server-side SVG bar charts for the console (issue 7): no JavaScript, accessible.

The chart is an ``<svg role="img">`` labelled by its ``<title>`` and ``<desc>``; every bar carries its
own ``<title>`` (label and value) for screen readers and tooltips, and the values are printed above
the bars. Money is shown in yen as ``¥1,234`` (negative ``-¥1,234``).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 720, 280
TOP, BOTTOM, LEFT, RIGHT = 28, 40, 12, 12


def yen(amount: int) -> str:
    return f"-¥{-amount:,}" if amount < 0 else f"¥{amount:,}"


def bar_chart(chart_id: str, title: str, desc: str, bars: Sequence[tuple[str, int]], *, money: bool) -> str:
    """An SVG bar chart of ``bars`` (label, value); negative values hang below the zero line."""
    shown = [yen(v) if money else f"{v:,}" for _, v in bars]
    top, bottom = max([0, *(v for _, v in bars)]), min([0, *(v for _, v in bars)])
    span = (top - bottom) or 1
    plot_h = HEIGHT - TOP - BOTTOM
    zero_y = TOP + plot_h * top / span
    slot = (WIDTH - LEFT - RIGHT) / max(len(bars), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
           f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
           f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
           f'<line x1="{LEFT}" y1="{zero_y:.1f}" x2="{WIDTH - RIGHT}" y2="{zero_y:.1f}" stroke="#888"/>']
    for i, ((label, value), text) in enumerate(zip(bars, shown, strict=True)):
        x, h = LEFT + i * slot + slot * 0.15, plot_h * abs(value) / span
        y = zero_y - h if value >= 0 else zero_y
        cx = LEFT + i * slot + slot / 2
        value_y = y - 4 if value >= 0 else y + h + 12
        out += [f'<g class="bar"><rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{"#2b6cb0" if value >= 0 else "#c53030"}"><title>{escape(label)}: {escape(text)}</title></rect>',
                f'<text x="{cx:.1f}" y="{value_y:.1f}" font-size="10" text-anchor="middle">{escape(text)}</text>',
                f'<text x="{cx:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" text-anchor="middle">'
                f'{escape(label)}</text></g>']
    out.append("</svg>")
    return "\n".join(out)
