"""The feedback stream page: every piece of customer voice in the viewer's scope, newest
first, filtered, and the same as a CSV download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from opencem.accounts.selectors import request_scope
from opencem.core.htmx import HtmxHttpRequest, filtered_list
from opencem.feedback import exports, selectors
from opencem.feedback.forms import FeedbackFilterForm

PER_PAGE = 25


@login_required
@require_GET
def feedback_list(request: HtmxHttpRequest) -> HttpResponse:
    """The page; htmx gets the next page of results on its own."""
    form = FeedbackFilterForm(request.GET, scope=request_scope(request))
    scope = request_scope(request)
    return filtered_list(
        request, form=form, template="feedback/feedback_list.html",
        rows_template="feedback/partials/feedback_rows.html",
        fetch=lambda filters, cursor: selectors.feedback_list(
            scope=scope, filters=filters, cursor=cursor, limit=PER_PAGE))


@login_required
@require_GET
def feedback_export(request: HtmxHttpRequest) -> HttpResponseBase:
    """The feedback the page lists under the same filters, as CSV; bad filters get the page
    with their errors."""
    form = FeedbackFilterForm(request.GET, scope=request_scope(request))
    if form.is_valid():
        return exports.feedback_csv(scope=request_scope(request), filters=form.to_filter())
    return render(request, "feedback/feedback_list.html", {"form": form, "page": None},
                  status=422)
