"""Charts as SVG drawn on the server: no chart library, no script, the same picture in
every browser and in a screenshot. Pure: values in, markup out (every label escaped).

Each chart is drawn twice, at a desktop and at a phone width, and the stylesheet shows
the one that fits: text keeps the size it was drawn at instead of shrinking with the
picture. Axis ticks are round numbers (1, 2, 2.5 or 5 times a power of ten).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial

from markupsafe import Markup, escape

from monitor.model import Posting, Salary

COLOURS = ("#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2", "#dc2626")
PERIOD_WORDS = {"hour": "per hour", "day": "per day", "week": "per week", "month": "per month"}
MIN_BAND_WIDTH = 6.0  # px: a version that lived seconds is still seen on a time axis


@dataclass(frozen=True, slots=True)
class _Size:
    """One drawing of a chart: ``name`` is its CSS class (``wide`` or ``narrow``)."""

    name: str
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    legend_columns: int
    x_labels: int  # how many labels the x axis has room for


WIDE = _Size("wide", 720, 260, 64, 16, 16, 40, 4, 8)
NARROW = _Size("narrow", 340, 240, 44, 10, 16, 40, 2, 4)
SIZES = (WIDE, NARROW)


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """One pay range held from ``start`` to ``end``; ``version`` is the position of the
    version that stated it (0 for the first)."""

    start: datetime
    end: datetime
    low: float
    high: float
    version: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PaySeries:
    """A posting's pay for one location or tier, in one currency and period, over time."""

    label: str
    currency: str
    period: str
    bands: tuple[Band, ...]


def pay_series(versions: Sequence[tuple[datetime, Posting]], now: datetime) -> list[PaySeries]:
    """Each version's ranges held until the next version (the last until ``now``),
    grouped by label, currency and period; a range with one end is a line."""
    grouped: dict[tuple[str, str, str], list[Band]] = {}
    for index, (start, posting) in enumerate(versions):
        end = versions[index + 1][0] if index + 1 < len(versions) else now
        for salary in posting.salaries:
            band = _band(salary, start, max(end, start), index)
            if band is not None:
                grouped.setdefault(_key(salary), []).append(band)
    return [
        PaySeries(label=label, currency=currency, period=period, bands=tuple(bands))
        for (label, currency, period), bands in grouped.items()
    ]


def _key(salary: Salary) -> tuple[str, str, str]:
    period = salary.period.value if salary.period else ""
    return salary.label, salary.currency or "", period


def _band(salary: Salary, start: datetime, end: datetime, version: int) -> Band | None:
    values = [float(v) for v in (salary.min, salary.max) if v is not None]
    if not values:
        return None
    return Band(start=start, end=end, low=min(values), high=max(values), version=version)


def unit_label(currency: str, period: str) -> str:
    """'USD per year', 'EUR per hour'; what the axis of a pay chart counts."""
    words = PERIOD_WORDS.get(period, "per year" if period == "year" else "")
    return " ".join(part for part in (currency or "(no currency)", words) if part)


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round values from at or below ``low`` to at or above ``high``, about ``count``
    steps apart: each step 1, 2, 2.5 or 5 times a power of ten."""
    if high < low:
        low, high = high, low
    span = high - low or abs(high) or 1.0
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    if last <= first:
        last = first + step
    steps = round((last - first) / step)
    return [_clean(first + i * step) for i in range(steps + 1)]


def _clean(value: float) -> float:
    return float(f"{value:.10g}")


def pay_percent(before: Band, after: Band) -> float | None:
    """The move from one range to the next, as stored with pay changes: the larger of
    the moves of its low and high ends, signed; None when it did not move."""
    moves = [
        (new - old) / old * 100
        for old, new in ((before.low, after.low), (before.high, after.high))
        if old and new != old
    ]
    return max(moves, key=abs) if moves else None


def pay_chart(series: Sequence[PaySeries], *, title: str, in_time: bool = False) -> Markup:
    """One chart per currency and period: a band (min–max) per label. Each version is a
    step of the same width, in order; ``in_time`` spreads them over time instead. Each
    move is labelled with its percent."""
    if not series:
        return Markup("")
    charts = []
    units = dict.fromkeys((s.currency, s.period) for s in series)
    for currency, period in units:
        same = [s for s in series if (s.currency, s.period) == (currency, period)]
        caption = f"{title} — {unit_label(currency, period)}"
        charts.append(_figure(caption, partial(_band_chart, same, in_time=in_time)))
    return Markup("").join(charts)


def _band_chart(series: Sequence[PaySeries], size: _Size, *, in_time: bool) -> list[str]:
    bands = [b for s in series for b in s.bands]
    ticks = nice_ticks(*_padded(min(b.low for b in bands), max(b.high for b in bands)))
    named = len(series) > 1 or bool(series[0].label)
    legend_rows = math.ceil(len(series) / size.legend_columns) if named else 0
    top = size.top + 16 * legend_rows
    order = sorted({b.version for b in bands})
    column = {version: index for index, version in enumerate(order)}
    if in_time:
        x0 = min(b.start for b in bands).timestamp()
        x1 = max(b.end for b in bands).timestamp()
        plot = _Plot(size, top, x0, x1 if x1 > x0 else x0 + 1, ticks[0], ticks[-1])
        x_ticks = _time_ticks(plot)
    else:
        plot = _Plot(size, top, 0, len(order), ticks[0], ticks[-1])
        x_ticks = _version_ticks(plot, bands, column)
    parts = [_frame(plot), *_y_ticks(plot, ticks, _money), *x_ticks]
    for index, one in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        previous: Band | None = None
        for band in one.bands:
            x_start, x_end = _band_span(plot, band, column, in_time=in_time)
            parts.append(_rect(plot, band, x_start, x_end, colour))
            if previous is not None:
                parts.extend(_move(plot, previous, band, x_start))
            previous = band
        if legend_rows:
            label = escape(one.label or "all locations")
            step = (size.width - size.left - size.right) / size.legend_columns
            parts.append(
                f'<text class="legend" x="{size.left + 4 + step * (index % size.legend_columns):.0f}" '
                f'y="{size.top + 12 + 16 * (index // size.legend_columns)}" '
                f'fill="{colour}">■ {label}</text>'
            )
    return parts


def _band_span(
    plot: _Plot, band: Band, column: dict[int, int], *, in_time: bool
) -> tuple[float, float]:
    if not in_time:
        index = column[band.version]
        return plot.x(index), plot.x(index + 1)
    x_start, x_end = plot.x(band.start.timestamp()), plot.x(band.end.timestamp())
    return x_start, max(x_end, x_start + MIN_BAND_WIDTH)


def _rect(plot: _Plot, band: Band, x_start: float, x_end: float, colour: str) -> str:
    y_high, y_low = plot.y(band.high), plot.y(band.low)
    height = max(y_low - y_high, 2.0)
    tip = escape(
        f"{band.start:%Y-%m-%d %H:%M}: {_money(band.low)}–{_money(band.high)}"
        f" (version {band.version + 1})"
    )
    return (
        f'<rect x="{x_start:.1f}" y="{y_high:.1f}" width="{max(x_end - x_start, 2.0):.1f}" '
        f'height="{height:.1f}" fill="{colour}" fill-opacity="0.35" stroke="{colour}">'
        f"<title>{tip}</title></rect>"
    )


def _move(plot: _Plot, before: Band, after: Band, x: float) -> list[str]:
    """A raise or a cut, where it happened: its percent, above a raised band or below a
    lowered one."""
    percent = pay_percent(before, after)
    if percent is None:
        return []
    up = percent > 0
    y = plot.y(after.high) - 6 if up else plot.y(after.low) + 16
    y = min(max(y, plot.top + 12), plot.size.height - plot.size.bottom - 4)
    return [
        f'<line class="move" x1="{x:.1f}" y1="{plot.y(before.high):.1f}" '
        f'x2="{x:.1f}" y2="{plot.y(after.high):.1f}"/>',
        f'<text class="pct {"up" if up else "down"}" x="{x + 4:.1f}" y="{y:.1f}">'
        f"{percent:+.1f}%</text>",
    ]


@dataclass(frozen=True, slots=True)
class _Plot:
    size: _Size
    top: int
    x0: float
    x1: float
    y0: float
    y1: float

    def x(self, value: float) -> float:
        size = self.size
        return size.left + (value - self.x0) / (self.x1 - self.x0) * (
            size.width - size.left - size.right
        )

    def y(self, value: float) -> float:
        bottom = self.size.height - self.size.bottom
        return bottom - (value - self.y0) / (self.y1 - self.y0) * (bottom - self.top)


def _padded(low: float, high: float) -> tuple[float, float]:
    if high <= low:
        return low * 0.9 if low else -1.0, high * 1.1 if high else 1.0
    pad = (high - low) * 0.15
    return max(low - pad, 0.0) if low >= 0 else low - pad, high + pad


def _frame(plot: _Plot) -> str:
    size = plot.size
    bottom = size.height - size.bottom
    return (
        f'<line x1="{size.left}" y1="{bottom}" x2="{size.width - size.right}" y2="{bottom}" '
        f'class="axis"/>'
        f'<line x1="{size.left}" y1="{plot.top}" x2="{size.left}" y2="{bottom}" class="axis"/>'
    )


def _y_ticks(plot: _Plot, values: Sequence[float], label: Callable[[float], str]) -> list[str]:
    size = plot.size
    ticks = []
    for value in values:
        y = plot.y(value)
        ticks.append(
            f'<line x1="{size.left}" y1="{y:.1f}" x2="{size.width - size.right}" '
            f'y2="{y:.1f}" class="grid"/>'
            f'<text class="tick" x="{size.left - 5}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(label(value))}</text>"
        )
    return ticks


def _time_ticks(plot: _Plot) -> list[str]:
    count = max(plot.size.x_labels // 3, 2)
    shape = _time_shape(plot.x1 - plot.x0)
    ticks = []
    for step in range(count + 1):
        moment = plot.x0 + (plot.x1 - plot.x0) * step / count
        anchor = "start" if step == 0 else "end" if step == count else "middle"
        label = datetime.fromtimestamp(moment, UTC).strftime(shape)
        ticks.append(
            f'<text class="tick" x="{plot.x(moment):.1f}" y="{plot.size.height - 22}" '
            f'text-anchor="{anchor}">{label}</text>'
        )
    return ticks


def _version_ticks(plot: _Plot, bands: Sequence[Band], column: dict[int, int]) -> list[str]:
    """Under each step: which version ('v2') and when it was read."""
    starts: dict[int, datetime] = {}
    for band in bands:
        starts.setdefault(band.version, band.start)
    moments = list(starts.values())
    shape = _time_shape((max(moments) - min(moments)).total_seconds())
    every = max(math.ceil(len(column) / plot.size.x_labels), 1)
    bottom = plot.size.height - plot.size.bottom
    ticks = []
    for version, index in column.items():
        if index % every and index != len(column) - 1:
            continue
        x = (plot.x(index) + plot.x(index + 1)) / 2
        ticks.append(
            f'<text class="tick" x="{x:.1f}" y="{bottom + 15}" text-anchor="middle">'
            f"v{version + 1}</text>"
            f'<text class="tick" x="{x:.1f}" y="{bottom + 30}" text-anchor="middle">'
            f"{starts[version]:{shape}}</text>"
        )
    return ticks


def _time_shape(seconds: float) -> str:
    """Dates for a spread of days, times for hours, seconds for a spread of minutes."""
    return "%Y-%m-%d" if seconds > 2 * 86400 else "%m-%d %H:%M" if seconds > 3600 else "%H:%M:%S"


def _figure(caption: str, draw: Callable[[_Size], Sequence[str]]) -> Markup:
    """The chart drawn at each size; the stylesheet shows the one that fits."""
    title = escape(caption)
    svgs = "".join(
        f'<svg class="{size.name}" viewBox="0 0 {size.width} {size.height}" '
        f'width="{size.width}" height="{size.height}" role="img" aria-label="{title}">'
        f"<title>{title}</title>{''.join(draw(size))}</svg>"
        for size in SIZES
    )
    return Markup(  # noqa: S704 - every value inside is escaped or a number
        f'<figure class="chart"><figcaption>{title}</figcaption>{svgs}</figure>'
    )


def _money(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:,.4g}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:,.4g}k"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _count(value: float) -> str:
    return f"{value:,.0f}"


def open_chart(days: Sequence[tuple[str, int, int, int]], *, title: str) -> Markup:
    """Open postings per day as a line, with the day's new (up) and closed (down) bars.
    ``days``: (ISO day, open, new, closed)."""
    if not days:
        return Markup("")
    return _figure(title, partial(_open_chart, days))


def _open_chart(days: Sequence[tuple[str, int, int, int]], size: _Size) -> list[str]:
    top = max(max(d[1] for d in days), max(d[2] for d in days), 1)
    lowest = -max(max(d[3] for d in days), 0)
    ticks = _count_ticks(lowest, top)
    plot = _Plot(size, size.top, 0, max(len(days) - 1, 1), ticks[0], ticks[-1])
    parts = [_frame(plot), *_y_ticks(plot, ticks, _count)]
    width = min(max((size.width - size.left - size.right) / max(len(days), 1) * 0.6, 1.5), 36)
    zero = plot.y(0)
    points = []
    for index, (day, open_count, new, closed) in enumerate(days):
        x = plot.x(index) if len(days) > 1 else (size.left + size.width - size.right) / 2
        points.append(f"{x:.1f},{plot.y(open_count):.1f}")
        tip = escape(f"{day}: {open_count} open, {new} new, {closed} closed")
        parts.append(
            f'<circle class="open" cx="{x:.1f}" cy="{plot.y(open_count):.1f}" r="3">'
            f"<title>{tip}</title></circle>"
        )
        if new:
            y = plot.y(new)
            parts.append(
                f'<rect class="new" x="{x - width / 2:.1f}" y="{y:.1f}" width="{width:.1f}" '
                f'height="{zero - y:.1f}"><title>{tip}</title></rect>'
            )
        if closed:
            y = plot.y(-closed)
            parts.append(
                f'<rect class="closed" x="{x - width / 2:.1f}" y="{zero:.1f}" '
                f'width="{width:.1f}" height="{y - zero:.1f}"><title>{tip}</title></rect>'
            )
    parts.append(f'<polyline class="open" fill="none" points="{" ".join(points)}"/>')
    first, last = escape(days[0][0]), escape(days[-1][0])
    baseline = size.height - size.bottom + 18
    parts.append(f'<text class="tick" x="{size.left}" y="{baseline}">{first}</text>')
    if len(days) > 1:
        parts.append(
            f'<text class="tick" x="{size.width - size.right}" y="{baseline}" '
            f'text-anchor="end">{last}</text>'
        )
    return parts


def _count_ticks(low: float, high: float) -> list[float]:
    """Whole, round counts from ``low`` (0 or below) to a little above ``high``."""
    ticks = nice_ticks(low, high * 1.1, 4)
    if ticks[1] - ticks[0] < 1:
        ticks = [float(v) for v in range(math.floor(low), math.ceil(high * 1.1) + 1)]
    return ticks


def pay_distribution(postings: Sequence[Posting], *, title: str, buckets: int = 10) -> Markup:
    """How many of the postings pay around each amount (the midpoint of each range): one
    chart per currency and period, the most common first."""
    by_unit: dict[tuple[str, str], list[float]] = {}
    for posting in postings:
        seen: set[tuple[str, str]] = set()
        for salary in posting.salaries:
            unit = (salary.currency or "", salary.period.value if salary.period else "")
            middle = _midpoint(salary)
            if unit in seen or middle is None:
                continue  # a posting counts once per unit: its first range in it
            seen.add(unit)
            by_unit.setdefault(unit, []).append(middle)
    charts = []
    for (currency, period), values in sorted(by_unit.items(), key=lambda kv: -len(kv[1])):
        caption = (
            f"{title} — midpoint of each range, {unit_label(currency, period)} ({len(values)})"
        )
        charts.append(_figure(caption, partial(_histogram, values, buckets=buckets)))
    return Markup("").join(charts)


def _histogram(values: Sequence[float], size: _Size, *, buckets: int) -> list[str]:
    low, high = min(values), max(values)
    if high - low < abs(high) * 0.2:  # few or close values: show them among their neighbours
        middle = (low + high) / 2
        low, high = middle - abs(middle) * 0.1, middle + abs(middle) * 0.1
    edges = nice_ticks(low, high, buckets)
    if max(values) >= edges[-1]:
        edges.append(_clean(edges[-1] + (edges[1] - edges[0])))
    step = edges[1] - edges[0]
    counts = Counter(min(int((v - edges[0]) / step), len(edges) - 2) for v in values)
    ticks = _count_ticks(0, max(counts.values()))
    plot = _Plot(size, size.top, 0, len(edges) - 1, 0, ticks[-1])
    parts = [_frame(plot), *_y_ticks(plot, ticks, _count)]
    every = max(math.ceil(len(edges) / size.x_labels), 1)
    for bucket in range(len(edges) - 1):
        n = counts.get(bucket, 0)
        x, y = plot.x(bucket), plot.y(n)
        tip = escape(f"{_money(edges[bucket])}–{_money(edges[bucket + 1])}: {n} posting(s)")
        parts.append(
            f'<rect class="new" x="{x + 1:.1f}" y="{y:.1f}" '
            f'width="{plot.x(bucket + 1) - x - 2:.1f}" height="{plot.y(0) - y:.1f}">'
            f"<title>{tip}</title></rect>"
        )
    last = len(edges) - 1
    for index, edge in enumerate(edges):
        if index % every == 0:
            anchor = "start" if index == 0 else "end" if index == last else "middle"
            parts.append(
                f'<text class="tick" x="{plot.x(index):.1f}" '
                f'y="{size.height - size.bottom + 18}" text-anchor="{anchor}">{_money(edge)}</text>'
            )
    return parts


def _midpoint(salary: Salary) -> float | None:
    values = [v for v in (salary.min, salary.max) if v is not None]
    return float(sum(values, Decimal(0)) / len(values)) if values else None
