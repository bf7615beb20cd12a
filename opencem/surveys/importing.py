"""``opencem import responses FILE --survey ID|SLUG [--version N]``: responses collected
elsewhere (another survey platform's export, say) recorded against a published version of a
survey here, through the rules of ``POST /api/v1/responses``.

Each row's answers are checked against the version (``responses.submission_check``: scores
out of range, unknown options, answers to hidden or unknown questions are refused with the
question named) ahead of the writing; ``feedback.services.responses_record`` stores them with
their original timestamps, unit and customer, idempotent on ``(source, external_id)``.

In a CSV file answers come from columns ``question:<question_id>`` (or ``--map
question:<question_id>=<column>``), as text: a score as a whole number, a choice by its id or
its label in any of the survey's languages (``other: <text>`` for an "other" answer), several
choices separated by ``;``, consent as yes/no. JSON Lines rows carry ``answers`` as the API
takes them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from pydantic import Field, TypeAdapter

from opencem.accounts.selectors import Scope
from opencem.core.errors import ApplicationError, FieldError
from opencem.core.importing import (
    BatchOutcome,
    ImportFailed,
    ImportKind,
    ImportOptions,
    KindOption,
    Nested,
    PreparedRows,
    Row,
    RowReader,
    RowShape,
    RowWriter,
    kind_register,
    row_errors,
    store_each,
    validate_models,
    with_zone,
)
from opencem.core.text import CleanStr
from opencem.customers.importing import PERSON_FIELDS, RowCustomer, import_scope, one_pass
from opencem.customers.schemas import StrictSchema
from opencem.feedback.services import ResponseInput, responses_record
from opencem.surveys import selectors
from opencem.surveys.definition import (
    ChoiceQuestion,
    ConsentQuestion,
    ScaleQuestion,
)
from opencem.surveys.models import Survey, SurveyVersion
from opencem.surveys.responses import Submission, submission_check

ANSWERS = Nested("question:", "answers", "<question_id>")
DEFAULT_SOURCE = "import"
WHOLE_NUMBER = re.compile(r"[+-]?\d+")
YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0"})
OTHER = "other:"
EXTERNAL_ID_NEEDED = "is required for an import: it keeps a second run of the file from " \
                     "storing the row again"


class _RowResponse(StrictSchema):
    """``ResponseIn`` of the API without ``survey`` and ``version`` (the command names them)
    and without ``interaction`` (an id of this system, which history from elsewhere cannot
    know); the same field rules and messages otherwise."""

    _run_root_validator = classmethod(one_pass)  # type: ignore[assignment]  # see customers

    answers: dict[str, Any] = Field(default_factory=dict)
    complete: bool = True
    unit: CleanStr | None = Field(None, max_length=64)
    customer: RowCustomer | None = None
    touchpoint: CleanStr = Field("", max_length=64)
    channel: CleanStr = Field("", max_length=20)
    language: CleanStr = Field("", max_length=10)
    started_at: datetime | None = None
    submitted_at: datetime | None = None
    source: CleanStr = Field(DEFAULT_SOURCE, max_length=64)
    external_id: CleanStr = Field("", max_length=200)


_RESPONSES = TypeAdapter(list[_RowResponse])


class ResponseRows(RowReader):
    """Response rows answering one published survey version."""

    shape = RowShape(
        fields=("source", "external_id", "submitted_at", "started_at", "complete", "unit",
                "touchpoint", "channel", "language"),
        person=PERSON_FIELDS, nested=(ANSWERS,))

    def __init__(self, version: SurveyVersion) -> None:
        self.version = version  # with its survey and unit loaded: the reader reads no database
        self.definition = selectors.version_definition(version)
        self.questions = {q.id: q for q in self.definition.questions}
        # Choice labels in every language, for files that hold labels rather than ids.
        self.labels: dict[str, dict[str, str]] = {
            q.id: {text.casefold(): c.id for c in q.choices for text in c.label.values()}
            for q in self.definition.questions if isinstance(q, ChoiceQuestion)}

    def check_target(self, target: str) -> str | None:
        question = ANSWERS.name_of(target)
        if question is None or question in self.questions:
            return None
        return (f"version {self.version.number} of survey {self.version.survey.slug!r} has no "
                f"question {question!r} (it has {', '.join(self.questions)})")

    def adjust(self, body: dict[str, Any]) -> dict[str, Any]:
        answers = body.get("answers")
        if answers:
            body["answers"] = {qid: self._answer(qid, text) for qid, text in answers.items()}
        return body

    def _answer(self, question_id: str, text: str) -> Any:
        """A CSV cell as the API's answer; a cell that fits no form is left as text for the
        check to refuse with the question's own message."""
        question = self.questions.get(question_id)
        value = text.strip()
        if isinstance(question, ScaleQuestion) and WHOLE_NUMBER.fullmatch(value):
            return int(value)
        if isinstance(question, ConsentQuestion):
            word = value.casefold()
            return True if word in YES else False if word in NO else value
        if isinstance(question, ChoiceQuestion):
            if question.type == "single_choice":
                return self._choice(question, value)
            return [self._choice(question, part.strip()) for part in value.split(";")
                    if part.strip()]
        return text

    def _choice(self, question: ChoiceQuestion, value: str) -> Any:
        if question.allow_other and value.casefold().startswith(OTHER):
            return {"other": value[len(OTHER):].strip()}
        if any(c.id == value for c in question.choices):
            return value
        return self.labels[question.id].get(value.casefold(), value)

    def prepare(self, rows: Sequence[Row], zone: ZoneInfo | None) -> PreparedRows:
        models, errors = validate_models(_RESPONSES, rows)
        good: list[int] = []
        inputs: list[ResponseInput] = []
        for i, model in enumerate(models):
            if model is None:
                continue
            try:
                inputs.append(self._input(model, zone))
            except ApplicationError as exc:
                errors[i] = row_errors(i, exc)
                continue
            good.append(i)
        return PreparedRows(good, inputs, errors)

    def _input(self, row: _RowResponse, zone: ZoneInfo | None) -> ResponseInput:
        problems: list[FieldError] = []
        if not row.external_id:
            problems.append(FieldError(("external_id",), EXTERNAL_ID_NEEDED))
        started, submitted = with_zone(row.started_at, zone), with_zone(row.submitted_at, zone)
        # History keeps its own times: without one the response would be dated today.
        if row.complete and submitted is None:
            problems.append(FieldError(("submitted_at",), "is required for an import of a "
                                                          "completed response"))
        elif not row.complete and started is None and submitted is None:
            problems.append(FieldError(("started_at",), "is required for an import of an "
                                                        "unfinished response"))
        submission = Submission(
            version=self.version, answers=row.answers, complete=row.complete, unit=row.unit,
            customer=row.customer.to_input() if row.customer else None,
            touchpoint=row.touchpoint, channel=row.channel, language=row.language,
            started_at=started, submitted_at=submitted, source=row.source,
            external_id=row.external_id)
        try:
            checked = submission_check(submission, definition=self.definition)
        except ApplicationError as exc:
            problems += exc.errors or [FieldError((), exc.message)]
            raise ApplicationError(problems[0].message, errors=problems) from exc
        if problems:
            raise ApplicationError(problems[0].message, errors=problems)
        return checked


class ResponseWriter(RowWriter):
    def __init__(self, scope: Scope, actor: User | None) -> None:
        self.scope, self.actor = scope, actor

    def store(self, payload: list[ResponseInput]) -> BatchOutcome:
        return store_each(payload, lambda items, loc: responses_record(
            items=items, scope=self.scope, actor=self.actor, loc_prefix=loc))


def _survey(scope: Scope, reference: str, who: str) -> Survey:
    visible = selectors.surveys_visible(scope=scope)
    survey = visible.filter(pk=int(reference)).first() if reference.isdigit() else None
    survey = survey or visible.filter(slug=reference).first()
    if survey is None:
        raise ImportFailed(f"--survey {reference}: {who} has no survey with that id or slug")
    return survey


def _version(survey: Survey, number: str | None) -> SurveyVersion:
    published = (SurveyVersion.objects.select_related("survey__unit")
                 .filter(survey=survey, published_at__isnull=False))
    if number is None:
        version = published.order_by("-number").first()
        if version is None:
            raise ImportFailed(f"survey {survey.slug!r} has no published version yet")
        return version
    if not number.isdigit():
        raise ImportFailed(f"--version {number}: write the version's number, e.g. --version 2")
    version = published.filter(number=int(number)).first()
    if version is None:
        raise ImportFailed(f"survey {survey.slug!r} has no published version {number} "
                           "(responses answer published versions only)")
    return version


class ResponsesKind(ImportKind):
    name = "responses"
    help = "answers to a survey collected elsewhere (as POST /api/v1/responses)"
    options = (
        KindOption("--survey", "the survey the responses answer: its id or slug", "ID|SLUG"),
        KindOption("--version", "the published version they answered (default: the live "
                                "one)", "N"),
    )

    def start(self, *, options: ImportOptions, actor: User | None
              ) -> tuple[RowReader, RowWriter]:
        scope = import_scope(options, actor)
        reference = options.params.get("survey")
        if not reference:
            raise ImportFailed("an import of responses needs --survey (the survey's id or "
                               "slug)")
        who = "the organisation" if actor is None else actor.username
        survey = _survey(scope, reference.strip(), who)
        version = _version(survey, options.params.get("version"))
        return ResponseRows(version), ResponseWriter(scope, actor)


def register() -> None:
    """Make ``opencem import responses`` find this kind (from ``AppConfig.ready()``)."""
    kind_register(ResponsesKind())
