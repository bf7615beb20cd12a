"""The survey builder's pages: the list of surveys, a survey's design page, its texts, publish,
export and import, and the link open to anyone. The questions' own pages are in
``views_builder_questions``; the preview is in ``views_preview``.

Everyone whose scope covers a survey's unit sees these pages; only the unit's designers (admin
and analyst roles) get forms and buttons, and the services refuse everyone else whatever a
request says. Every edit goes through ``survey_save_draft``, so a refused edit changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opencem.accounts.forms import apply_service_error
from opencem.accounts.selectors import request_scope
from opencem.core.errors import ApplicationError, NotFound
from opencem.surveys import selectors, services
from opencem.surveys.editing import (
    QUESTION_TYPES,
    blank_definition,
    language_remove,
    languages_of,
    question_rows,
)
from opencem.surveys.forms import (
    SurveyCreateForm,
    SurveyImportForm,
    SurveyTextsForm,
    apply_definition_error,
)
from opencem.surveys.models import Survey, SurveyVersion
from opencem.surveys.templates_library import TEMPLATES

# Shared by the builder's views ---------------------------------------------------------------


def survey_in_scope(request: HttpRequest, survey_id: int) -> Survey:
    """The survey if the viewer's scope covers it; 404 otherwise, as for one that never was."""
    try:
        return selectors.survey_get(scope=request_scope(request), survey_id=survey_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def require_design(request: HttpRequest, survey: Survey) -> None:
    """403 unless the viewer may design surveys of the survey's unit."""
    if not request_scope(request).designs_unit(survey.unit_id):
        raise PermissionDenied("Designing this survey needs the admin or analyst role on "
                               f"{survey.unit.name}.")


def working_version(survey: Survey) -> tuple[SurveyVersion, dict[str, Any]]:
    """The version the builder shows and edits (the draft, else the live version) and a copy
    of its definition to change."""
    try:
        version = selectors.latest_version(survey)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return version, json.loads(json.dumps(version.definition))


def save_draft(request: HttpRequest, survey: Survey, before: SurveyVersion,
               definition: dict[str, Any]) -> SurveyVersion:
    """Save an edited definition (ApplicationError when pydantic or the scope refuses it);
    says so when the edit started a new draft beside the live version."""
    version = services.survey_save_draft(survey=survey, definition=definition,
                                         scope=request_scope(request))
    if version.number != before.number:
        messages.info(request, f"Draft version {version.number} started. Version "
                               f"{before.number} stays live until you publish the draft.")
    return version


def _signed_in(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required ran first; this narrows the type
        raise PermissionDenied("Sign in first.")
    return user


# The list ------------------------------------------------------------------------------------

def _list_page(request: HttpRequest, *, create: SurveyCreateForm | None = None,
               upload: SurveyImportForm | None = None, status: int = 200) -> HttpResponse:
    scope = request_scope(request)
    units = selectors.design_units(scope=scope)
    return render(request, "surveys/builder/survey_list.html", {
        "rows": selectors.survey_rows(scope=scope), "can_design": scope.can_design,
        "create_form": create or SurveyCreateForm(units=units, auto_id="new_%s"),
        "import_form": upload or SurveyImportForm(units=units, auto_id="import_%s"),
    }, status=status)


def _visible_to_someone(request: HttpRequest) -> None:
    if request_scope(request).is_empty:
        raise PermissionDenied("You have no role in any unit yet; ask an administrator.")


@login_required
@require_GET
def survey_list(request: HttpRequest) -> HttpResponse:
    """Surveys owned by units in scope, with their state; designers also get "New survey"
    and "Import JSON"."""
    _visible_to_someone(request)
    return _list_page(request)


@login_required
@require_POST
def survey_new(request: HttpRequest) -> HttpResponse:
    """Create a survey, blank or from a ready template, as draft version 1."""
    _visible_to_someone(request)
    scope = request_scope(request)
    form = SurveyCreateForm(request.POST, units=selectors.design_units(scope=scope),
                            auto_id="new_%s")
    if form.is_valid():
        data = form.cleaned_data
        definition = (blank_definition(data["name"]) if data["start"] == "blank"
                      else TEMPLATES[data["start"]])
        try:
            survey = services.survey_create(name=data["name"], unit=data["unit"],
                                            definition=definition, scope=scope,
                                            actor=_signed_in(request))
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"Survey \u201c{survey.name}\u201d created as draft "
                                      "version 1.")
            return redirect("survey_builder", survey_id=survey.pk)
    return _list_page(request, create=form, status=422)


@login_required
@require_POST
def survey_import(request: HttpRequest) -> HttpResponse:
    """Create a new draft survey from an exported JSON document."""
    _visible_to_someone(request)
    scope = request_scope(request)
    form = SurveyImportForm(request.POST, request.FILES,
                            units=selectors.design_units(scope=scope), auto_id="import_%s")
    if form.is_valid():
        try:
            survey = services.survey_import(document=form.cleaned_data["document"],
                                            unit=form.cleaned_data["unit"], scope=scope,
                                            actor=_signed_in(request))
        except ApplicationError as exc:
            _import_error(form, exc)
        else:
            messages.success(request, f"Survey \u201c{survey.name}\u201d imported as draft "
                                      "version 1.")
            return redirect("survey_builder", survey_id=survey.pk)
    return _list_page(request, upload=form, status=422)


def _import_error(form: SurveyImportForm, exc: ApplicationError) -> None:
    # Problems inside the document belong to the file; a refused unit to the unit.
    if any(e.loc[:1] == ("unit",) for e in exc.errors):
        apply_service_error(form, exc)
        return
    for error in exc.errors or ():
        where = ".".join(str(p) for p in error.loc)
        form.add_error("document", f"{where}: {error.message.removeprefix('Value error, ')}")
    if not exc.errors:
        form.add_error("document", exc.message)


# One survey ----------------------------------------------------------------------------------

def builder_context(request: HttpRequest, survey: Survey) -> dict[str, Any]:
    """What the design page and its htmx fragments show."""
    version, definition = working_version(survey)
    live = selectors.live_version(survey)
    return {
        "survey": survey, "tab": "design", "version": version, "live": live,
        "definition": definition, "rows": question_rows(definition),
        "languages": languages_of(definition),
        "title": (definition.get("title") or {}).get(definition.get("default_language", "en"),
                                                    ""),
        "can_design": request_scope(request).designs_unit(survey.unit_id),
        "question_types": QUESTION_TYPES,
    }


@login_required
@require_GET
def survey_builder(request: HttpRequest, survey_id: int) -> HttpResponse:
    """The design page: questions in order with their controls, publishing, the versions."""
    survey = survey_in_scope(request, survey_id)
    context = builder_context(request, survey)
    context["versions"] = selectors.survey_versions(survey)
    if survey.anonymous_link:
        context["anonymous_url"] = request.build_absolute_uri(
            reverse("survey_anonymous", args=[survey.slug]))
    return render(request, "surveys/builder/survey_detail.html", context)


@login_required
@require_POST
def survey_publish(request: HttpRequest, survey_id: int) -> HttpResponse:
    """Publish the draft: it is frozen, and new respondents answer it."""
    survey = survey_in_scope(request, survey_id)
    require_design(request, survey)
    try:
        version = services.survey_publish(survey=survey, scope=request_scope(request),
                                          actor=_signed_in(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Version {version.number} published: new respondents "
                                  "answer it from now on.")
    return redirect("survey_builder", survey_id=survey.pk)


@login_required
@require_POST
def survey_anonymous_link(request: HttpRequest, survey_id: int) -> HttpResponse:
    """Open or close the survey's link for anyone (``/s/p/<slug>``)."""
    survey = survey_in_scope(request, survey_id)
    require_design(request, survey)
    enabled = request.POST.get("enabled") == "1"
    services.survey_update(survey=survey, scope=request_scope(request), anonymous_link=enabled)
    messages.success(request, "The link for anyone is open." if enabled
                     else "The link for anyone is closed; it now answers \u201cnot "
                          "available\u201d.")
    return redirect("survey_builder", survey_id=survey.pk)


@login_required
@require_GET
def survey_export(request: HttpRequest, survey_id: int) -> HttpResponse:
    """A version (the latest unless ``?version=N``) as a JSON file to download."""
    survey = survey_in_scope(request, survey_id)
    try:
        number = int(request.GET["version"]) if request.GET.get("version") else None
        version = (selectors.version_get(survey, number) if number is not None
                   else selectors.latest_version(survey))
    except (ValueError, NotFound) as exc:
        raise Http404("No such version.") from exc
    body = json.dumps(services.survey_export(version=version), indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="{survey.slug}-v'
                                       f'{version.number}.json"')
    return response


@login_required
@require_http_methods(["GET", "POST"])
def survey_texts(request: HttpRequest, survey_id: int) -> HttpResponse:
    """The survey's name, title, introduction and thank-you message per language, its
    languages and its branding."""
    survey = survey_in_scope(request, survey_id)
    require_design(request, survey)
    version, definition = working_version(survey)
    form = SurveyTextsForm(request.POST or None, definition=definition,
                           languages=languages_of(definition), name=survey.name)
    if request.method == "POST" and form.is_valid():
        edited = form.apply(definition)
        removed = form.cleaned_data.get("remove_language")
        try:
            if removed:
                edited = language_remove(edited, removed)
            with transaction.atomic():  # the name and the texts are saved together or not
                save_draft(request, survey, version, edited)
                services.survey_update(survey=survey, scope=request_scope(request),
                                       name=form.cleaned_data["name"])
        except ApplicationError as exc:
            apply_definition_error(form, exc, form.error_fields)
        else:
            messages.success(request, "Texts saved.")
            return redirect("survey_builder", survey_id=survey.pk)
    return render(request, "surveys/builder/survey_texts.html", {
        "survey": survey, "tab": "design", "version": version, "form": form},
        status=422 if form.errors else 200)
