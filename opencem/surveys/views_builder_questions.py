"""The builder's question pages: add a question of any type, edit one, move it up or down,
remove it.

Move and remove are plain form posts that redirect back to the design page, so they work
without JavaScript; htmx posts them too and gets the question list back in place.
"""

from __future__ import annotations

from typing import Any, Literal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from opencem.core.errors import ApplicationError, NotFound
from opencem.core.htmx import HtmxHttpRequest, is_partial
from opencem.surveys.editing import (
    QUESTION_TYPES,
    languages_of,
    new_question_id,
    question_append,
    question_get,
    question_index,
    question_move,
    question_remove,
    question_replace,
    questions_of,
)
from opencem.surveys.forms import QuestionForm, apply_definition_error
from opencem.surveys.models import Survey
from opencem.surveys.views_builder import (
    builder_context,
    require_design,
    save_draft,
    survey_in_scope,
    working_version,
)


def _back(survey: Survey, question_id: str = "") -> HttpResponse:
    url = reverse("survey_builder", args=[survey.pk])
    return HttpResponseRedirect(f"{url}#question-{question_id}" if question_id else url)


def _form_page(request: HtmxHttpRequest, survey: Survey, form: QuestionForm,
               context: dict[str, Any]) -> HttpResponse:
    return render(request, "surveys/builder/question_form.html", {
        "survey": survey, "tab": "design", "form": form,
        "type_label": QUESTION_TYPES[form.kind], **context},
        status=422 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def question_new(request: HtmxHttpRequest, survey_id: int) -> HttpResponse:
    """Add a question of the type named by ``?type=`` at the end of the survey."""
    survey = survey_in_scope(request, survey_id)
    require_design(request, survey)
    kind = request.GET.get("type", "")
    if kind not in QUESTION_TYPES:
        raise Http404("No such question type.")
    version, definition = working_version(survey)
    questions = questions_of(definition)
    form = QuestionForm(request.POST or None, kind=kind, languages=languages_of(definition),
                        earlier=questions, taken_ids={str(q.get("id")) for q in questions},
                        suggested_id=new_question_id(definition, kind))
    if request.method == "POST" and form.is_valid():
        question = form.to_question()
        try:
            save_draft(request, survey, version, question_append(definition, question))
        except ApplicationError as exc:
            apply_definition_error(form, exc, form.error_fields(len(questions)))
        else:
            messages.success(request, f"Question \u201c{question['id']}\u201d added.")
            return _back(survey, question["id"])
    return _form_page(request, survey, form, {"version": version, "new": True})


@login_required
@require_http_methods(["GET", "POST"])
def question_edit(request: HtmxHttpRequest, survey_id: int, question_id: str) -> HttpResponse:
    """Edit a question's texts, options, scale, required flag and display logic."""
    survey = survey_in_scope(request, survey_id)
    require_design(request, survey)
    version, definition = working_version(survey)
    try:
        index = question_index(definition, question_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    question = question_get(definition, question_id)
    form = QuestionForm(request.POST or None, kind=str(question.get("type")),
                        languages=languages_of(definition),
                        earlier=questions_of(definition)[:index], question=question)
    if request.method == "POST" and form.is_valid():
        try:
            save_draft(request, survey, version,
                       question_replace(definition, question_id, form.to_question()))
        except ApplicationError as exc:
            apply_definition_error(form, exc, form.error_fields(index))
        else:
            messages.success(request, f"Question \u201c{question_id}\u201d saved.")
            return _back(survey, question_id)
    return _form_page(request, survey, form, {"version": version, "question": question})


def _list_changed(request: HtmxHttpRequest, survey: Survey, *, note: str = "",
                  error: str = "", anchor: str = "") -> HttpResponse:
    """After a move or removal: the question list for htmx, else back to the page."""
    if is_partial(request):
        # htmx swaps only 2xx answers, so a refusal comes back as 200 with its message.
        return render(request, "surveys/builder/_questions_swap.html", {
            **builder_context(request, survey), "note": note or error, "error": error})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, note)
    return _back(survey, anchor)


@login_required
@require_POST
def question_move_view(request: HtmxHttpRequest, survey_id: int,
                       question_id: str) -> HttpResponse:
    """Move a question one place up or down (``direction``)."""
    survey = survey_in_scope(request, survey_id)
    require_design(request, survey)
    direction: Literal["up", "down"] = "up" if request.POST.get("direction") == "up" \
        else "down"
    version, definition = working_version(survey)
    try:
        save_draft(request, survey, version, question_move(definition, question_id, direction))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        message = exc.errors[0].message.removeprefix("Value error, ") if exc.errors \
            else exc.message
        return _list_changed(request, survey, error=message, anchor=question_id)
    return _list_changed(request, survey, note=f"Moved \u201c{question_id}\u201d {direction}.",
                         anchor=question_id)


@login_required
@require_POST
def question_remove_view(request: HtmxHttpRequest, survey_id: int,
                         question_id: str) -> HttpResponse:
    """Remove a question (refused while later display logic looks at it)."""
    survey = survey_in_scope(request, survey_id)
    require_design(request, survey)
    version, definition = working_version(survey)
    try:
        save_draft(request, survey, version, question_remove(definition, question_id))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        message = exc.errors[0].message.removeprefix("Value error, ") if exc.errors \
            else exc.message
        return _list_changed(request, survey, error=message, anchor=question_id)
    return _list_changed(request, survey, note=f"Removed \u201c{question_id}\u201d.")
