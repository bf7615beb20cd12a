"""The REST API at ``/api/v1/``: one NinjaAPI, a router per bounded context, and the one place
where domain errors become HTTP answers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import SessionAuth

from opencem.accounts.api import router as accounts_router
from opencem.closedloop.api import router as closedloop_router
from opencem.core.errors import ApplicationError, FieldError
from opencem.customers.api import router as customers_router
from opencem.dashboards.api import router as dashboards_router
from opencem.feedback.api import router as feedback_router
from opencem.integrations.api import router as integrations_router
from opencem.journeys.api import router as journeys_router
from opencem.metrics.api import router as metrics_router
from opencem.surveys.api import router as surveys_router
from opencem.surveys.api_distribution import router as distribution_router
from opencem.surveys.api_public import router as public_router
from opencem.textanalytics.api import router as textanalytics_router


class BearerOrSession(SessionAuth):
    """A bearer key (checked by ApiKeyMiddleware) or a signed-in browser session with CSRF."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if getattr(request, "auth_method", None) == "apikey":
            return request.user
        return super().authenticate(request, key)


api = NinjaAPI(
    title="OpenCEM API",
    version="1",
    description="Customers, interactions and the voice of the customer. Authenticate with "
                "`Authorization: Bearer <key>`; keys are made on the API keys page or with "
                "`opencem apikey create --user <username>`.",
    auth=BearerOrSession(),
    urls_namespace="api",
)
# The public routes first: the widget's submissions are the busiest requests there are, and
# Django tries the routes in order.
api.add_router("/public", public_router)
api.add_router("", accounts_router)
api.add_router("", customers_router)
api.add_router("", surveys_router)
api.add_router("", distribution_router)
api.add_router("", feedback_router)
api.add_router("", metrics_router)
api.add_router("", textanalytics_router)
api.add_router("", dashboards_router)
api.add_router("", journeys_router)
api.add_router("", closedloop_router)
api.add_router("", integrations_router)


def _loc(raw: list[Any] | tuple[Any, ...]) -> tuple[str | int, ...]:
    # ninja prefixes locations with where the value came from and the parameter name
    # ("body", "payload", ...); clients care about the field inside their own document.
    parts = list(raw)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
        if parts and parts[0] in ("payload", "filters", "params"):
            parts = parts[1:]
    return tuple(p for p in parts if isinstance(p, str | int))


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    headers = {"Retry-After": "60"} if exc.status == 429 else None
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [FieldError(_loc(e.get("loc", ())), str(e.get("msg", "is invalid")))
              for e in exc.errors]
    first = errors[0] if errors else None
    message = f"{first.as_dict()['field']}: {first.message}" if first else "Invalid request."
    err = ApplicationError(message, status=422, code="invalid", errors=errors)
    return api.create_response(request, err.as_dict(), status=422)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    err = ApplicationError("Authenticate with 'Authorization: Bearer <key>' or sign in.",
                           status=401, code="unauthorized")
    return api.create_response(request, err.as_dict(), status=401)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = "bad_request" if exc.status_code == 400 else "error"
    err = ApplicationError(str(exc), status=exc.status_code, code=code)
    return api.create_response(request, err.as_dict(), status=exc.status_code)
