"""The customer-facing unsubscribe page, reached from every invitation email."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from opencem.core.errors import NotFound
from opencem.surveys.distribution import (
    unsubscribe_create,
    unsubscribe_parse,
    unsubscribe_survey_name,
)


# The signed token in the URL is the only credential, and mail clients send RFC 8058
# one-click POSTs without any CSRF token; a forged POST would need that signed token anyway.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what the link unsubscribes from with one button; POST does it.

    A GET never unsubscribes: mail scanners fetch every link in a message, and would
    otherwise unsubscribe customers who never clicked.
    """
    try:
        customer_id, survey_id = unsubscribe_parse(token)
        survey_name = unsubscribe_survey_name(survey_id)
    except NotFound:
        return render(request, "surveys/unsubscribe_invalid.html", status=404)
    context = {"survey_name": survey_name, "token": token}
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        try:
            unsubscribe_create(customer_id=customer_id, survey_id=survey_id,
                               source="one-click" if one_click else "link")
        except NotFound:
            return render(request, "surveys/unsubscribe_invalid.html", status=404)
        return render(request, "surveys/unsubscribe_done.html", context)
    return render(request, "surveys/unsubscribe.html", context)
