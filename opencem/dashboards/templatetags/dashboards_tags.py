"""Template helpers of the dashboards: figures as people read them, and the chart scripts."""

from __future__ import annotations

from typing import Any

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

from opencem.dashboards.charts import fmt
from opencem.dashboards.selectors import METRIC_LABELS
from opencem.dashboards.staticfiles import STATIC_PATH

register = template.Library()


@register.simple_tag
def chart_scripts() -> str:
    """plotly.js (from the plotly package) and the script that draws the page's charts."""
    return format_html('<script src="{}" defer></script>\n<script src="{}" defer></script>',
                       static(STATIC_PATH), static("dashboards/charts.js"))


@register.filter
def figure(value: float | None, unit_of_measure: str) -> str:
    """A value in its metric's units (23.5, 85.2%, 5.21)."""
    return fmt(value, unit_of_measure)


@register.filter
def metric_label(metric: str) -> str:
    """A metric's name for people (nps → NPS)."""
    return METRIC_LABELS.get(metric, metric)


@register.filter
def signed(value: float | None, unit_of_measure: str) -> str:
    """A difference, always with its sign (+4.2, −1.0)."""
    return fmt(value, unit_of_measure, signed=True)


@register.inclusion_tag("dashboards/partials/estimate.html")
def estimate(e: Any, unit_of_measure: str, k: int, *, interval: bool = True) -> dict[str, Any]:
    """A figure with its 95% interval, n and small-sample mark; "fewer than k responses" for a
    suppressed one, never a number."""
    return {"e": e or None, "uom": unit_of_measure, "k": k, "interval": interval}


@register.inclusion_tag("dashboards/partials/change.html")
def change(c: Any, unit_of_measure: str) -> dict[str, Any]:
    """A comparison: the difference, its interval and whether it is significant."""
    return {"c": c or None, "uom": unit_of_measure}
