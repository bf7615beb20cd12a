"""The analyst explorer (any metric by any dimension, table and chart), its CSV and XLSX
exports, and the printable executive summary.

The page and its exports read the same form through the same function, so an export holds
exactly the table on the page; scope and anonymity are applied by the metrics engine.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBase
from django.views.decorators.http import require_GET

from opencem.accounts.forms import apply_service_error
from opencem.accounts.selectors import request_scope
from opencem.core.errors import ApplicationError
from opencem.core.htmx import HtmxHttpRequest
from opencem.dashboards import charts, exports, selectors
from opencem.dashboards.explorer import ExplorerTable, explorer_table, filename
from opencem.dashboards.forms import ExecutiveForm, ExplorerForm
from opencem.dashboards.views import (
    executive_context,
    page,
    render_dashboard,
    require_role,
    run_filters,
)
from opencem.metrics.selectors import Metric


def _table(request: HtmxHttpRequest) -> tuple[ExplorerForm, ExplorerTable | None, int]:
    scope = request_scope(request)
    require_role(scope)
    if not request.GET:
        # The first visit: the form, ready with a question to start from.
        return ExplorerForm(scope=scope, initial={"metric": "nps", "group_by": "month"}), None, 200
    form = ExplorerForm(request.GET, scope=scope)
    if not form.is_valid():
        return form, None, 422
    if form.unit_code is None:
        return form, None, 200
    try:
        return form, explorer_table(scope=scope, question=form.to_question()), 200
    except ApplicationError as exc:
        apply_service_error(form, exc)
        return form, None, exc.status


@login_required
@require_GET
def explorer(request: HtmxHttpRequest) -> HttpResponse:
    """Pick a metric, one or two groupings, filters and a comparison; see table and chart."""
    form, table, status = _table(request)
    context: dict[str, Any] = {"form": form, "table": table}
    if table is not None:
        context["chart"] = charts.explorer_figure(table.series, labels=table.labels)
        context["query"] = request.GET.urlencode()
    return render_dashboard(request, "explorer", context, status)


def _export(request: HtmxHttpRequest, extension: str) -> HttpResponseBase:
    form, table, status = _table(request)
    if table is None:
        return page(request, "dashboards/explorer.html", {"form": form, "table": None},
                    status=status if status != 200 else 422)
    name = filename(form.to_question(), table.series, extension)
    if extension == "csv":
        return exports.table_csv(name, table.header(), table.export_rows())
    return exports.table_xlsx(name, table.header(), table.export_rows())


@login_required
@require_GET
def explorer_csv(request: HtmxHttpRequest) -> HttpResponseBase:
    """The explorer's table as CSV (formulas neutralised)."""
    return _export(request, "csv")


@login_required
@require_GET
def explorer_xlsx(request: HtmxHttpRequest) -> HttpResponseBase:
    """The explorer's table as an XLSX workbook (text never becomes a formula)."""
    return _export(request, "xlsx")


def summary_context(request: HtmxHttpRequest, form: ExecutiveForm) -> dict[str, Any]:
    scope = request_scope(request)
    context = executive_context(scope, form)
    unit = form.unit_code
    assert unit is not None
    start, end = form.period
    ces, group = selectors.headline(scope=scope, metric=Metric.CES, unit=unit, start=start,
                                    end=end)
    context["headlines"].append({"series": ces, "group": group})
    context["targets"] = selectors.targets_vs_actual(scope=scope, unit=unit, start=start,
                                                     end=end)
    return context


@login_required
@require_GET
def summary(request: HtmxHttpRequest) -> HttpResponse:
    """The executive summary of the viewer's scope, laid out for paper (print it, or save it
    as PDF from the browser's print dialogue)."""
    scope = request_scope(request)
    require_role(scope)
    form = ExecutiveForm(request.GET, scope=scope)
    figures, status = run_filters(form, lambda f: summary_context(request, f))
    return render_dashboard(request, "summary", {"form": form, **figures}, status)
