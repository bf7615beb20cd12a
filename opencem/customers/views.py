"""Customer hub pages: home, customer search and the customer 360."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render

from opencem.accounts.selectors import request_scope, unit_list
from opencem.core.errors import ApplicationError, NotFound
from opencem.core.htmx import HtmxHttpRequest, is_partial
from opencem.customers import exports, selectors, timeline


@login_required
def home(request: HtmxHttpRequest) -> HttpResponse:
    scope = request_scope(request)
    return render(request, "customers/home.html", {
        "units": unit_list(scope=scope)[:200],
        "recent": selectors.interaction_list(scope=scope, limit=10).items,
    })


@login_required
def customer_list(request: HtmxHttpRequest) -> HttpResponse:
    scope = request_scope(request)
    query = request.GET.get("q", "")
    error = None
    try:
        page = selectors.customer_search(scope=scope, query=query,
                                         cursor=request.GET.get("cursor") or None, limit=25)
    except ApplicationError as exc:
        page, error = None, exc.message
    if page is not None and query and len(page.items) == 1 and not request.GET.get("cursor"):
        match = selectors.customer_find_by_identity(scope=scope, text=query)
        if match is not None and match.pk == page.items[0].pk and not is_partial(request):
            return redirect("customer_detail", customer_id=match.pk)
    template = ("customers/partials/customer_rows.html" if is_partial(request) and request.GET.get(
        "cursor") else "customers/customer_list.html")
    return render(request, template, {"page": page, "q": query, "error": error})


@login_required
def interaction_export(request: HtmxHttpRequest) -> HttpResponseBase:
    """The interactions the viewer may see, as a CSV download."""
    return exports.interactions_csv(scope=request_scope(request))


@login_required
def customer_detail(request: HtmxHttpRequest, customer_id: int) -> HttpResponse:
    scope = request_scope(request)
    try:
        customer = selectors.customer_get(scope=scope, customer_id=customer_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    cursor = request.GET.get("cursor") or None
    try:
        page = timeline.customer_timeline(customer_ids=[customer.pk], scope=scope,
                                          cursor=cursor, limit=30)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    context = {"customer": customer, "page": page}
    if is_partial(request) and cursor:
        return render(request, "customers/partials/timeline_entries.html", context)
    context.update(identities=selectors.customer_identities(customer.pk),
                   summary=selectors.customer_summary(scope=scope, customer_id=customer.pk))
    return render(request, "customers/customer_detail.html", context)
