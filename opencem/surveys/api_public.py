"""The public API behind the embeddable web widget, at ``/api/v1/public/``; no key needed.

Only surveys open to anyone (``Survey.anonymous_link``) are served. Every endpoint counts
against the client IP's public rate limit, and answers carry CORS headers only for the
origins listed in ``OPENCEM_WIDGET_ORIGINS``. Errors are answered here rather than by the
API's shared handlers so that they carry the CORS headers too: a widget that cannot read
its error cannot tell its visitor what went wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from opencem.core.errors import ApplicationError, FieldError
from opencem.core.ratelimit import client_ip
from opencem.feedback.services import RespondentContext, response_submit
from opencem.surveys.answers import is_shown, validate_answers
from opencem.surveys.definition import (
    HiddenField,
    Question,
    SurveyDefinition,
    TextQuestion,
    localise,
)
from opencem.surveys.public_links import rate_limited, update_for
from opencem.surveys.public_render import (
    HONEYPOT,
    MAX_HIDDEN_VALUE,
    Piping,
    choose_language,
    prune,
    question_view,
)
from opencem.surveys.selectors import (
    OpenVersion,
    anonymous_survey,
    live_check,
    open_version,
    version_definition,
)

router = Router(tags=["public"], auth=None)

MAX_WIDGET_QUESTIONS = 2


class WidgetSubmission(BaseModel):
    """What the widget posts: the answers to the questions it showed."""

    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(max_length=50)
    hidden: dict[str, str | int | float] = Field(default_factory=dict, max_length=20)
    language: str = Field("", max_length=10)
    visitor: str = Field("", max_length=64)
    website: str = Field("", max_length=500)  # the honeypot: people leave it empty


def widget_origins() -> list[str]:
    """The origins allowed to call these endpoints from a browser (no trailing slash)."""
    return [str(origin).strip().rstrip("/") for origin in settings.OPENCEM_WIDGET_ORIGINS]


def _cors(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    # Read from META: ``request.headers`` would build a dict of every header first.
    origin = request.META.get("HTTP_ORIGIN", "")
    response["Vary"] = "Origin"
    if origin and origin in widget_origins():
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "600"
    return response


def _error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return _cors(request, JsonResponse(exc.as_dict(), status=exc.status))


def _received(request: HttpRequest) -> HttpResponse:
    # What JsonResponse({"status": "received"}) sends, without encoding it on every submission.
    return _cors(request, HttpResponse(b'{"status": "received"}', status=201,
                                       content_type="application/json"))


def _limited(request: HttpRequest) -> HttpResponse | None:
    wait = rate_limited(request)
    if not wait:
        return None
    response = _error(request, ApplicationError("Too many requests; try again shortly.",
                                                status=429, code="rate_limited"))
    response["Retry-After"] = str(wait)
    return response


def widget_questions(definition: SurveyDefinition) -> list[Question]:
    """What the widget asks: the first question, and the next one when it follows up on it
    (a free-text "why?", or a question whose display logic looks at the first)."""
    asked: list[Question] = [q for q in definition.questions
                             if not isinstance(q, HiddenField)]
    chosen = asked[:1]
    if len(asked) > 1:
        follow = asked[1]
        looks_back = follow.show_if is not None and all(
            c.question == asked[0].id for c in follow.show_if.conditions)
        if isinstance(follow, TextQuestion) or looks_back:
            chosen.append(follow)
    return chosen[:MAX_WIDGET_QUESTIONS]


def _question_payload(question: Question, *, language: str, default: str, seed: str,
                      piping: Piping) -> dict[str, Any]:
    view = question_view(question, language=language, default=default, piping=piping,
                         seed=seed)
    return {"id": view.id, "type": view.kind, "text": view.text, "help": view.help,
            "required": view.required,
            "options": [{"value": v, "label": label} for v, label in view.options],
            "low_label": view.low_label, "high_label": view.high_label,
            "max_length": view.max_length,
            "show_if": question.show_if.model_dump() if question.show_if else None}


@router.api_operation(["OPTIONS"], "/surveys/{slug}/widget", include_in_schema=False)
def widget_preflight(request: HttpRequest, slug: str) -> HttpResponse:
    return _cors(request, HttpResponse(status=204))


@router.get("/surveys/{slug}/widget", summary="The survey's widget questions")
def widget_survey(request: HttpRequest, slug: str, lang: str = "") -> HttpResponse:
    """The first question (and its follow-up) of a survey open to anyone, in the visitor's
    language, with the branding the widget draws it in."""
    if limited := _limited(request):
        return limited
    found = anonymous_survey(slug)
    if found is None:
        return _error(request, ApplicationError("This survey is not available.", status=404,
                                                code="not_found"))
    survey, version = found
    definition = version_definition(version)
    language = choose_language(definition, requested=lang[:10],
                               accept_language=request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
    default = definition.default_language
    # The page's hidden values (``h_store=42``) fill ``{{hidden.store}}``; nothing else is
    # known of an anonymous visitor, so other placeholders become empty, never braces.
    hidden_ids = {q.id for q in definition.questions if isinstance(q, HiddenField)}
    piping = Piping(hidden={key[2:]: value[:MAX_HIDDEN_VALUE]
                            for key, value in request.GET.items()
                            if key.startswith("h_") and key[2:] in hidden_ids})
    payload = {
        "slug": survey.slug, "language": language,
            "title": piping(localise(definition.title, language, default)),
        "thank_you": piping(localise(definition.thank_you, language, default)),
        "questions": [_question_payload(q, language=language, default=default,
                                        seed=survey.slug, piping=piping)
                      for q in widget_questions(definition)],
        "branding": definition.branding.model_dump(),
        "honeypot": HONEYPOT,
    }
    response = _cors(request, JsonResponse(payload))
    response["Cache-Control"] = "no-store"
    return response


@router.api_operation(["OPTIONS"], "/surveys/{slug}/responses", include_in_schema=False)
def response_preflight(request: HttpRequest, slug: str) -> HttpResponse:
    return _cors(request, HttpResponse(status=204))


def _visitor_key(request: HttpRequest, visitor: str) -> str:
    # The widget's own visitor id (kept in the page's localStorage) when it sent one, else
    # the address and browser; keyed, so neither can be read back from the stored value.
    raw = (f"visitor|{visitor}" if visitor else
           f"{client_ip(request)}|{request.META.get('HTTP_USER_AGENT', '')[:500]}")
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()


@router.post("/surveys/{slug}/responses", summary="Answer a survey from the widget",
             response={201: dict[str, str]},
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": WidgetSubmission.model_json_schema()}}}})
def widget_respond(request: HttpRequest, slug: str) -> HttpResponse:
    """Store the widget's answers as a completed response (``source="widget"``).

    The body is a WidgetSubmission. A filled honeypot gets the same 201 and stores nothing.
    """
    if limited := _limited(request):
        return limited
    body: WidgetSubmission | ApplicationError
    try:
        body = WidgetSubmission.model_validate(json.loads(request.body or b"{}"))
    except (ValueError, PydanticError) as exc:
        errors = [FieldError(tuple(str(p) for p in e["loc"]), e["msg"])
                  for e in exc.errors()] if isinstance(exc, PydanticError) else []
        body = ApplicationError("The body is not a valid submission.", errors=errors)
    # The survey as this process remembers it: a response is stored against it only while
    # it is still live (``live_check``). Anything else (the survey closed or changed, a refused
    # body, a filled honeypot) is answered from a fresh look-up: a closed survey is always a
    # 404, and a refusal names the questions of the live version.
    remembered = open_version(slug)
    if remembered is not None and not isinstance(body, ApplicationError) and not body.website:
        try:
            _store(request, body, slug, remembered)
        except ApplicationError:
            pass
        else:
            return _received(request)
    found = open_version(slug, fresh=True)
    if found is None:
        return _error(request, ApplicationError("This survey is not available.", status=404,
                                                code="not_found"))
    if isinstance(body, ApplicationError):
        return _error(request, body)
    if not body.website:
        try:
            _store(request, body, slug, found)
        except ApplicationError as exc:
            return _error(request, exc)
    return _received(request)


def _store(request: HttpRequest, body: WidgetSubmission, slug: str, found: OpenVersion) -> int:
    definition = found.definition
    asked = widget_questions(definition)
    hidden_ids = {q.id for q in definition.questions if isinstance(q, HiddenField)}
    errors = [FieldError(("answers", key), "is not asked by the widget")
              for key in body.answers if key not in {q.id for q in asked}]
    errors += [FieldError(("hidden", key), "is not a hidden field of this survey")
               for key in body.hidden if key not in hidden_ids]
    if errors:
        raise ApplicationError(f"{errors[0].as_dict()['field']}: {errors[0].message}",
                               errors=errors)
    answers = prune(definition, {**body.hidden, **body.answers})
    cleaned = validate_answers(definition, answers, complete=False)
    missing = [FieldError(("answers", q.id), "is required") for q in asked
               if q.required and is_shown(q, cleaned) and q.id not in cleaned]
    if missing:
        raise ApplicationError(f"answers.{missing[0].loc[-1]}: is required", errors=missing)
    language = choose_language(definition, requested=body.language)
    return response_submit(
        context=RespondentContext(
            survey_id=found.survey_id, version_id=found.version_id, unit_id=found.unit_id,
            language=language, source="widget", channel="web",
            respondent_key=_visitor_key(request, body.visitor)),
        update=update_for(definition, cleaned, complete=True, language=language),
        version_check=live_check(found, slug)).response_id
