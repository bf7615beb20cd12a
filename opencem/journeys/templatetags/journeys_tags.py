"""Template helpers of the journey pages: figures in their metric's units, and the chart
scripts."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from plotly.offline.offline import get_plotlyjs_version

from opencem.metrics.definitions import Metric, measure

register = template.Library()

# plotly.js as the staticfiles finder of the dashboards app serves it from the plotly package
# (the name carries the version, so it is cached for good); nothing is downloaded.
PLOTLY = f"dashboards/plotly-{get_plotlyjs_version()}.min.js"


@register.simple_tag
def journey_chart_scripts() -> str:
    """plotly.js, the dashboards' script that draws the charts and prints, and the journey
    pages' own PNG exports."""
    return format_html('<script src="{}" defer></script>\n<script src="{}" defer></script>\n'
                       '<script src="{}" defer></script>', static(PLOTLY),
                       static("dashboards/charts.js"), static("journeys/journeys.js"))


def unit_of(metric: str) -> str:
    return measure(Metric(metric)).unit_of_measure


@register.filter
def in_metric(value: float | None, metric: str) -> str:
    """A value in a metric's units: NPS 23.5, CSAT 85.2%, CES 5.21."""
    if value is None:
        return "–"
    uom = unit_of(metric)
    if uom == "mean":
        return f"{value:.2f}"
    if uom == "percent":
        return f"{value:.1f}%"
    return f"{value:+.1f}"


@register.filter
def gap_in_metric(value: float | None, metric: str) -> str:
    """A difference in a metric's units, always signed (percentage points for shares)."""
    if value is None:
        return "–"
    uom = unit_of(metric)
    if uom == "mean":
        return f"{value:+.2f}"
    return f"{value:+.1f}" + (" pp" if uom == "percent" else "")


@register.filter
def metric_label(metric: str) -> str:
    return measure(Metric(metric)).label


@register.filter
def get_item(mapping: dict[object, object], key: object) -> object:
    return mapping.get(key, "")
