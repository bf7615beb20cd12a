"""The two kinds of link a respondent arrives by, and saving what they answer.

A single-use link (``/s/<token>``) belongs to one invitation; the link open to anyone
(``/s/p/<slug>``) keeps a respondent's partial answers behind a signed cookie and flags, rather
than refuses, a repeat from the same browser. Answers are saved page by page as a partial
response, so a respondent who leaves can resume from the same link.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from opencem.core.errors import ApplicationError
from opencem.core.ratelimit import client_ip, hit
from opencem.feedback.services import (
    RespondentContext,
    ResponseUpdate,
    response_open,
    response_progress,
    response_update,
)
from opencem.surveys.answers import metric_values
from opencem.surveys.definition import HiddenField, SurveyDefinition, TextQuestion
from opencem.surveys.invitations import (
    invitation_attach_response,
    invitation_by_token,
    invitation_lock_for_answer,
)
from opencem.surveys.models import Survey
from opencem.surveys.public_render import (
    MAX_HIDDEN_VALUE,
    Piping,
    Visit,
    choose_language,
    problem,
)
from opencem.surveys.selectors import (
    anonymous_survey,
    live_version,
    version_by_id,
    version_definition,
)

RESPONDENT_COOKIE = "ocem_r"
RESPONDENT_COOKIE_AGE = 365 * 24 * 3600
PROGRESS_SALT = "opencem.surveys.public.progress"
DONE_SALT = "opencem.surveys.public.done"
REPEAT_WINDOW = timedelta(hours=24)


# Shared with the widget API ------------------------------------------------------------

def rate_limited(request: HttpRequest) -> int:
    """Count this request against the client IP's public budget; the seconds to wait, or 0.

    One bucket covers every public endpoint (pages, thank-you, widget API), so a client
    cannot multiply its budget by spreading over them.
    """
    decision = hit(f"public:{client_ip(request)}",
                   limit=settings.OPENCEM_PUBLIC_RATE_LIMIT)
    return 0 if decision.allowed else max(1, decision.retry_after)


def respondent_key(request: HttpRequest) -> str:
    """A keyed hash of the client's address and browser, to flag repeat answers.

    Keyed with SECRET_KEY, so the stored value cannot be reversed into an IP address by
    trying all four billion of them.
    """
    raw = f"{client_ip(request)}|{request.META.get('HTTP_USER_AGENT', '')[:500]}"
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()


def comments_of(definition: SurveyDefinition, answers: dict[str, Any]
                ) -> tuple[tuple[str, str], ...]:
    """The free-text answers, which become feedback items."""
    return tuple((q.id, answers[q.id]) for q in definition.questions
                 if isinstance(q, TextQuestion) and answers.get(q.id))


def update_for(definition: SurveyDefinition, answers: dict[str, Any], *, complete: bool,
               language: str) -> ResponseUpdate:
    """The stored form of a page's answers, with the metric columns filled in."""
    values = metric_values(definition, answers)
    return ResponseUpdate(answers=answers, nps=values["nps"], csat=values["csat"],
                          ces=values["ces"], comments=comments_of(definition, answers),
                          complete=complete, language=language)


def _respondent_seed(request: HttpRequest, visit_cookies: dict[str, tuple[str, int]]) -> str:
    seed = request.COOKIES.get(RESPONDENT_COOKIE, "")
    if not seed or len(seed) > 64:
        seed = secrets.token_urlsafe(16)
        visit_cookies[RESPONDENT_COOKIE] = (seed, RESPONDENT_COOKIE_AGE)
    return seed


# Loading a visit from a link ---------------------------------------------------------------

def invitation_visit(request: HttpRequest, token: str) -> Visit | HttpResponse:
    """The visit behind a single-use link, or the friendly page saying why there is none."""
    try:
        invitation = invitation_by_token(token)
    except ApplicationError as exc:
        return problem(request, exc)
    survey = invitation.survey
    progress = response_progress(invitation.response_id) if invitation.response_id else None
    version = version_by_id(progress.version_id) if progress else live_version(survey)
    if version is None or (survey.archived_at is not None and invitation.completed_at is None):
        return problem(request, ApplicationError("This survey is closed.", status=410,
                                                 code="closed"))
    definition = version_definition(version)
    language = choose_language(definition, requested=request.GET.get("lang", "")
                               or invitation.language,
                               accept_language=request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
    if invitation.completed_at is not None or (progress and progress.completed):
        return problem(request, ApplicationError(
            "This survey was already answered. Thank you!",
            status=200 if request.method == "GET" else 409, code="already_answered"),
            definition=definition, language=language)
    if invitation.expires_at <= timezone.now():
        return problem(request, ApplicationError("This survey link has expired.", status=410,
                                                 code="expired"),
                       definition=definition, language=language)
    customer = invitation.customer
    hidden_ids = {q.id for q in definition.questions if isinstance(q, HiddenField)}
    hidden = {k: v for k, v in (invitation.hidden or {}).items() if k in hidden_ids}
    answers = progress.answers if progress else dict(hidden)
    piping = Piping(customer_name=customer.name if customer else "",
                    attributes=dict(customer.attributes or {}) if customer else {},
                    hidden={**hidden, **{k: v for k, v in answers.items() if k in hidden_ids}})
    page_url = reverse("survey_invitation", args=[token])
    return Visit(survey=survey, version=version, definition=definition, language=language,
                 piping=piping, seed=f"invitation:{invitation.token_hash}",
                 page_url=page_url, thanks_url=reverse("survey_invitation_thanks",
                                                       args=[token]),
                 answers=answers, response_id=invitation.response_id, invitation=invitation)


def _progress_cookie(survey: Survey) -> str:
    return f"ocem_s{survey.pk}"


def _done_cookie(survey: Survey) -> str:
    return f"ocem_d{survey.pk}"


def anonymous_visit(request: HttpRequest, slug: str) -> Visit | HttpResponse:
    """The visit behind the link open to anyone, resumed from its progress cookie."""
    found = anonymous_survey(slug)
    if found is None:
        return problem(request, ApplicationError("This survey is not available.",
                                                 status=404, code="not_found"))
    survey, version = found
    cookies: dict[str, tuple[str, int]] = {}
    progress = None
    signed = request.COOKIES.get(_progress_cookie(survey), "")
    if signed:
        try:
            progress = response_progress(int(signing.loads(signed, salt=PROGRESS_SALT)))
        except (signing.BadSignature, ValueError, TypeError):
            progress = None
        if progress is None or progress.completed or progress.survey_id != survey.pk:
            progress = None
            cookies[_progress_cookie(survey)] = ("", 0)
    if progress is not None and progress.version_id != version.pk:
        version = version_by_id(progress.version_id) or version
    definition = version_definition(version)
    language = choose_language(definition, requested=request.GET.get("lang", ""),
                               accept_language=request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
    hidden_ids = {q.id for q in definition.questions if isinstance(q, HiddenField)}
    if progress is not None:
        answers = progress.answers
    else:
        # A link may carry hidden values (?store=42); they ride along in the form until the
        # first save, then live in the stored answers.
        source = request.POST if request.method == "POST" else request.GET
        answers = {k: str(source.get(k if request.method == "GET" else f"h-{k}"))
                   [:MAX_HIDDEN_VALUE] for k in hidden_ids
                   if source.get(k if request.method == "GET" else f"h-{k}")}
    done = request.COOKIES.get(_done_cookie(survey), "")
    try:
        repeat = bool(done) and bool(signing.loads(done, salt=DONE_SALT,
                                                   max_age=REPEAT_WINDOW))
    except signing.BadSignature:
        repeat = False
    visit = Visit(survey=survey, version=version, definition=definition, language=language,
                  piping=Piping(hidden={k: v for k, v in answers.items() if k in hidden_ids}),
                  seed="", page_url=reverse("survey_anonymous", args=[slug]),
                  thanks_url=reverse("survey_anonymous_thanks", args=[slug]),
                  answers=answers, response_id=progress.id if progress else None,
                  respondent_key=respondent_key(request), repeat_hint=repeat,
                  new_cookies=cookies)
    visit.seed = f"respondent:{_respondent_seed(request, visit.new_cookies)}"
    return visit


# Saving ----------------------------------------------------------------------------------

def _context(visit: Visit) -> RespondentContext:
    invitation = visit.invitation
    if invitation is not None:
        interaction = invitation.interaction
        channel = interaction.channel if interaction else (
            "email" if invitation.channel == "email" else "web")
        return RespondentContext(
            survey_id=visit.survey.pk, version_id=visit.version.pk, unit_id=invitation.unit_id,
            language=visit.language, source="survey_invitation",
            customer_id=invitation.customer_id, interaction_id=invitation.interaction_id,
            touchpoint=invitation.touchpoint, channel=channel)
    return RespondentContext(
        survey_id=visit.survey.pk, version_id=visit.version.pk, unit_id=visit.survey.unit_id,
        language=visit.language, source="survey_link", channel="web",
        respondent_key=visit.respondent_key, flags=("repeat",) if visit.repeat_hint else ())


def save(visit: Visit, answers: dict[str, Any], *, complete: bool) -> int:
    """Store the answers so far (and complete the response when ``complete``).

    An invitation's row is locked first, so however many submissions of one link race, one
    response is made and one completes it; the others get "already answered".
    """
    update = update_for(visit.definition, answers, complete=complete, language=visit.language)
    with transaction.atomic():
        if visit.invitation is not None:
            invitation = invitation_lock_for_answer(visit.invitation.pk)
            response_id = invitation.response_id
            if response_id is None:
                response_id = response_open(context=_context(visit))
                invitation_attach_response(invitation=invitation, response_id=response_id,
                                           completed=False)
            response_update(response_id=response_id, update=update)
            if complete:
                invitation_attach_response(invitation=invitation, response_id=response_id,
                                           completed=True)
            return response_id
        response_id = visit.response_id or response_open(context=_context(visit))
        response_update(response_id=response_id, update=update)
    progress = _progress_cookie(visit.survey)
    if complete:
        visit.new_cookies[progress] = ("", 0)
        visit.new_cookies[_done_cookie(visit.survey)] = (
            signing.dumps(1, salt=DONE_SALT), int(REPEAT_WINDOW.total_seconds()))
    elif visit.response_id is None:
        visit.new_cookies[progress] = (signing.dumps(response_id, salt=PROGRESS_SALT),
                                       30 * 24 * 3600)
    return response_id

