"""The respondent's side: the hosted survey pages at ``/s/<token>`` and ``/s/p/<slug>``.

Everything works with plain form posts and no JavaScript. A survey is cut into pages so that
display logic never looks at an answer on its own page: each page's questions are decided on
the server from the answers already saved. Answers are saved page by page as a partial
response, so a respondent who leaves can resume from the same link.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods

from opencem.core.errors import ApplicationError, FieldError
from opencem.core.ratelimit import client_ip, hit
from opencem.feedback.services import (
    RespondentContext,
    ResponseUpdate,
    response_open,
    response_progress,
    response_update,
)
from opencem.surveys.answers import is_shown, metric_values, validate_answers
from opencem.surveys.definition import (
    MAX_TEXT,
    ChoiceQuestion,
    ConsentQuestion,
    HiddenField,
    Question,
    ScaleQuestion,
    SurveyDefinition,
    TextQuestion,
    localise,
    pipe,
)
from opencem.surveys.invitations import (
    invitation_attach_response,
    invitation_by_token,
    invitation_lock_for_answer,
    invitation_mark_opened,
)
from opencem.surveys.models import Invitation, Survey, SurveyVersion
from opencem.surveys.selectors import live_version, version_definition

HONEYPOT = "website"  # a field people never see; bots that fill every input fill it
RESPONDENT_COOKIE = "ocem_r"
RESPONDENT_COOKIE_AGE = 365 * 24 * 3600
PROGRESS_SALT = "opencem.surveys.public.progress"
DONE_SALT = "opencem.surveys.public.done"
REPEAT_WINDOW = timedelta(hours=24)
MAX_HIDDEN_VALUE = 500


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


def choose_language(definition: SurveyDefinition, *, requested: str = "",
                    accept_language: str = "") -> str:
    """The language to show: the requested one (the invitation's), else the browser's
    preference among the survey's languages, else the survey's default."""
    available = definition.languages
    bases = {code.partition("-")[0]: code for code in available}

    def match(code: str) -> str | None:
        code = code.strip()
        if code in available:
            return code
        return bases.get(code.partition("-")[0].lower())

    if requested and (found := match(requested)):
        return found
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")[:20]):
        code, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if code and code != "*":
            weighted.append((-quality, i, code))
    for quality, _, code in sorted(weighted):
        if quality < 0 and (found := match(code)):
            return found
    return definition.default_language


def pages_of(definition: SurveyDefinition) -> list[list[Question]]:
    """The survey cut into pages: a new page starts where a question's display logic looks
    at an answer on the current page, so every page can be decided on the server."""
    pages: list[list[Question]] = []
    current: list[Question] = []
    for question in definition.questions:
        if isinstance(question, HiddenField):
            continue
        depends = {c.question for c in question.show_if.conditions} if question.show_if else set()
        if current and depends & {q.id for q in current}:
            pages.append(current)
            current = []
        current.append(question)
    if current:
        pages.append(current)
    return pages


def prune(definition: SurveyDefinition, answers: dict[str, Any]) -> dict[str, Any]:
    """Drop answers to questions that earlier answers now hide (the respondent went back and
    changed their mind), so what is stored matches what they could see."""
    kept: dict[str, Any] = {}
    for question in definition.questions:
        if question.id in answers and (isinstance(question, HiddenField)
                                       or is_shown(question, kept)):
            kept[question.id] = answers[question.id]
    return kept


def comments_of(definition: SurveyDefinition, answers: dict[str, Any]
                ) -> tuple[tuple[str, str], ...]:
    return tuple((q.id, answers[q.id]) for q in definition.questions
                 if isinstance(q, TextQuestion) and answers.get(q.id))


def update_for(definition: SurveyDefinition, answers: dict[str, Any], *, complete: bool,
               language: str) -> ResponseUpdate:
    values = metric_values(definition, answers)
    return ResponseUpdate(answers=answers, nps=values["nps"], csat=values["csat"],
                          ces=values["ces"], comments=comments_of(definition, answers),
                          complete=complete, language=language)


def friendly(message: str) -> str:
    """A validation message for a person rather than an integrator."""
    if message == "is required":
        return translation.gettext("Please answer this question.")
    if message.startswith("must"):
        return translation.gettext("This answer %(rule)s.") % {"rule": message}
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def field_errors(errors: list[FieldError] | tuple[FieldError, ...] | Any) -> dict[str, str]:
    """``{question_id: message}`` from the answers' errors (the first per question)."""
    found: dict[str, str] = {}
    for error in errors:
        key = str(error.loc[-1]) if error.loc else ""
        found.setdefault(key, friendly(error.message))
    return found


# What a template shows -------------------------------------------------------------------

@dataclass
class QuestionView:
    """One question as the respondent sees it: piped, localised, options in their order."""

    id: str
    kind: str  # scale, single, multiple, short, long, consent
    text: str
    help: str = ""
    required: bool = False
    error: str = ""
    value: Any = None
    options: list[tuple[str, str]] = field(default_factory=list)
    low_label: str = ""
    high_label: str = ""
    allow_other: bool = False
    other_text: str = ""
    max_length: int = MAX_TEXT

    @property
    def first_input(self) -> str:
        """The id of the control an error-summary link moves focus to."""
        if self.kind in ("scale", "single", "multiple"):
            return f"q-{self.id}-{self.options[0][0]}" if self.options else f"q-{self.id}"
        return f"q-{self.id}"

    @property
    def selected(self) -> list[str]:
        if isinstance(self.value, list):
            return [v if isinstance(v, str) else "other" for v in self.value]
        if isinstance(self.value, dict):
            return ["other"]
        return [] if self.value is None else [str(self.value)]


@dataclass
class Piping:
    customer_name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    hidden: dict[str, Any] = field(default_factory=dict)

    def __call__(self, text: str) -> str:
        return pipe(text, customer_name=self.customer_name, attributes=self.attributes,
                    hidden=self.hidden)


def question_view(question: Question, *, language: str, default: str, piping: Piping,
                  seed: str, value: Any = None, error: str = "") -> QuestionView:
    """Build the view of one question; choices are shuffled with a seed per respondent and
    question, so a respondent who reloads sees the same order."""
    text = piping(localise(getattr(question, "text", None), language, default))
    view = QuestionView(id=question.id, kind="short", text=text,
                        help=piping(localise(getattr(question, "help", None), language,
                                             default)),
                        required=question.required, error=error, value=value)
    if isinstance(question, ScaleQuestion):
        view.kind = "scale"
        view.options = [(str(n), str(n)) for n in range(question.min, question.max + 1)]
        view.low_label = piping(localise(question.low_label, language, default))
        view.high_label = piping(localise(question.high_label, language, default))
    elif isinstance(question, ChoiceQuestion):
        view.kind = "single" if question.type == "single_choice" else "multiple"
        options = [(c.id, piping(localise(c.label, language, default)))
                   for c in question.choices]
        if question.randomize:
            digest = hashlib.sha256(f"{seed}:{question.id}".encode()).digest()
            random.Random(int.from_bytes(digest[:8], "big")).shuffle(options)  # noqa: S311 (order, not secrecy)
        if question.allow_other:
            options.append(("other", translation.gettext("Other")))
            view.allow_other = True
            others = [v for v in (value if isinstance(value, list) else [value])
                      if isinstance(v, dict)]
            view.other_text = str(others[0].get("other", "")) if others else ""
        view.options = options
    elif isinstance(question, TextQuestion):
        view.kind = "long" if question.type == "long_text" else "short"
        view.max_length = question.max_length
    elif isinstance(question, ConsentQuestion):
        view.kind = "consent"
    return view


def read_answer(question: Question, data: Any) -> tuple[Any, str]:
    """The answer to one question from a submitted form, typed as the answers JSON wants it;
    and a message when the form value cannot be one (a tampered or broken form)."""
    name = f"q-{question.id}"
    if isinstance(question, ScaleQuestion):
        raw = str(data.get(name, "")).strip()
        if not raw:
            return None, ""
        if not raw.lstrip("-").isdigit() or len(raw) > 4:
            return None, translation.gettext("Choose a number from %(low)s to %(high)s.") % {
                "low": question.min, "high": question.max}
        return int(raw), ""
    if isinstance(question, ChoiceQuestion):
        picked = [str(v) for v in data.getlist(name)][:101]
        other = str(data.get(f"{name}-other", "")).strip()
        values: list[Any] = [{"other": other} if v == "other" and question.allow_other else v
                             for v in picked]
        if any(v == {"other": ""} for v in values):
            return None, translation.gettext("Please describe your “other” answer.")
        if question.type == "single_choice":
            return (values[0] if values else None), ""
        return values, ""
    if isinstance(question, ConsentQuestion):
        return (True if data.get(name) == "yes" else None), ""
    return str(data.get(name, "")), ""


# One respondent's visit ------------------------------------------------------------------

@dataclass
class Visit:
    """Everything a page needs about the respondent in front of it."""

    survey: Survey
    version: SurveyVersion
    definition: SurveyDefinition
    language: str
    piping: Piping
    seed: str
    page_url: str
    thanks_url: str
    answers: dict[str, Any]
    response_id: int | None = None
    invitation: Invitation | None = None
    respondent_key: str = ""
    repeat_hint: bool = False
    new_cookies: dict[str, tuple[str, int]] = field(default_factory=dict)

    def visible_pages(self, answers: dict[str, Any] | None = None) -> list[int]:
        """Indexes of the pages with at least one question these answers show."""
        answers = self.answers if answers is None else answers
        return [i for i, page in enumerate(pages_of(self.definition))
                if any(is_shown(q, answers) for q in page)]

    def resume_page(self) -> int:
        """Where a returning respondent carries on: the first page they have not answered."""
        pages = pages_of(self.definition)
        visible = self.visible_pages()
        for index in visible:
            if not any(q.id in self.answers for q in pages[index]):
                return index
        return visible[-1] if visible else 0


def _respondent_seed(request: HttpRequest, visit_cookies: dict[str, tuple[str, int]]) -> str:
    seed = request.COOKIES.get(RESPONDENT_COOKIE, "")
    if not seed or len(seed) > 64:
        seed = secrets.token_urlsafe(16)
        visit_cookies[RESPONDENT_COOKIE] = (seed, RESPONDENT_COOKIE_AGE)
    return seed


def _page(request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200,
          language: str = "en", definition: SurveyDefinition | None = None) -> HttpResponse:
    branding = definition.branding if definition else None
    accent = branding.accent_colour if branding else "#1f5fbf"
    context = {**context, "language": language, "logo_text": branding.logo_text if branding
               else "", "accent": accent, "accent_ink": _ink(accent),
               "on_accent": _on(accent), "honeypot": HONEYPOT}
    with translation.override(language):
        response = render(request, f"surveys/public/{template}", context, status=status)
    response["Content-Language"] = language
    # Survey pages hold a respondent's answers: never cached by a shared proxy.
    response["Cache-Control"] = "private, no-store"
    return response


def _luminance(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _on(accent: str) -> str:
    """Text colour on the accent (buttons, selected options): white or ink, whichever reads."""
    return "#ffffff" if _contrast(accent, "#ffffff") >= _contrast(accent, "#1d2330") \
        else "#1d2330"


def _ink(accent: str) -> str:
    """The accent as text on white, replaced by ink when a pale brand colour would fail the
    4.5:1 contrast that body text needs."""
    return accent if _contrast(accent, "#ffffff") >= 4.5 else "#1d2330"


def problem(request: HttpRequest, exc: ApplicationError, *,
            definition: SurveyDefinition | None = None, language: str = "en") -> HttpResponse:
    """The friendly page for a link that cannot be answered (unknown, expired, answered)."""
    template = {"expired": "expired.html", "already_answered": "answered.html",
                "closed": "expired.html"}.get(exc.code, "not_found.html")
    return _page(request, template, {"message": exc.message}, status=exc.status,
                 language=language, definition=definition)


def too_many(request: HttpRequest, retry_after: int) -> HttpResponse:
    response = _page(request, "rate_limited.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _finish(response: HttpResponse, visit: Visit) -> HttpResponse:
    for name, (value, age) in visit.new_cookies.items():
        if age <= 0:
            response.delete_cookie(name, samesite="Lax")
        else:
            response.set_cookie(name, value, max_age=age, httponly=True, samesite="Lax",
                                secure=settings.SESSION_COOKIE_SECURE)
    return response


def _url(base: str, **params: Any) -> str:
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{base}?{urlencode(query)}" if query else base


# Loading a visit from a link ---------------------------------------------------------------

def _invitation_visit(request: HttpRequest, token: str) -> Visit | HttpResponse:
    try:
        invitation = invitation_by_token(token)
    except ApplicationError as exc:
        return problem(request, exc)
    survey = invitation.survey
    progress = response_progress(invitation.response_id) if invitation.response_id else None
    version = (SurveyVersion.objects.filter(pk=progress.version_id).first() if progress
               else live_version(survey))
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


def anonymous_survey(slug: str) -> tuple[Survey, SurveyVersion] | None:
    """The survey open to anyone at ``/s/p/<slug>`` and its live version, if there is one."""
    survey = Survey.objects.select_related("unit").filter(
        slug=slug[:80], anonymous_link=True, archived_at__isnull=True).first()
    version = live_version(survey) if survey else None
    return (survey, version) if survey and version else None


def _anonymous_visit(request: HttpRequest, slug: str) -> Visit | HttpResponse:
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
        version = SurveyVersion.objects.filter(pk=progress.version_id).first() or version
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


# The page ----------------------------------------------------------------------------------

def _render_page(request: HttpRequest, visit: Visit, index: int, *,
                 values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status: int = 200) -> HttpResponse:
    pages = pages_of(visit.definition)
    visible = visit.visible_pages()
    if index not in visible:
        index = visit.resume_page()
    values = visit.answers if values is None else values
    errors = errors or {}
    default = visit.definition.default_language
    with translation.override(visit.language):
        questions = [question_view(q, language=visit.language, default=default,
                                   piping=visit.piping, seed=visit.seed, value=values.get(q.id),
                                   error=errors.get(q.id, ""))
                     for q in pages[index] if is_shown(q, visit.answers)]
    position = visible.index(index) + 1
    previous = max((i for i in visible if i < index), default=None)
    hidden_inputs = ({} if visit.response_id or visit.invitation else
                     {f"h-{k}": v for k, v in visit.answers.items()})
    context = {
        "visit": visit, "title": visit.piping(localise(visit.definition.title, visit.language,
                                                         default)),
        "intro": visit.piping(localise(visit.definition.intro, visit.language, default))
        if position == 1 else "",
        "questions": questions, "errors": errors, "page": index, "position": position,
        "total": len(visible), "is_last": index == visible[-1],
        "previous_url": _url(visit.page_url, page=previous, lang=request.GET.get("lang"))
        if previous is not None else "",
        "action": _url(visit.page_url, lang=request.GET.get("lang")),
        "hidden_inputs": hidden_inputs,
    }
    return _finish(_page(request, "page.html", context, status=status, language=visit.language,
                         definition=visit.definition), visit)


def _check_page(visit: Visit, index: int, data: Any
                ) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Merge one page's submitted answers into the saved ones and check them: the cleaned
    answers, what was submitted (to show again), and a message per question in error."""
    pages = pages_of(visit.definition)
    shown = [q for q in pages[index] if is_shown(q, visit.answers)]
    errors: dict[str, str] = {}
    submitted: dict[str, Any] = {}
    for question in shown:
        value, message = read_answer(question, data)
        submitted[question.id] = value
        if message:
            errors[question.id] = message
    merged = {k: v for k, v in visit.answers.items() if k not in {q.id for q in pages[index]}}
    merged.update({k: v for k, v in submitted.items() if v not in (None, "", [])})
    merged = prune(visit.definition, merged)
    cleaned: dict[str, Any] = {}
    try:
        cleaned = validate_answers(visit.definition, merged, complete=False)
    except ApplicationError as exc:
        for key, message in field_errors(exc.errors).items():
            errors.setdefault(key, message)
    for question in shown:
        if question.required and question.id not in cleaned and question.id not in errors:
            errors[question.id] = friendly("is required")
    return cleaned, submitted, errors


def _submit(request: HttpRequest, visit: Visit) -> HttpResponse:
    if request.POST.get(HONEYPOT):
        # A bot: store nothing, but answer exactly as for a person so it learns nothing.
        return _thanks(request, visit)
    pages = pages_of(visit.definition)
    try:
        index = int(request.POST.get("page", ""))
    except ValueError:
        index = -1
    if index not in visit.visible_pages():
        return HttpResponseRedirect(visit.page_url)
    cleaned, submitted, errors = _check_page(visit, index, request.POST)
    if errors:
        with translation.override(visit.language):
            return _render_page(request, visit, index, values={**visit.answers, **submitted},
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
                return _render_page(request, visit, first, errors=missing, status=422)
            save(visit, cleaned, complete=True)
    except ApplicationError as exc:
        return problem(request, exc, definition=visit.definition, language=visit.language)
    lang = request.GET.get("lang")
    target = _url(visit.page_url, page=following[0], lang=lang) if following \
        else _url(visit.thanks_url, lang=lang)
    return _finish(HttpResponseRedirect(target), visit)


def _thanks(request: HttpRequest, visit: Visit) -> HttpResponse:
    default = visit.definition.default_language
    message = visit.piping(localise(visit.definition.thank_you, visit.language, default))
    context = {"title": visit.piping(localise(visit.definition.title, visit.language, default)),
               "message": message}
    return _page(request, "thanks.html", context, language=visit.language,
                 definition=visit.definition)


@require_http_methods(["GET", "POST"])
def invitation_survey(request: HttpRequest, token: str) -> HttpResponse:
    """A customer's single-use link: ``/s/<token>``."""
    if wait := rate_limited(request):
        return too_many(request, wait)
    visit = _invitation_visit(request, token)
    if isinstance(visit, HttpResponse):
        return visit
    if request.method == "POST":
        return _submit(request, visit)
    if visit.invitation is not None:
        invitation_mark_opened(visit.invitation)
    return _render_page(request, visit, _page_param(request, visit))


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
    version = SurveyVersion.objects.filter(pk=progress.version_id).first() if progress else None
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
    return _thanks(request, visit)


@require_http_methods(["GET", "POST"])
def anonymous_survey_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The survey open to anyone: ``/s/p/<slug>``; repeat answers are flagged, not refused."""
    if wait := rate_limited(request):
        return too_many(request, wait)
    visit = _anonymous_visit(request, slug)
    if isinstance(visit, HttpResponse):
        return visit
    if request.method == "POST":
        return _submit(request, visit)
    return _render_page(request, visit, _page_param(request, visit))


@require_http_methods(["GET"])
def anonymous_thanks(request: HttpRequest, slug: str) -> HttpResponse:
    if wait := rate_limited(request):
        return too_many(request, wait)
    visit = _anonymous_visit(request, slug)
    if isinstance(visit, HttpResponse):
        return visit
    return _thanks(request, visit)


def _page_param(request: HttpRequest, visit: Visit) -> int:
    try:
        return int(request.GET["page"])
    except (KeyError, ValueError):
        return visit.resume_page()
