"""Plotly figures of the dashboards, built on the server with plotly's Python API.

Each function returns the figure as JSON-ready data; the page embeds it with ``json_script``
(so no text in it can end the script element) and ``static/dashboards/charts.js`` draws it
with the plotly.js bundled in the plotly package. Suppressed groups are never plotted: a month
under the anonymity threshold is a gap in the line, a unit under it has no point. Every chart
sits next to a table of the same figures, which is what screen readers and printouts use.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from opencem.dashboards.selectors import LeagueRow
from opencem.metrics.selectors import (
    ConsistencyChart,
    ControlFlag,
    Dimension,
    Estimate,
    MetricSeries,
)

INK = "#1d2330"
ACCENT = "#1f5fbf"
BAND = "rgba(31, 95, 191, 0.15)"
GOOD = "#1b7a3a"
BAD = "#b3261e"
MUTED = "#5b6475"
PALETTE = ("#1f5fbf", "#b3541e", "#1b7a3a", "#7b3fa0", "#8a6d00", "#0f7c8a", "#a3214f",
           "#4d5b70")


def fmt(value: float | None, unit_of_measure: str, *, signed: bool = False) -> str:
    """A figure as a person reads it: points signed, shares with %, means to two places."""
    if value is None:
        return "–"
    if unit_of_measure == "count":
        return f"{value:,.0f}"
    if unit_of_measure == "mean":
        return f"{value:+.2f}" if signed else f"{value:.2f}"
    text = f"{value:+.1f}" if signed or unit_of_measure == "points" else f"{value:.1f}"
    if unit_of_measure == "percent":
        # A difference of two shares is in percentage points, not percent.
        return text + (" pp" if signed else "%")
    return text


def _layout(fig: go.Figure, *, title: str, y_title: str, height: int = 320) -> None:
    fig.update_layout(
        template="none", height=height, title={"text": title, "x": 0, "font": {"size": 15}},
        margin={"l": 56, "r": 16, "t": 40, "b": 48},
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
              "color": INK, "size": 12},
        paper_bgcolor="#fff", plot_bgcolor="#fff", showlegend=True,
        legend={"orientation": "h", "y": -0.2},
        hoverlabel={"bgcolor": "#fff"})
    fig.update_yaxes(title_text=y_title, gridcolor="#e6e9ef", zerolinecolor="#c5cbd6")
    fig.update_xaxes(gridcolor="#f0f2f6")


def as_data(fig: go.Figure) -> dict[str, Any]:
    """The figure as plain JSON data (dates as ISO text)."""
    data: dict[str, Any] = json.loads(pio.to_json(fig, validate=False))
    return data


def _hover(label: str, e: Estimate, unit_of_measure: str) -> str:
    if e.suppressed:
        return f"{label}: fewer than k responses"
    interval = ("" if e.low is None or e.high is None else
                f", 95% {fmt(e.low, unit_of_measure)} to {fmt(e.high, unit_of_measure)}")
    small = " — small sample" if e.small_sample else ""
    return f"{label}: {fmt(e.value, unit_of_measure)} (n={e.n:,}{interval}){small}"


def _months(first: date, last: date) -> list[date]:
    months = []
    day = first.replace(day=1)
    while day <= last:
        months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return months


def _runs(values: Sequence[float | None]) -> list[tuple[int, int]]:
    """(start, stop) index ranges of consecutive values that are not None."""
    runs: list[tuple[int, int]] = []
    begin: int | None = None
    for i, value in enumerate([*values, None]):
        if value is not None and begin is None:
            begin = i
        elif value is None and begin is not None:
            runs.append((begin, i))
            begin = None
    return runs


def trend_figure(series: MetricSeries, *, title: str) -> dict[str, Any]:
    """The metric month by month: the value with its 95% band; small samples as open
    markers; months without a figure (no responses, or under the anonymity threshold) are
    gaps in the line and the band."""
    by_month = {group.key[0]: group.estimate for group in series.groups}
    months = _months(series.start, series.end)
    estimates = [by_month.get(month) for month in months]
    values = [e.value if e is not None else None for e in estimates]
    hover = [_hover(f"{month:%b %Y}", e, series.unit_of_measure) if e is not None
             else f"{month:%b %Y}: no responses" for month, e in zip(months, estimates,
                                                                    strict=True)]
    small = [e is not None and e.small_sample and not e.suppressed for e in estimates]
    fig = go.Figure()
    for number, (begin, stop) in enumerate(_runs(values)):
        # One band per run of months with figures, so the band never bridges a gap.
        span = estimates[begin:stop]
        x = months[begin:stop]
        fig.add_trace(go.Scatter(
            x=x, y=[e.high if e.high is not None else e.value for e in span if e is not None],
            mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False,
            legendgroup="band"))
        fig.add_trace(go.Scatter(
            x=x, y=[e.low if e.low is not None else e.value for e in span if e is not None],
            mode="lines", line={"width": 0}, fill="tonexty", fillcolor=BAND,
            hoverinfo="skip", name="95% interval", legendgroup="band",
            showlegend=number == 0))
    fig.add_trace(go.Scatter(
        x=months, y=values, mode="lines+markers", name=series.label, connectgaps=False,
        line={"color": ACCENT, "width": 2}, hovertext=hover, hoverinfo="text",
        # Whiskers too: a month between two gaps has no band to sit in.
        error_y={"type": "data", "symmetric": False, "color": "rgba(31, 95, 191, 0.45)",
                 "thickness": 1, "width": 3,
                 "array": [e.high - e.value if e is not None and e.high is not None
                           and e.value is not None else 0 for e in estimates],
                 "arrayminus": [e.value - e.low if e is not None and e.low is not None
                                and e.value is not None else 0 for e in estimates]},
        marker={"size": 8, "color": ACCENT,
                "symbol": ["circle-open" if s else "circle" for s in small]}))
    if any(small):
        # A legend entry that says what an open marker means.
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="small sample (n < 30)",
                                 marker={"size": 8, "color": ACCENT, "symbol": "circle-open"}))
    _layout(fig, title=title, y_title=_axis_title(series.label, series.unit_of_measure))
    fig.update_xaxes(tickformat="%b %Y", dtick="M1",
                     range=[months[0] - timedelta(days=15), months[-1] + timedelta(days=15)])
    return as_data(fig)


def _axis_title(label: str, unit_of_measure: str) -> str:
    suffix = {"points": " (points)", "percent": " (%)", "mean": " (mean)"}.get(unit_of_measure,
                                                                               "")
    return label + suffix


def league_figure(rows: Sequence[LeagueRow], *, label: str, unit_of_measure: str,
                  title: str) -> dict[str, Any]:
    """Each shown unit's value with its 95% interval, best at the top; significant movers
    coloured (green up, red down)."""
    shown = [r for r in rows if r.estimate.value is not None][::-1]
    colours = []
    for row in shown:
        c = row.comparison
        colours.append(MUTED if c is None or not c.significant
                       else GOOD if c.difference > 0 else BAD)
    fig = go.Figure(go.Scatter(
        x=[r.estimate.value for r in shown], y=[r.unit.name for r in shown], mode="markers",
        name=label, marker={"size": 9, "color": colours},
        error_x={"type": "data", "symmetric": False,
                 "array": [(r.estimate.high or r.estimate.value or 0) - (r.estimate.value or 0)
                           for r in shown],
                 "arrayminus": [(r.estimate.value or 0) - (r.estimate.low or r.estimate.value
                                                           or 0) for r in shown],
                 "color": "#9aa3b2"},
        hovertext=[_hover(r.unit.name, r.estimate, unit_of_measure) for r in shown],
        hoverinfo="text"))
    _layout(fig, title=title, y_title="", height=max(240, 60 + 26 * len(shown)))
    fig.update_layout(showlegend=False, margin={"l": 160})
    fig.update_xaxes(title_text=_axis_title(label, unit_of_measure))
    return as_data(fig)


def consistency_figure(chart: ConsistencyChart, *, title: str) -> dict[str, Any]:
    """Each comparable unit's value against its own control limits (grey bars around the
    centre line); units outside their limits in colour."""
    points = [p for p in chart.points if p.point.value is not None]
    points.sort(key=lambda p: p.point.value or 0.0)
    names = [p.unit.name for p in points]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=names, y=[p.point.centre for p in points], mode="markers", name="control limits",
        marker={"size": 1, "color": "#9aa3b2"}, hoverinfo="skip",
        error_y={"type": "data", "symmetric": False, "thickness": 6, "width": 0,
                 "color": "#d5dae3",
                 "array": [(p.point.upper or 0) - (p.point.centre or 0) for p in points],
                 "arrayminus": [(p.point.centre or 0) - (p.point.lower or 0) for p in points]}))
    colours = [GOOD if p.point.flag == ControlFlag.ABOVE else BAD
               if p.point.flag == ControlFlag.BELOW else ACCENT for p in points]
    fig.add_trace(go.Scatter(
        x=names, y=[p.point.value for p in points], mode="markers", name=chart.label,
        marker={"size": 9, "color": colours},
        hovertext=[f"{p.unit.name}: {fmt(p.point.value, chart.unit_of_measure)} "
                   f"(n={p.point.n:,}; limits {fmt(p.point.lower, chart.unit_of_measure)} to "
                   f"{fmt(p.point.upper, chart.unit_of_measure)}) — {p.point.flag.value}"
                   for p in points], hoverinfo="text"))
    if chart.centre is not None:
        fig.add_hline(y=chart.centre, line={"color": MUTED, "dash": "dash", "width": 1})
    _layout(fig, title=title, y_title=_axis_title(chart.label, chart.unit_of_measure))
    fig.update_xaxes(tickangle=-30 if len(points) > 3 else 0, automargin=True)
    return as_data(fig)


def explorer_figure(series: MetricSeries, *, labels: Sequence[Sequence[str]]) -> dict[str, Any]:
    """The explorer's answer: lines over time when grouped by a period (one line per value of
    the other dimension), else bars with their 95% intervals."""
    dims = series.group_by
    time_at = next((i for i, d in enumerate(dims)
                    if d in (Dimension.DAY, Dimension.WEEK, Dimension.MONTH,
                             Dimension.QUARTER)), None)
    other_at = next((i for i in range(len(dims)) if i != time_at), None)
    lines: dict[str, list[int]] = {}
    for index, _group in enumerate(series.groups):
        name = labels[index][other_at] if other_at is not None and (
            time_at is not None or len(dims) > 1) else series.label
        lines.setdefault(name, []).append(index)
    fig = go.Figure()
    for number, (name, indexes) in enumerate(lines.items()):
        colour = PALETTE[number % len(PALETTE)]
        groups = [series.groups[i] for i in indexes]
        if time_at is not None:
            # Periods by their labels (2026-03, 2026 Q1, …), which sort as text in time order.
            x: list[Any] = [labels[i][time_at] for i in indexes]
        elif len(dims) > 1:
            main = 1 - (other_at or 0)
            x = [labels[i][main] for i in indexes]
        else:
            x = [labels[i][0] for i in indexes] if dims else [series.label]
        values = [g.estimate.value for g in groups]
        trace: dict[str, Any] = {
            "x": x, "y": values, "name": name,
            "hovertext": [_hover(" · ".join(labels[i]) or series.label,
                                 series.groups[i].estimate, series.unit_of_measure)
                          for i in indexes],
            "hoverinfo": "text",
            "error_y": {"type": "data", "symmetric": False, "color": "#9aa3b2",
                        "array": [(g.estimate.high or 0) - (g.estimate.value or 0)
                                  if g.estimate.value is not None and g.estimate.high is not None
                                  else 0 for g in groups],
                        "arrayminus": [(g.estimate.value or 0) - (g.estimate.low or 0)
                                       if g.estimate.value is not None
                                       and g.estimate.low is not None else 0
                                       for g in groups]}}
        if time_at is not None:
            fig.add_trace(go.Scatter(mode="lines+markers", connectgaps=False,
                                     line={"color": colour}, marker={"color": colour}, **trace))
        else:
            fig.add_trace(go.Bar(marker={"color": colour}, **trace))
    _layout(fig, title=series.label, y_title=_axis_title(series.label, series.unit_of_measure),
            height=380)
    fig.update_layout(showlegend=len(lines) > 1, barmode="group")
    if time_at is not None:
        fig.update_xaxes(type="category", categoryorder="category ascending")
    return as_data(fig)
