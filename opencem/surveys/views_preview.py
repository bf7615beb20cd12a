"""The preview of a survey's draft: the respondent's pages, rendered by the same functions and
templates, with a banner saying it is a preview.

Answers are checked exactly as a respondent's are, but nothing is stored: the answers so far
live in the designer's session (so "Previous" works as on the real pages) and are dropped at
the end. Placeholders that a real link would fill (``{{customer.name}}``, ``{{hidden.store}}``)
show as themselves unless the preview's address gives a value (``?store=42``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from opencem.core.errors import ApplicationError
from opencem.surveys import selectors
from opencem.surveys.answers import validate_answers
from opencem.surveys.definition import PIPE_RE, HiddenField, SurveyDefinition
from opencem.surveys.models import Survey, SurveyVersion
from opencem.surveys.public_render import (
    MAX_HIDDEN_VALUE,
    Piping,
    Visit,
    check_page,
    choose_language,
    field_errors,
    pages_of,
    render_page,
    render_thanks,
    url_with,
)
from opencem.surveys.services import definition_digest
from opencem.surveys.views_builder import survey_in_scope, working_version


def _session_key(survey: Survey) -> str:
    return f"opencem.survey_preview.{survey.pk}"


def _piping(definition: dict[str, Any], hidden: dict[str, Any]) -> Piping:
    """Placeholders stand for themselves, in brackets, unless the preview was given a value."""
    attributes: dict[str, Any] = {}
    fills: dict[str, Any] = {}
    for key in PIPE_RE.findall(json.dumps(definition)):
        scope, _, name = key.partition(".")
        if scope == "attributes":
            attributes[name] = f"[{key}]"
        elif scope == "hidden":
            fills[name] = f"[{key}]"
    return Piping(customer_name="[customer.name]", attributes=attributes,
                  hidden={**fills, **hidden})


def _answers(request: HttpRequest, survey: Survey, version: SurveyVersion,
             definition: SurveyDefinition) -> dict[str, Any]:
    """The answers given so far in this preview; a fresh start (with any hidden values from
    the address) when asked, or when the draft changed since."""
    stored = request.session.get(_session_key(survey))
    if isinstance(stored, dict) and stored.get("version") == version.pk \
            and stored.get("digest") == _digest(version) and "restart" not in request.GET:
        answers = stored.get("answers")
        if isinstance(answers, dict):
            return answers
    hidden_ids = {q.id for q in definition.questions if isinstance(q, HiddenField)}
    answers = {k: str(request.GET[k])[:MAX_HIDDEN_VALUE] for k in hidden_ids
               if request.GET.get(k)}
    _remember(request, survey, version, answers)
    return answers


def _digest(version: SurveyVersion) -> str:
    # A draft edited since the preview began is previewed afresh.
    return hashlib.sha256(definition_digest(version.definition).encode()).hexdigest()[:16]


def _remember(request: HttpRequest, survey: Survey, version: SurveyVersion,
              answers: dict[str, Any] | None) -> None:
    if answers is None:
        request.session.pop(_session_key(survey), None)
    else:
        request.session[_session_key(survey)] = {"version": version.pk, "answers": answers,
                                                 "digest": _digest(version)}


def _banner(request: HttpRequest, survey: Survey, version: SurveyVersion,
            definition: SurveyDefinition, language: str) -> dict[str, Any]:
    url = reverse("survey_preview", args=[survey.pk])
    languages = definition.languages
    return {"preview": {
        "number": version.number, "draft": not version.is_published,
        "builder_url": reverse("survey_builder", args=[survey.pk]),
        "restart_url": url_with(url, restart=1, lang=request.GET.get("lang")),
        "languages": [(code, url_with(url, restart=1, lang=code), code == language)
                      for code in languages] if len(languages) > 1 else [],
    }}


@login_required
@require_http_methods(["GET", "POST"])
def survey_preview(request: HttpRequest, survey_id: int) -> HttpResponse:
    """The working version (the draft, else the live one) as respondents would see it."""
    survey = survey_in_scope(request, survey_id)
    version, raw = working_version(survey)
    definition = selectors.version_definition(version)
    language = choose_language(definition, requested=request.GET.get("lang", ""),
                               accept_language=request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
    answers = _answers(request, survey, version, definition)
    hidden_ids = {q.id for q in definition.questions if isinstance(q, HiddenField)}
    visit = Visit(survey=survey, version=version, definition=definition, language=language,
                  piping=_piping(raw, {k: v for k, v in answers.items() if k in hidden_ids}),
                  seed=f"preview:{request.user.pk}",
                  page_url=reverse("survey_preview", args=[survey.pk]), thanks_url="",
                  answers=answers)
    extra = {**_banner(request, survey, version, definition, language), "hidden_inputs": {}}
    if request.method == "GET":
        try:
            index = int(request.GET["page"])
        except (KeyError, ValueError):
            index = visit.resume_page() if answers else 0
        return render_page(request, visit, index, extra=extra)
    return _submit(request, visit, extra)


def _submit(request: HttpRequest, visit: Visit, extra: dict[str, Any]) -> HttpResponse:
    """One page posted: checked as on the real pages, remembered in the session only."""
    try:
        index = int(request.POST.get("page", ""))
    except ValueError:
        index = -1
    if index not in visit.visible_pages():
        return HttpResponseRedirect(url_with(visit.page_url, lang=request.GET.get("lang")))
    cleaned, submitted, errors = check_page(visit, index, request.POST)
    if errors:
        return render_page(request, visit, index, values={**visit.answers, **submitted},
                           errors=errors, status=422, extra=extra)
    following = [i for i in visit.visible_pages(cleaned) if i > index]
    if following:
        _remember(request, visit.survey, visit.version, cleaned)
        return HttpResponseRedirect(url_with(visit.page_url, page=following[0],
                                             lang=request.GET.get("lang")))
    try:
        validate_answers(visit.definition, cleaned, complete=True)
    except ApplicationError as exc:
        visit.answers = cleaned
        missing = field_errors(exc.errors)
        pages = pages_of(visit.definition)
        first = next((i for i in visit.visible_pages(cleaned)
                      if any(q.id in missing for q in pages[i])), index)
        return render_page(request, visit, first, errors=missing, status=422, extra=extra)
    _remember(request, visit.survey, visit.version, None)
    return render_thanks(request, visit, extra=extra)
