"""htmx helpers: a typed request, and the rule that one view serves the page and its partial."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware."""

    htmx: HtmxDetails


def is_partial(request: HtmxHttpRequest) -> bool:
    """True when htmx asks for a fragment rather than the whole page."""
    return bool(request.htmx) and not request.htmx.boosted
