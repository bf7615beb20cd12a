"""What a respondent sees on the hosted survey pages: the language, the pages a survey is cut
into, each question as a template shows it, reading a submitted page back into answers, and
the rendering of pages (branded, never cached). The staff preview renders through the same
functions, so it shows exactly what respondents will see.

A survey is cut into pages so that display logic never looks at an answer on its own page:
each page's questions are decided on the server from the answers already saved.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from opencem.core.errors import ApplicationError, FieldError
from opencem.surveys.answers import is_shown, validate_answers
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
from opencem.surveys.models import Invitation, Survey, SurveyVersion

HONEYPOT = "website"  # a field people never see; bots that fill every input fill it
MAX_HIDDEN_VALUE = 500


# Languages, pages and answers -----------------------------------------------------------

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


# One respondent's visit (loaded from a link by public_links, or made up by the preview) ----

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


def render_public(request: HttpRequest, template: str, context: dict[str, Any], *,
                  status: int = 200, language: str = "en",
                  definition: SurveyDefinition | None = None) -> HttpResponse:
    """A respondent-facing page in the survey's branding and language, never cached."""
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
    return render_public(request, template, {"message": exc.message}, status=exc.status,
                         language=language, definition=definition)


def too_many(request: HttpRequest, retry_after: int) -> HttpResponse:
    response = render_public(request, "rate_limited.html", {"retry_after": retry_after},
                             status=429)
    response["Retry-After"] = str(retry_after)
    return response


def finish(response: HttpResponse, visit: Visit) -> HttpResponse:
    for name, (value, age) in visit.new_cookies.items():
        if age <= 0:
            response.delete_cookie(name, samesite="Lax")
        else:
            response.set_cookie(name, value, max_age=age, httponly=True, samesite="Lax",
                                secure=settings.SESSION_COOKIE_SECURE)
    return response


def url_with(base: str, **params: Any) -> str:
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{base}?{urlencode(query)}" if query else base


# The page ----------------------------------------------------------------------------------

def render_page(request: HttpRequest, visit: Visit, index: int, *,
                values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                status: int = 200, extra: dict[str, Any] | None = None) -> HttpResponse:
    """One page of the survey with the questions the answers so far show; ``extra`` adds to
    (or replaces) the template's context, as the staff preview does."""
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
        "previous_url": url_with(visit.page_url, page=previous, lang=request.GET.get("lang"))
        if previous is not None else "",
        "action": url_with(visit.page_url, lang=request.GET.get("lang")),
        "hidden_inputs": hidden_inputs,
        **(extra or {}),
    }
    return finish(render_public(request, "page.html", context, status=status,
                                language=visit.language, definition=visit.definition), visit)


def check_page(visit: Visit, index: int, data: Any
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


def render_thanks(request: HttpRequest, visit: Visit, *,
                  extra: dict[str, Any] | None = None) -> HttpResponse:
    """The thank-you page, in the survey's words when it has them."""
    default = visit.definition.default_language
    message = visit.piping(localise(visit.definition.thank_you, visit.language, default))
    context = {"title": visit.piping(localise(visit.definition.title, visit.language, default)),
               "message": message, **(extra or {})}
    return render_public(request, "thanks.html", context, language=visit.language,
                         definition=visit.definition)


