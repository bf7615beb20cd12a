"""The respondent's side: the hosted survey pages at ``/s/<token>`` and ``/s/p/<slug>``.

Everything works with plain form posts and no JavaScript. What a page shows and how it is
read back lives in ``public_render``; loading a respondent's visit from a link and saving
their answers in ``public_links``; this module holds the views that tie them together.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_http_methods

from opencem.core.errors import ApplicationError
from opencem.feedback.services import response_progress
from opencem.surveys.answers import validate_answers
from opencem.surveys.invitations import invitation_by_token, invitation_mark_opened
from opencem.surveys.public_links import (
    anonymous_visit,
    invitation_visit,
    rate_limited,
    save,
)
from opencem.surveys.public_render import (
    HONEYPOT,
    Piping,
    Visit,
    check_page,
    choose_language,
    field_errors,
    finish,
    pages_of,
    problem,
    render_page,
    render_thanks,
    too_many,
    url_with,
)
from opencem.surveys.selectors import version_by_id, version_definition


def _submit(request: HttpRequest, visit: Visit) -> HttpResponse:
    if request.POST.get(HONEYPOT):
        # A bot: store nothing, but answer exactly as for a person so it learns nothing.
        return render_thanks(request, visit)
    pages = pages_of(visit.definition)
    try:
        index = int(request.POST.get("page", ""))
    except ValueError:
        index = -1
    if index not in visit.visible_pages():
        return HttpResponseRedirect(visit.page_url)
    cleaned, submitted, errors = check_page(visit, index, request.POST)
    if errors:
        with translation.override(visit.language):
            return render_page(request, visit, index, values={**visit.answers, **submitted},
                               errors=errors, status=422)
    following = [i for i in visit.visible_pages(cleaned) if i > index]
    try:
        if following:
            save(visit, cleaned, complete=False)
        else:
            # The last page: every shown, required question must now be answered.
            try:
                cleaned = validate_answers(visit.definition, cleaned, complete=True)
            except ApplicationError as exc:
                visit.answers = cleaned
                missing = field_errors(exc.errors)
                first = next((i for i in visit.visible_pages(cleaned)
                              if any(q.id in missing for q in pages[i])), index)
                return render_page(request, visit, first, errors=missing, status=422)
            save(visit, cleaned, complete=True)
    except ApplicationError as exc:
        return problem(request, exc, definition=visit.definition, language=visit.language)
    lang = request.GET.get("lang")
    target = url_with(visit.page_url, page=following[0], lang=lang) if following \
        else url_with(visit.thanks_url, lang=lang)
    return finish(HttpResponseRedirect(target), visit)


@require_http_methods(["GET", "POST"])
def invitation_survey(request: HttpRequest, token: str) -> HttpResponse:
    """A customer's single-use link: ``/s/<token>``."""
    if wait := rate_limited(request):
        return too_many(request, wait)
    visit = invitation_visit(request, token)
    if isinstance(visit, HttpResponse):
        return visit
    if request.method == "POST":
        return _submit(request, visit)
    if visit.invitation is not None:
        invitation_mark_opened(visit.invitation)
    return render_page(request, visit, _page_param(request, visit))


@require_http_methods(["GET"])
def invitation_thanks(request: HttpRequest, token: str) -> HttpResponse:
    """The thank-you page after a single-use link was answered."""
    if wait := rate_limited(request):
        return too_many(request, wait)
    try:
        invitation = invitation_by_token(token)
    except ApplicationError as exc:
        return problem(request, exc)
    if invitation.completed_at is None or invitation.response_id is None:
        return HttpResponseRedirect(reverse("survey_invitation", args=[token]))
    progress = response_progress(invitation.response_id)
    version = version_by_id(progress.version_id) if progress else None
    if version is None:
        return problem(request, ApplicationError("This survey is not available.",
                                                 status=404, code="not_found"))
    definition = version_definition(version)
    language = choose_language(definition, requested=request.GET.get("lang", "")
                               or invitation.language,
                               accept_language=request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
    customer = invitation.customer
    visit = Visit(survey=invitation.survey, version=version, definition=definition,
                  language=language, piping=Piping(
                      customer_name=customer.name if customer else "",
                      attributes=dict(customer.attributes or {}) if customer else {},
                      hidden=dict(invitation.hidden or {})),
                  seed="", page_url="", thanks_url="", answers={})
    return render_thanks(request, visit)


@require_http_methods(["GET", "POST"])
def anonymous_survey_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The survey open to anyone: ``/s/p/<slug>``; repeat answers are flagged, not refused."""
    if wait := rate_limited(request):
        return too_many(request, wait)
    visit = anonymous_visit(request, slug)
    if isinstance(visit, HttpResponse):
        return visit
    if request.method == "POST":
        return _submit(request, visit)
    return render_page(request, visit, _page_param(request, visit))


@require_http_methods(["GET"])
def anonymous_thanks(request: HttpRequest, slug: str) -> HttpResponse:
    if wait := rate_limited(request):
        return too_many(request, wait)
    visit = anonymous_visit(request, slug)
    if isinstance(visit, HttpResponse):
        return visit
    return render_thanks(request, visit)


def _page_param(request: HttpRequest, visit: Visit) -> int:
    try:
        return int(request.GET["page"])
    except (KeyError, ValueError):
        return visit.resume_page()
