"""The responses page: answers in the viewer's scope, newest first, filtered, each linked to
its customer's 360, and the same as a CSV download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from opencem.accounts.selectors import request_scope
from opencem.core.htmx import HtmxHttpRequest, filtered_list
from opencem.feedback import exports
from opencem.feedback.selectors import response_list as responses_page
from opencem.surveys.forms_responses import ResponseFilterForm

PER_PAGE = 25


@login_required
@require_GET
def response_list(request: HtmxHttpRequest) -> HttpResponse:
    """The page; htmx gets the next page of results on its own."""
    form = ResponseFilterForm(request.GET, scope=request_scope(request))
    scope = request_scope(request)
    return filtered_list(
        request, form=form, template="surveys/response_list.html",
        rows_template="surveys/partials/response_rows.html",
        fetch=lambda filters, cursor: responses_page(
            scope=scope, filters=filters, cursor=cursor, limit=PER_PAGE))


@login_required
@require_GET
def response_export(request: HtmxHttpRequest) -> HttpResponseBase:
    """The responses the page lists under the same filters, as CSV; bad filters get the page
    with their errors."""
    form = ResponseFilterForm(request.GET, scope=request_scope(request))
    if form.is_valid():
        return exports.responses_csv(scope=request_scope(request), filters=form.to_filter())
    return render(request, "surveys/response_list.html", {"form": form, "page": None},
                  status=422)
