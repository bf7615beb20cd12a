"""htmx helpers: a typed request, and the rule that one view serves the page and its partial."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from opencem.core.errors import ApplicationError


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware."""

    htmx: HtmxDetails


def is_partial(request: HtmxHttpRequest) -> bool:
    """True when htmx asks for a fragment rather than the whole page."""
    return bool(request.htmx) and not request.htmx.boosted


class FilterForm(Protocol):
    """A list page's filter form: valid or not, and its filters as the selector takes them."""

    def is_valid(self) -> bool: ...

    def add_error(self, field: str | None, error: str) -> None: ...

    def to_filter(self) -> Any: ...


def filtered_list(request: HtmxHttpRequest, *, form: FilterForm,
                  fetch: Callable[[Any, str | None], Any], template: str,
                  rows_template: str) -> HttpResponse:
    """A filtered, cursor-paged list page: the whole page, or (to htmx asking for the next
    page) only its rows. ``fetch(filters, cursor)`` returns the page; bad filters and
    refused ones (an ``ApplicationError``) show on the form with status 422."""
    page, status = None, 422
    if form.is_valid():
        try:
            page = fetch(form.to_filter(), request.GET.get("cursor") or None)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            status = 200
    context = {"form": form, "page": page}
    if is_partial(request) and request.GET.get("cursor"):
        return render(request, rows_template, context, status=status)
    return render(request, template, context, status=status)
