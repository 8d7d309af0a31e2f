"""Inline SVG charts drawn from numbers: line charts, horizontal bars, grouped share bars, a confusion matrix.

Each function returns one `<svg>` element (no external references, no script) sized by its
viewBox, so it scales with the page. Text is escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

WIDTH, HEIGHT = 480, 340
LEFT, RIGHT, TOP, BOTTOM = 56, 56, 40, 46
INK, GRID, MUTED = "#1f2933", "#e4e7eb", "#616e7c"
BLUE, ORANGE, GREEN, RED, GREY = "#2563eb", "#ea580c", "#15803d", "#dc2626", "#9aa5b1"


@dataclass
class Scale:
    """An axis from `lo` to `hi` with labelled `ticks` (`fmt` formats a tick value); `logit`
    spaces probabilities by log-odds, so values near 0 and near 1 both get room."""

    lo: float = 0.0
    hi: float = 1.0
    ticks: Sequence[float] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    fmt: str = "{:g}"
    logit: bool = False

    def fraction(self, value: float) -> float:
        """Where `value` falls between `lo` (0) and `hi` (1), clamped to the axis."""
        value = min(max(value, self.lo), self.hi)
        if self.logit:
            lo, hi, value = _logit(self.lo), _logit(self.hi), _logit(value)
        else:
            lo, hi = self.lo, self.hi
        return (value - lo) / (hi - lo)


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def logit_scale(lowest: float) -> Scale:
    """A probability axis from 10^k to 1 - 10^k, 10^k the power of ten at or below `lowest`
    (between 1e-6 and 0.001), with ticks at the powers of ten, 0.5 and their mirrors."""
    power = min(-3, math.floor(math.log10(max(lowest, 1e-6))))
    low = [10.0**e for e in range(power, 0)]
    return Scale(low[0], 1.0 - low[0], [*low, 0.5, *(1.0 - v for v in reversed(low))], "{:g}", logit=True)


@dataclass
class Series:
    """One polyline; `right` plots it against the right-hand axis."""

    label: str
    points: Sequence[tuple[float, float]]
    color: str
    dashed: bool = False
    right: bool = False


@dataclass
class Marker:
    """A labelled dot (e.g. the operating point)."""

    x: float
    y: float
    label: str
    color: str = INK
    right: bool = False


@dataclass
class LineChart:
    """What `line_chart` draws."""

    label: str
    x_label: str
    y_label: str
    series: list[Series]
    x: Scale = field(default_factory=Scale)
    y: Scale = field(default_factory=Scale)
    y2: Scale | None = None
    y2_label: str = ""
    markers: list[Marker] = field(default_factory=list)
    vline: tuple[float, str] | None = None


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open(label: str, width: int, height: int) -> str:
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="11">'
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", color: str = MUTED, extra: str = "") -> str:
    return f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" fill="{color}"{extra}>{escape(text)}</text>'


def line_chart(chart: LineChart) -> str:
    """A line chart with grid, ticks, axis labels, a legend, markers and an optional vertical line."""
    x0, x1, y0, y1 = LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP

    def px(x: float) -> float:
        return x0 + chart.x.fraction(x) * (x1 - x0)

    def py(y: float, right: bool = False) -> float:
        scale = chart.y2 if right and chart.y2 is not None else chart.y
        return y0 - scale.fraction(y) * (y0 - y1)

    out = [_open(chart.label, WIDTH, HEIGHT)]
    for tick in chart.x.ticks:
        out.append(f'<line x1="{_num(px(tick))}" y1="{y1}" x2="{_num(px(tick))}" y2="{y0}" stroke="{GRID}"/>')
        out.append(_text(px(tick), y0 + 15, chart.x.fmt.format(tick), anchor="middle"))
    for tick in chart.y.ticks:
        out.append(f'<line x1="{x0}" y1="{_num(py(tick))}" x2="{x1}" y2="{_num(py(tick))}" stroke="{GRID}"/>')
        out.append(_text(x0 - 6, py(tick) + 4, chart.y.fmt.format(tick), anchor="end"))
    if chart.y2 is not None:
        color = next((s.color for s in chart.series if s.right), MUTED)
        for tick in chart.y2.ticks:
            out.append(_text(x1 + 6, py(tick, True) + 4, chart.y2.fmt.format(tick), color=color))
        mid = (y0 + y1) / 2
        out.append(_text(WIDTH - 10, mid, chart.y2_label, anchor="middle", color=color, extra=f' transform="rotate(90 {WIDTH - 10} {_num(mid)})"'))
    out.append(f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" fill="none" stroke="{GREY}"/>')
    out.append(_text((x0 + x1) / 2, HEIGHT - 8, chart.x_label, anchor="middle", color=INK))
    mid = (y0 + y1) / 2
    out.append(_text(14, mid, chart.y_label, anchor="middle", color=INK, extra=f' transform="rotate(-90 14 {_num(mid)})"'))
    if chart.vline is not None:
        value, text = chart.vline
        out.append(f'<line x1="{_num(px(value))}" y1="{y1}" x2="{_num(px(value))}" y2="{y0}" stroke="{INK}" stroke-dasharray="4 3"/>')
        anchor = "end" if px(value) > (x0 + x1) / 2 else "start"
        out.append(_text(px(value) + (-4 if anchor == "end" else 4), y0 - 6, text, anchor=anchor, color=INK))
    for series in chart.series:
        shown = [(x, y) for x, y in series.points if chart.x.lo <= x <= chart.x.hi]
        path = " ".join(f"{_num(px(x))},{_num(py(y, series.right))}" for x, y in shown)
        dash = ' stroke-dasharray="5 4"' if series.dashed else ""
        out.append(f'<polyline points="{path}" fill="none" stroke="{series.color}" stroke-width="2"{dash} stroke-linejoin="round"/>')
    for marker in chart.markers:
        cx, cy = px(marker.x), py(marker.y, marker.right)
        out.append(f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="5" fill="{marker.color}" stroke="#fff" stroke-width="1.5"/>')
        anchor = "end" if cx > (x0 + x1) / 2 else "start"
        dy = 18 if cy < y1 + 24 else -8
        out.append(_text(cx + (-8 if anchor == "end" else 8), cy + dy, marker.label, anchor=anchor, color=marker.color))
    out.append(_legend(chart.series, x0, 20))
    out.append("</svg>")
    return "".join(out)


def _legend(series: Sequence[Series], x: float, y: float) -> str:
    out = []
    for item in series:
        dash = ' stroke-dasharray="5 4"' if item.dashed else ""
        out.append(f'<line x1="{_num(x)}" y1="{y - 4}" x2="{_num(x + 18)}" y2="{y - 4}" stroke="{item.color}" stroke-width="2"{dash}/>')
        out.append(_text(x + 22, y, item.label, color=INK))
        x += 30 + 6.2 * len(item.label)
    return "".join(out)


def bar_chart(label: str, items: Sequence[tuple[str, float]], value_format: Callable[[float], str] = "{:.3g}".format, color: str = BLUE) -> str:
    """Horizontal bars, one per (name, value), longest first as given; values are non-negative."""
    name_width, row, top = 250, 22, 8
    width = WIDTH + 140
    height = top * 2 + row * max(len(items), 1)
    high = max((value for _, value in items), default=0.0) or 1.0
    span = width - name_width - 70
    out = [_open(label, width, height)]
    for i, (name, value) in enumerate(items):
        y = top + i * row
        length = max(value / high * span, 1.0)
        shown = name if len(name) <= 38 else name[:37] + "…"
        out.append(_text(name_width - 8, y + 15, shown, anchor="end", color=INK))
        out.append(f'<rect x="{name_width}" y="{y + 4}" width="{_num(length)}" height="{row - 8}" rx="2" fill="{color}"/>')
        out.append(_text(name_width + length + 6, y + 15, value_format(value)))
    out.append("</svg>")
    return "".join(out)


def confusion_chart(tn: int, fp: int, fn: int, tp: int) -> str:
    """The 2×2 confusion matrix: counts and the share of each actual class, shaded by that share."""
    cell_w, cell_h, left, top = 150, 84, 118, 44
    width, height = left + 2 * cell_w + 16, top + 2 * cell_h + 16
    out = [_open("confusion matrix", width, height)]
    out.append(_text(left + cell_w, 16, "predicted", anchor="middle", color=INK))
    for j, name in enumerate(("normal", "intrusion")):
        out.append(_text(left + j * cell_w + cell_w / 2, 34, name, anchor="middle"))
    out.append(_text(14, top + cell_h, "actual", anchor="middle", color=INK, extra=f' transform="rotate(-90 14 {top + cell_h})"'))
    cells = ((tn, fp), (fn, tp))
    for i, name in enumerate(("normal", "intrusion")):
        out.append(_text(left - 10, top + i * cell_h + cell_h / 2 + 4, name, anchor="end"))
        total = sum(cells[i]) or 1
        for j, count in enumerate(cells[i]):
            share = count / total
            color = GREEN if i == j else RED
            x, y = left + j * cell_w, top + i * cell_h
            out.append(
                f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" fill="{color}" '
                f'fill-opacity="{0.08 + 0.6 * share:.3f}" stroke="#fff" stroke-width="2"/>'
            )
            out.append(_text(x + cell_w / 2, y + cell_h / 2 - 2, f"{count:,}", anchor="middle", color=INK, extra=' font-size="18" font-weight="600"'))
            out.append(_text(x + cell_w / 2, y + cell_h / 2 + 18, f"{share:.2%} of actual {name}", anchor="middle", color=INK))
    out.append("</svg>")
    return "".join(out)


@dataclass
class BarSeries:
    """One series of a grouped bar chart: a value per group (shares, 0 to 1)."""

    label: str
    values: Sequence[float]
    color: str


_SHARE_TOPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def grouped_bars(label: str, groups: Sequence[str], series: Sequence[BarSeries], *, width: int = 440, height: int = 230) -> str:
    """Vertical bars of shares side by side per group (e.g. a histogram of reference vs current),
    with a legend, a share axis, group labels (thinned when many) and a hover title per group."""
    left, right, top, bottom = 44, 10, 28, 62
    x0, x1, y0, y1 = left, width - right, height - bottom, top
    high = max((v for s in series for v in s.values), default=0.0)
    high = next((t for t in _SHARE_TOPS if t >= high), 1.0)
    fmt = "{:.0%}" if high >= 0.1 else "{:.1%}"
    out = [_open(label, width, height)]
    for tick in (0.0, high / 2, high):
        y = y0 - tick / high * (y0 - y1)
        out.append(f'<line x1="{x0}" y1="{_num(y)}" x2="{x1}" y2="{_num(y)}" stroke="{GRID}"/>')
        out.append(_text(x0 - 5, y + 4, fmt.format(tick), anchor="end"))
    n = max(len(groups), 1)
    step, bar = (x1 - x0) / n, (x1 - x0) / n * 0.8 / max(len(series), 1)
    for k, item in enumerate(series):
        path = "".join(
            f"M{_num(x0 + i * step + step * 0.1 + k * bar)},{y0}v-{_num(v / high * (y0 - y1))}h{_num(bar)}V{y0}z"
            for i, v in enumerate(item.values)
            if v > 0
        )
        out.append(f'<path d="{path}" fill="{item.color}"/>')
    every = math.ceil(n / 8) if n > 13 else 1
    for i, name in enumerate(groups):
        x = x0 + i * step
        shares = " / ".join(f"{s.label} {s.values[i]:.1%}" for s in series)
        out.append(f'<rect x="{_num(x)}" y="{y1}" width="{_num(step)}" height="{y0 - y1}" fill="transparent"><title>{escape(name)}: {escape(shares)}</title></rect>')
        if i % every == 0:
            shown = name if len(name) <= 14 else name[:13] + "…"
            cx, cy = x + step / 2, y0 + 12
            out.append(_text(cx, cy, shown, anchor="end", extra=f' transform="rotate(-35 {_num(cx)} {_num(cy)})"'))
    out.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="{GREY}"/>')
    x = float(x0)
    for item in series:
        out.append(f'<rect x="{_num(x)}" y="9" width="10" height="10" fill="{item.color}"/>')
        out.append(_text(x + 14, 18, item.label, color=INK))
        x += 30 + 6.2 * len(item.label)
    out.append("</svg>")
    return "".join(out)
