"""The usage chart's geometry: a stacked bar per day or week, one colour per group (the largest few, the rest as
"Other"), with axis ticks, labels and the same figures as a table.

Only numbers and plain text are made here; templates/keys/usage_report.html draws the SVG (escaping every
label), and the colours come from CSS variables (--chart-1 … --chart-6, --chart-other), so one chart reads in
light and dark alike.
"""

import math
from dataclasses import dataclass, field
from datetime import date

from keys.usage_report import Figures, Report

# The SVG's own coordinates; it scales to its box (viewBox), so these are proportions, not pixels.
WIDTH, HEIGHT = 800, 340
# Room for labels at the phone size too (novaweb.css enlarges them there, in these units).
LEFT, RIGHT, TOP, BOTTOM = 80, 12, 16, 42
MAX_BAR = 56  # a week of days would otherwise draw slabs
MAX_SERIES = 6  # coloured groups; beyond that the rest is one "Other" series
MAX_X_LABELS = 6
METRIC_WORDS = {"tokens": "tokens", "credits": "credits", "requests": "requests"}
DIMENSION_WORDS = {"person": "person", "team": "team", "key": "key", "model": "model"}


@dataclass
class Series:
    label: str
    css: str  # "s0".."s5" or "other": the class that picks the colour
    figures: Figures = field(default_factory=Figures)
    keys: tuple = ()  # the report groups it covers
    total: str = ""  # its figure over the period, as shown in the legend


@dataclass
class Segment:
    x: float
    y: float
    width: float
    height: float
    series: Series
    title: str


@dataclass
class Row:
    """One bar as a table row: its date and each series' figure ("" where it has none)."""

    label: str
    cells: list[str]
    total: str


@dataclass
class Tick:
    y: float
    text: str


@dataclass
class XLabel:
    x: float
    text: str


@dataclass
class Chart:
    title: str
    desc: str
    series: list[Series]
    segments: list[Segment]
    y_ticks: list[Tick]
    x_labels: list[XLabel]
    rows: list[Row]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least `raw` (axis steps people can read)."""
    if raw <= 0:
        return 1
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))


def compact(value: float) -> str:
    """An axis label: 0, 250, 1.5k, 12M, 0.25."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def day_text(day: date, *, bucket: str, year: bool = True) -> str:
    text = f"{day.day} {day:%b}" + (f" {day:%Y}" if year else "")
    return f"Week of {text}" if bucket == "week" else f"{day:%a} {text}"


def _series(report: Report) -> list[Series]:
    metric = report.metric
    shown = [g for g in report.groups if g.figures.value(metric) > 0] or report.groups
    if len(shown) > MAX_SERIES + 1:
        top, rest = shown[:MAX_SERIES], shown[MAX_SERIES:]
    else:
        top, rest = shown, []
    series = [Series(g.label, f"s{n}", g.figures, (g.key,)) for n, g in enumerate(top)]
    if rest:
        other = Series(f"Other ({len(rest)} more)", "other", Figures(), tuple(g.key for g in rest))
        for g in rest:
            other.figures.add(g.figures)
        series.append(other)
    return series


def _bucket_figures(report: Report, series: Series, bucket: date) -> Figures:
    figures = Figures()
    for key in series.keys:
        cell = report.cells.get((bucket, key))
        if cell is not None:
            figures.add(cell)
    return figures


def build_chart(report: Report) -> Chart:
    metric, buckets = report.metric, report.buckets
    series = _series(report)
    for s in series:
        s.total = s.figures.shown(metric)
    grid = [[_bucket_figures(report, s, b) for s in series] for b in buckets]
    highest = max((sum(f.value(metric) for f in column) for column in grid), default=0)
    step = nice_step(float(highest) / 4) if highest else 1
    if metric == "requests":
        step = max(1, step)
    top_value = step * max(1, math.ceil(float(highest) / step))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(buckets))
    bar_w = min(MAX_BAR, max(1.0, slot * 0.72))
    span_years = report.period.first_day.year != report.period.last_day.year
    words = METRIC_WORDS[metric]

    segments: list[Segment] = []
    rows: list[Row] = []
    for n, (bucket, column) in enumerate(zip(buckets, grid, strict=True)):
        x = LEFT + n * slot + (slot - bar_w) / 2
        y = TOP + plot_h
        when = day_text(bucket, bucket=report.period.bucket)
        for s, figures in zip(series, column, strict=True):
            value = float(figures.value(metric))
            if value <= 0:
                continue
            height = value / top_value * plot_h
            y -= height
            title = f"{when} · {s.label}: {figures.shown(metric)} {words}"
            segments.append(Segment(round(x, 2), round(y, 2), round(bar_w, 2), round(height, 2), s, title))
        total = Figures()
        for figures in column:
            total.add(figures)
        rows.append(Row(when, [f.shown(metric) if f.requests else "" for f in column], total.shown(metric)))

    ticks = [
        Tick(round(TOP + plot_h - k * step / top_value * plot_h, 2), compact(k * step))
        for k in range(round(top_value / step) + 1)
    ]
    every = max(1, math.ceil(len(buckets) / MAX_X_LABELS))
    x_labels = [
        XLabel(
            round(LEFT + n * slot + slot / 2, 2),
            (f"{bucket.day} {bucket:%b}" + (f" {bucket:%y}" if span_years else "")),
        )
        for n, bucket in enumerate(buckets)
        if n % every == 0
    ]
    per = "week" if report.period.bucket == "week" else "day"
    title = f"{words.capitalize()} per {per} by {DIMENSION_WORDS[report.dimension]}"
    first = day_text(report.period.first_day, bucket="day")
    last = day_text(report.period.last_day, bucket="day")
    desc = f"{report.period.name}, {first} to {last}. "
    if report.empty:
        desc += "No usage in this period."
    else:
        peak_n = max(range(len(grid)), key=lambda i: sum(f.value(metric) for f in grid[i]))
        desc += (
            f"Total {report.totals.shown(metric)} {words}. "
            f"Busiest {per}: {rows[peak_n].label} with {rows[peak_n].total} {words}. "
            f"Largest: {', '.join(f'{s.label} ({s.figures.shown(metric)})' for s in series[:3])}."
        )
    return Chart(title, desc, series, segments, ticks, x_labels, rows)
