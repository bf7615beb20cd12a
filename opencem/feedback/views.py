"""The feedback stream page: every piece of customer voice in the viewer's scope, newest
first, filtered, and the same as a CSV download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from opencem.accounts.selectors import request_scope
from opencem.core.errors import ApplicationError
from opencem.core.htmx import HtmxHttpRequest, is_partial
from opencem.feedback import exports, selectors
from opencem.feedback.forms import FeedbackFilterForm

PER_PAGE = 25


@login_required
@require_GET
def feedback_list(request: HtmxHttpRequest) -> HttpResponse:
    """The page; htmx gets the next page of results on its own."""
    form = FeedbackFilterForm(request.GET, scope=request_scope(request))
    page, status = None, 422
    if form.is_valid():
        try:
            page = selectors.feedback_list(scope=request_scope(request),
                                           filters=form.to_filter(),
                                           cursor=request.GET.get("cursor") or None,
                                           limit=PER_PAGE)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            status = 200
    context = {"form": form, "page": page}
    if is_partial(request) and request.GET.get("cursor"):
        return render(request, "feedback/partials/feedback_rows.html", context, status=status)
    return render(request, "feedback/feedback_list.html", context, status=status)


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
