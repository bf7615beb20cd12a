"""The app's URLs plus ``POST /bench/bare-insert``, the floor the survey-submission benchmark
measures against: one response row like the widget's, created with a single INSERT through
the model (no validation, no events, no lookups). Only the benchmark's server serves it."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from opencem.feedback.models import Response


@csrf_exempt
def bare_insert(request: HttpRequest) -> JsonResponse:
    """Store the posted answers as one completed response, taking the body on trust."""
    body = json.loads(request.body)
    now = timezone.now()
    Response.objects.create(
        survey_id=body["survey"], survey_version_id=body["version"], unit_id=body["unit"],
        channel="web", language="en", answers=body["answers"], nps=body["answers"].get("nps"),
        completed=True, started_at=now, submitted_at=now, source="bench")
    return JsonResponse({"status": "received"}, status=201)


urlpatterns = [
    path("bench/bare-insert", bare_insert),
    path("", include("opencem.urls")),
]
