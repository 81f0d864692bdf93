"""Charts as SVG drawn on the server: no chart library, no script, the same picture in
every browser and in a screenshot. Pure: values in, markup out (every label escaped).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from markupsafe import Markup, escape

from monitor.model import Posting, Salary

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 78, 16, 16, 34
COLOURS = ("#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2", "#dc2626")
PERIOD_WORDS = {"hour": "per hour", "day": "per day", "week": "per week", "month": "per month"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """One pay range held from ``start`` to ``end``."""

    start: datetime
    end: datetime
    low: float
    high: float


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
            band = _band(salary, start, max(end, start))
            if band is not None:
                grouped.setdefault(_key(salary), []).append(band)
    return [
        PaySeries(label=label, currency=currency, period=period, bands=tuple(bands))
        for (label, currency, period), bands in grouped.items()
    ]


def _key(salary: Salary) -> tuple[str, str, str]:
    period = salary.period.value if salary.period else ""
    return salary.label, salary.currency or "", period


def _band(salary: Salary, start: datetime, end: datetime) -> Band | None:
    values = [float(v) for v in (salary.min, salary.max) if v is not None]
    if not values:
        return None
    return Band(start=start, end=end, low=min(values), high=max(values))


def unit_label(currency: str, period: str) -> str:
    """'USD per year', 'EUR per hour'; what the axis of a pay chart counts."""
    words = PERIOD_WORDS.get(period, "per year" if period == "year" else "")
    return " ".join(part for part in (currency or "(no currency)", words) if part)


def pay_chart(series: Sequence[PaySeries], *, title: str) -> Markup:
    """One chart per currency and period: a band (min–max) per label over time."""
    if not series:
        return Markup("")
    charts = []
    units = dict.fromkeys((s.currency, s.period) for s in series)
    for currency, period in units:
        same = [s for s in series if (s.currency, s.period) == (currency, period)]
        charts.append(_band_chart(same, title=f"{title} — {unit_label(currency, period)}"))
    return Markup("").join(charts)


def _band_chart(series: Sequence[PaySeries], *, title: str) -> Markup:
    bands = [b for s in series for b in s.bands]
    x0 = min(b.start for b in bands).timestamp()
    x1 = max(b.end for b in bands).timestamp()
    y0, y1 = _padded(min(b.low for b in bands), max(b.high for b in bands))
    plot = _Plot(x0, x1 if x1 > x0 else x0 + 1, y0, y1)
    parts = [_frame(plot, title), *_y_ticks(plot), *_x_ticks(plot)]
    for index, one in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        for band in one.bands:
            parts.append(_rect(plot, band, colour))
        label = escape(one.label or "all locations")
        parts.append(
            f'<text class="legend" x="{LEFT + 8 + 170 * (index % 4)}" '
            f'y="{TOP + 14 + 16 * (index // 4)}" fill="{colour}">■ {label}</text>'
        )
    return _svg(parts, title)


def _rect(plot: _Plot, band: Band, colour: str) -> str:
    x_start, x_end = plot.x(band.start.timestamp()), plot.x(band.end.timestamp())
    y_high, y_low = plot.y(band.high), plot.y(band.low)
    height = max(y_low - y_high, 2.0)
    tip = escape(
        f"{band.start:%Y-%m-%d}–{band.end:%Y-%m-%d}: {_money(band.low)}–{_money(band.high)}"
    )
    return (
        f'<rect x="{x_start:.1f}" y="{y_high:.1f}" width="{max(x_end - x_start, 2.0):.1f}" '
        f'height="{height:.1f}" fill="{colour}" fill-opacity="0.35" stroke="{colour}">'
        f"<title>{tip}</title></rect>"
    )


@dataclass(frozen=True, slots=True)
class _Plot:
    x0: float
    x1: float
    y0: float
    y1: float

    def x(self, value: float) -> float:
        return LEFT + (value - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        return HEIGHT - BOTTOM - (value - self.y0) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM)


def _padded(low: float, high: float) -> tuple[float, float]:
    if high <= low:
        return low * 0.9 if low else -1.0, high * 1.1 if high else 1.0
    pad = (high - low) * 0.15
    return max(low - pad, 0.0) if low >= 0 else low - pad, high + pad


def _frame(plot: _Plot, title: str) -> str:
    bottom = HEIGHT - BOTTOM
    return (
        f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" class="axis"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" class="axis"/>'
    )


def _y_ticks(plot: _Plot, count: int = 4) -> list[str]:
    ticks = []
    for step in range(count + 1):
        value = plot.y0 + (plot.y1 - plot.y0) * step / count
        y = plot.y(value)
        ticks.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_money(value)}</text>"
        )
    return ticks


def _x_ticks(plot: _Plot, count: int = 3) -> list[str]:
    ticks = []
    for step in range(count + 1):
        moment = plot.x0 + (plot.x1 - plot.x0) * step / count
        anchor = "start" if step == 0 else "end" if step == count else "middle"
        shape = "%Y-%m-%d" if plot.x1 - plot.x0 > 2 * 86400 else "%m-%d %H:%M"
        label = datetime.fromtimestamp(moment, UTC).strftime(shape)
        ticks.append(
            f'<text class="tick" x="{plot.x(moment):.1f}" y="{HEIGHT - 12}" '
            f'text-anchor="{anchor}">{label}</text>'
        )
    return ticks


def _svg(parts: Sequence[str], title: str) -> Markup:
    body = "".join(parts)
    return Markup(  # noqa: S704 - every value inside is escaped or a number
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{body}</svg></figure>"
    )


def _money(value: float) -> str:
    if abs(value) >= 10_000:
        return f"{value / 1000:,.0f}k"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def open_chart(days: Sequence[tuple[str, int, int, int]], *, title: str) -> Markup:
    """Open postings per day as a line, with the day's new (up) and closed (down) bars.
    ``days``: (ISO day, open, new, closed)."""
    if not days:
        return Markup("")
    top = max(max(d[1] for d in days), max(d[2] for d in days), 1)
    plot = _Plot(0, max(len(days) - 1, 1), -max(max(d[3] for d in days), 0) * 1.1, top * 1.15)
    parts = [_frame(plot, title), *_count_ticks(plot)]
    width = max((WIDTH - LEFT - RIGHT) / max(len(days), 1) * 0.6, 1.5)
    zero = plot.y(0)
    points = []
    for index, (day, open_count, new, closed) in enumerate(days):
        x = plot.x(index) if len(days) > 1 else (LEFT + WIDTH - RIGHT) / 2
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
    parts.append(f'<text class="tick" x="{LEFT}" y="{HEIGHT - 12}">{first}</text>')
    parts.append(
        f'<text class="tick" x="{WIDTH - RIGHT}" y="{HEIGHT - 12}" text-anchor="end">{last}</text>'
    )
    return _svg(parts, title)


def _count_ticks(plot: _Plot) -> list[str]:
    ticks = []
    for value in sorted({0, round(plot.y1 / 1.15), round(plot.y1 / 2.3)}):
        y = plot.y(value)
        ticks.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>'
        )
    return ticks


def pay_distribution(postings: Sequence[Posting], *, title: str, buckets: int = 12) -> Markup:
    """How many of the postings pay around each amount (the midpoint of each range),
    in the most common currency and period among them."""
    salaries = [s for p in postings for s in p.salaries[:1]]
    units = Counter((s.currency or "", s.period.value if s.period else "") for s in salaries)
    if not units:
        return Markup("")
    (currency, period), _ = units.most_common(1)[0]
    mids = [
        _midpoint(s)
        for s in salaries
        if (s.currency or "", s.period.value if s.period else "") == (currency, period)
    ]
    values = [m for m in mids if m is not None]
    if not values:
        return Markup("")
    low, high = min(values), max(values)
    size = (high - low) / buckets or 1.0
    counts = Counter(min(int((v - low) / size), buckets - 1) for v in values)
    plot = _Plot(0, buckets, 0, max(counts.values()) * 1.15)
    parts = [_frame(plot, title), *_count_ticks(plot)]
    for bucket in range(buckets):
        n = counts.get(bucket, 0)
        x, y = plot.x(bucket), plot.y(n)
        start = low + bucket * size
        tip = escape(f"{_money(start)}–{_money(start + size)}: {n} posting(s)")
        parts.append(
            f'<rect class="new" x="{x + 1:.1f}" y="{y:.1f}" '
            f'width="{plot.x(bucket + 1) - x - 2:.1f}" height="{plot.y(0) - y:.1f}">'
            f"<title>{tip}</title></rect>"
        )
        if bucket % 3 == 0:
            parts.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 12}">{_money(start)}</text>')
    caption = f"{title} — midpoint of each range, {unit_label(currency, period)} ({len(values)})"
    return _svg(parts, caption)


def _midpoint(salary: Salary) -> float | None:
    values = [v for v in (salary.min, salary.max) if v is not None]
    return float(sum(values, Decimal(0)) / len(values)) if values else None
