"""Endpoints for survey responses (including history from other platforms) and feedback."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Query, Router, Schema, Status
from pydantic import AfterValidator, ConfigDict, Field

from opencem.accounts.selectors import api_user, request_scope, unit_get_by_code
from opencem.core.errors import invalid
from opencem.core.text import CleanStr, check_json_object
from opencem.customers.schemas import CustomerRef
from opencem.feedback import exports, selectors, services
from opencem.feedback.choices import FeedbackKind, ScoreBand
from opencem.feedback.models import FeedbackItem, Response
from opencem.feedback.privacy import readable_answers, readable_text

if TYPE_CHECKING:
    from opencem.accounts.models import Unit
    from opencem.accounts.selectors import Scope

router = Router(tags=["feedback"])

Attributes = Annotated[dict[str, Any], AfterValidator(check_json_object)]


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class FeedbackIn(_Strict):
    kind: CleanStr = Field(max_length=20, examples=["review"])
    text: CleanStr = Field(max_length=services.MAX_FEEDBACK_TEXT)
    source: CleanStr = Field(max_length=64, examples=["google_reviews"])
    external_id: CleanStr = Field("", max_length=200)
    occurred_at: datetime
    unit: CleanStr = Field(max_length=64)
    customer: CustomerRef | None = None
    title: CleanStr = Field("", max_length=300)
    rating: int | None = Field(None, strict=True)
    rating_max: int | None = Field(None, strict=True)
    touchpoint: CleanStr = Field("", max_length=64)
    channel: CleanStr = Field("", max_length=20)
    language: CleanStr = Field("", max_length=10)
    author: CleanStr = Field("", max_length=200)
    url: CleanStr = Field("", max_length=500)
    attributes: Attributes = Field(default_factory=dict)

    def to_input(self) -> services.FeedbackInput:
        data = self.model_dump(exclude={"customer"})
        return services.FeedbackInput(
            **data, customer=self.customer.to_input() if self.customer else None)


class FeedbackBatchIn(_Strict):
    items: list[FeedbackIn] = Field(min_length=1, max_length=1000)


class RecordedOut(Schema):
    id: int
    created: bool


class BatchOut(Schema):
    created: int
    existing: int
    results: list[RecordedOut]


class ResponseOut(Schema):
    id: int
    survey: int
    version: int
    customer_id: int | None
    unit: str
    touchpoint: str
    channel: str
    language: str
    answers: dict[str, Any]
    nps: int | None
    csat: int | None
    ces: int | None
    completed: bool
    started_at: datetime
    submitted_at: datetime | None
    source: str
    external_id: str


class FeedbackOut(Schema):
    id: int
    kind: str
    text: str
    title: str
    rating: int | None
    rating_max: int | None
    customer_id: int | None
    response_id: int | None
    unit: str
    touchpoint: str
    channel: str
    occurred_at: datetime
    language: str
    author: str
    url: str
    source: str
    external_id: str


class ResponsePage(Schema):
    items: list[ResponseOut]
    next_cursor: str | None


class FeedbackPage(Schema):
    items: list[FeedbackOut]
    next_cursor: str | None


def batch_out(results: list[services.Recorded]) -> dict[str, Any]:
    created = sum(r.created for r in results)
    return {"created": created, "existing": len(results) - created,
            "results": [{"id": r.id, "created": r.created} for r in results]}


def response_out(r: Response, scope: Scope | None = None) -> dict[str, Any]:
    answers = r.answers if scope is None else readable_answers(
        answers=r.answers, unit_id=r.unit_id, scope=scope)
    return {"id": r.pk, "survey": r.survey_id, "version": r.survey_version.number,
            "customer_id": r.customer_id, "unit": r.unit.code, "touchpoint": r.touchpoint,
            "channel": r.channel, "language": r.language, "answers": answers, "nps": r.nps,
            "csat": r.csat, "ces": r.ces, "completed": r.completed, "started_at": r.started_at,
            "submitted_at": r.submitted_at, "source": r.source, "external_id": r.external_id}


def feedback_out(f: FeedbackItem, scope: Scope) -> dict[str, Any]:
    return {"id": f.pk, "kind": f.kind, "text": readable_text(item=f, scope=scope),
            "title": f.title, "rating": f.rating, "rating_max": f.rating_max,
            "customer_id": f.customer_id,
            "response_id": f.response_id, "unit": f.unit.code, "touchpoint": f.touchpoint,
            "channel": f.channel, "occurred_at": f.occurred_at, "language": f.language,
            "author": f.author, "url": f.url, "source": f.source,
            "external_id": f.external_id}


class ListFilters(Schema):
    unit: str | None = Field(None, description="A unit code: that unit and those below it.")
    customer: int | None = None
    since: datetime | None = None
    until: datetime | None = None


class ResponseFilters(ListFilters):
    survey: int | None = None
    band: ScoreBand | None = Field(None, description="Only scores in this band, e.g. "
                                                     "nps_detractor (0-6).")
    completed: bool | None = None

    def to_filter(self) -> selectors.ResponseFilter:
        return selectors.ResponseFilter(
            survey_id=self.survey, unit=unit_of(self.unit), customer_id=self.customer,
            since=self.since, until=self.until, band=self.band, completed=self.completed)


class FeedbackFilters(ListFilters):
    kind: FeedbackKind | None = None
    source: str | None = Field(None, max_length=64)
    rating_from: int | None = Field(None, description="Only ratings of at least this.")
    rating_to: int | None = Field(None, description="Only ratings of at most this.")

    def to_filter(self) -> selectors.FeedbackFilter:
        return selectors.FeedbackFilter(
            kind=self.kind, source=self.source, unit=unit_of(self.unit),
            customer_id=self.customer, since=self.since, until=self.until,
            rating_from=self.rating_from, rating_to=self.rating_to)


class Paging(Schema):
    cursor: str | None = None
    limit: int = 50


def unit_of(code: str | None) -> Unit | None:
    if not code:
        return None
    unit = unit_get_by_code(code)
    if unit is None:
        raise invalid(["unit"], f"no unit has the code {code!r}")
    return unit


@router.post("/feedback", response={200: RecordedOut, 201: RecordedOut},
             summary="Record one review, post, complaint, transcript or comment")
def feedback_create(request: HttpRequest, payload: FeedbackIn) -> Status[dict[str, Any]]:
    (result,) = services.feedback_ingest(items=[payload.to_input()],
                                         scope=request_scope(request), actor=api_user(request),
                                         loc_prefix=None)
    return Status(201 if result.created else 200, {"id": result.id, "created": result.created})


@router.post("/feedback/batch", response=BatchOut, summary="Record up to 1,000 feedback items")
def feedback_batch(request: HttpRequest, payload: FeedbackBatchIn) -> dict[str, Any]:
    return batch_out(services.feedback_ingest(items=[i.to_input() for i in payload.items],
                                           scope=request_scope(request),
                                           actor=api_user(request)))


@router.get("/feedback", response=FeedbackPage, summary="Feedback in scope, newest first")
def feedback_list(request: HttpRequest, filters: Query[FeedbackFilters],
                  paging: Query[Paging]) -> dict[str, Any]:
    scope = request_scope(request)
    page = selectors.feedback_list(scope=scope, filters=filters.to_filter(),
                                   cursor=paging.cursor, limit=paging.limit)
    return {"items": [feedback_out(f, scope) for f in page.items],
            "next_cursor": page.next_cursor}


@router.get("/feedback/export.csv", summary="Feedback in scope as CSV, with the same filters")
def feedback_export(request: HttpRequest, filters: Query[FeedbackFilters]) -> HttpResponseBase:
    return exports.feedback_csv(scope=request_scope(request), filters=filters.to_filter())
