"""Plotly figures of the journey pages, built on the server with plotly's Python API and
embedded as JSON (``json_script``); the dashboards' ``charts.js`` draws them with the
plotly.js bundled in the plotly package (``static/journeys/journeys.js`` saves them as PNG).
Every chart sits next to a table of the same figures, which is what screen readers and
printouts use."""

from __future__ import annotations

import html
import json
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from opencem.journeys.paths import Flow
from opencem.journeys.selectors import EmotionPoint

INK = "#1d2330"
ACCENT = "#1f5fbf"
MUTED = "#5b6475"
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "color": INK,
        "size": 12}


def _plain(text: str) -> str:
    """A name as plotly.js shows it: it reads a few HTML tags in labels, so ``<`` and ``&``
    travel as entities (which it shows as the characters typed)."""
    return html.escape(text, quote=False)


def _as_json(fig: go.Figure) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(pio.to_json(fig, validate=False))
    return data


def emotion_chart(points: list[EmotionPoint]) -> dict[str, Any]:
    """The emotion curve: each stage's measured experience against the desired one, on the
    −100..100 scale the touchpoints share (a stage without a shown score is a gap)."""
    stages = [_plain(p.stage) for p in points]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=stages, y=[p.desired for p in points], name="Desired",
                             mode="lines+markers", line={"color": MUTED, "dash": "dash"},
                             hovertemplate="%{x}: desired %{y:.0f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=stages, y=[p.emotion for p in points], name="Measured",
                             mode="lines+markers", line={"color": ACCENT, "width": 3},
                             marker={"size": 10}, connectgaps=False,
                             hovertemplate="%{x}: %{y:.0f}<extra></extra>"))
    fig.add_hline(y=0, line={"color": "#c9ced8", "width": 1})
    fig.update_layout(
        template="none", height=260, margin={"l": 48, "r": 16, "t": 16, "b": 40},
        font=FONT, paper_bgcolor="#fff", plot_bgcolor="#fff",
        legend={"orientation": "h", "y": -0.2},
        yaxis={"range": [-105, 105], "title": {"text": "worst … best"}, "zeroline": False},
        xaxis={"type": "category"})
    return _as_json(fig)


def sankey_chart(flows: list[Flow]) -> dict[str, Any]:
    """The most common paths as a Sankey diagram: a node per touchpoint at each step, and a
    "left" node where customers stop."""
    nodes: dict[tuple[int, str], int] = {}

    def node(depth: int, name: str) -> int:
        return nodes.setdefault((depth, name), len(nodes))

    sources, targets, values = [], [], []
    for flow in flows:
        sources.append(node(flow.depth, flow.source))
        targets.append(node(flow.depth + 1, flow.target if flow.target is not None
                            else "(left)"))
        values.append(flow.customers)
    labels = [f"{depth + 1}. {_plain(name)}" if name != "(left)" else "left"
              for depth, name in nodes]
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": labels, "pad": 14, "thickness": 14, "color": ACCENT,
              "line": {"width": 0}},
        link={"source": sources, "target": targets, "value": values,
              "color": "rgba(31, 95, 191, 0.25)"}))
    fig.update_layout(template="none", height=420, font=FONT,
                      margin={"l": 8, "r": 8, "t": 8, "b": 8}, paper_bgcolor="#fff")
    return _as_json(fig)
