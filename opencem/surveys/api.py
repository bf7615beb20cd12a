"""Survey design endpoints: create, edit the draft, publish, export and import."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from opencem.accounts.selectors import api_user, request_scope, unit_get_by_code
from opencem.core.errors import NotFound, invalid
from opencem.core.text import CleanStr
from opencem.customers.schemas import CustomerRef
from opencem.feedback import exports as feedback_exports
from opencem.feedback import selectors as feedback_selectors
from opencem.feedback.api import (
    BatchOut,
    Paging,
    RecordedOut,
    ResponseFilters,
    ResponsePage,
    batch_out,
    response_out,
)
from opencem.surveys import selectors, services
from opencem.surveys.models import Survey, SurveyVersion
from opencem.surveys.responses import Submission, responses_submit
from opencem.surveys.templates_library import TEMPLATES

router = Router(tags=["surveys"])


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class SurveyIn(_Strict):
    name: CleanStr = Field(max_length=200)
    unit: CleanStr = Field(max_length=64, description="Code of the unit that owns the survey.")
    definition: dict[str, Any] | None = None
    template: str | None = Field(None, description="Start from a ready template instead.")


class DraftIn(_Strict):
    definition: dict[str, Any]


class SurveyPatch(_Strict):
    name: CleanStr | None = Field(None, max_length=200)
    anonymous_link: bool | None = Field(
        None, description="Whether anyone may answer at /s/p/<slug> (repeats are flagged).")


class ImportIn(_Strict):
    unit: CleanStr = Field(max_length=64)
    document: dict[str, Any]


class VersionOut(Schema):
    number: int
    published_at: datetime | None
    definition: dict[str, Any]


class SurveyOut(Schema):
    id: int
    name: str
    slug: str
    unit: str
    created_at: datetime
    anonymous_link: bool
    live_version: int | None
    latest: VersionOut


def _unit(code: str) -> Any:
    unit = unit_get_by_code(code)
    if unit is None:
        raise invalid(["unit"], f"no unit has the code {code!r}")
    return unit


def version_out(version: SurveyVersion) -> dict[str, Any]:
    return {"number": version.number, "published_at": version.published_at,
            "definition": version.definition}


def survey_out(survey: Survey) -> dict[str, Any]:
    live = selectors.live_version(survey)
    return {"id": survey.pk, "name": survey.name, "slug": survey.slug, "unit": survey.unit.code,
            "created_at": survey.created_at, "anonymous_link": survey.anonymous_link,
            "live_version": live.number if live else None,
            "latest": version_out(selectors.latest_version(survey))}


@router.get("/survey-templates", response=dict[str, dict[str, Any]],
            summary="Ready survey definitions: relational NPS, transactional CSAT, support CES")
def survey_templates(request: HttpRequest) -> dict[str, dict[str, Any]]:
    return TEMPLATES


@router.get("/surveys", response=list[SurveyOut], summary="Surveys owned by units in scope")
def survey_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [survey_out(s) for s in selectors.surveys_visible(scope=request_scope(request))]


@router.post("/surveys", response={201: SurveyOut}, summary="Create a survey (as a draft)")
def survey_create(request: HttpRequest, payload: SurveyIn) -> Status[dict[str, Any]]:
    if (payload.definition is None) == (payload.template is None):
        raise invalid(["definition"], "give either a definition or a template name")
    if payload.template is not None and payload.template not in TEMPLATES:
        raise invalid(["template"], f"must be one of {', '.join(TEMPLATES)}")
    definition = payload.definition or TEMPLATES[payload.template or ""]
    survey = services.survey_create(name=payload.name, unit=_unit(payload.unit),
                                    definition=definition, scope=request_scope(request),
                                    actor=api_user(request))
    return Status(201, survey_out(survey))


@router.post("/surveys/import", response={201: SurveyOut},
             summary="Create a survey from an exported document")
def survey_import(request: HttpRequest, payload: ImportIn) -> Status[dict[str, Any]]:
    survey = services.survey_import(document=payload.document, unit=_unit(payload.unit),
                                    scope=request_scope(request), actor=api_user(request))
    return Status(201, survey_out(survey))


@router.get("/surveys/{survey_id}", response=SurveyOut)
def survey_detail(request: HttpRequest, survey_id: int) -> dict[str, Any]:
    return survey_out(selectors.survey_get(scope=request_scope(request), survey_id=survey_id))


@router.patch("/surveys/{survey_id}", response=SurveyOut,
              summary="Rename a survey, or open or close its link for anyone")
def survey_update(request: HttpRequest, survey_id: int, payload: SurveyPatch
                  ) -> dict[str, Any]:
    scope = request_scope(request)
    survey = selectors.survey_get(scope=scope, survey_id=survey_id)
    return survey_out(services.survey_update(survey=survey, scope=scope, name=payload.name,
                                             anonymous_link=payload.anonymous_link))


@router.put("/surveys/{survey_id}/draft", response=VersionOut,
            summary="Replace the draft (a new draft starts when the latest is published)")
def survey_save_draft(request: HttpRequest, survey_id: int, payload: DraftIn
                      ) -> dict[str, Any]:
    scope = request_scope(request)
    survey = selectors.survey_get(scope=scope, survey_id=survey_id)
    return version_out(services.survey_save_draft(survey=survey, definition=payload.definition,
                                                  scope=scope))


@router.post("/surveys/{survey_id}/publish", response=VersionOut,
             summary="Publish the draft; it is frozen from now on")
def survey_publish(request: HttpRequest, survey_id: int) -> dict[str, Any]:
    scope = request_scope(request)
    survey = selectors.survey_get(scope=scope, survey_id=survey_id)
    return version_out(services.survey_publish(survey=survey, scope=scope,
                                               actor=api_user(request)))


@router.get("/surveys/{survey_id}/export", response=dict[str, Any],
            summary="One version as a JSON document (the latest unless ?version=N)")
def survey_export(request: HttpRequest, survey_id: int, version: int | None = None
                  ) -> dict[str, Any]:
    survey = selectors.survey_get(scope=request_scope(request), survey_id=survey_id)
    found = (survey.versions.filter(number=version).first() if version
             else selectors.latest_version(survey))
    if found is None:
        raise NotFound(f"Survey {survey_id} has no version {version}.")
    return services.survey_export(version=found)


# Responses: answers checked here against their survey version, stored by the feedback app.

class ResponseIn(_Strict):
    survey: int = Field(description="The survey's id.")
    version: int | None = Field(None, description="A published version number; the live "
                                                  "version when omitted.")
    answers: dict[str, Any]
    complete: bool = True
    unit: CleanStr | None = Field(None, max_length=64,
                                  description="Unit code; the survey's unit when omitted.")
    customer: CustomerRef | None = None
    interaction: int | None = None
    touchpoint: CleanStr = Field("", max_length=64)
    channel: CleanStr = Field("", max_length=20)
    language: CleanStr = Field("", max_length=10)
    started_at: datetime | None = None
    submitted_at: datetime | None = None
    source: CleanStr = Field("api", max_length=64)
    external_id: CleanStr = Field("", max_length=200)


class ResponseBatchIn(_Strict):
    items: list[ResponseIn] = Field(min_length=1, max_length=1000)


def _version(request: HttpRequest, item: ResponseIn, loc: tuple[str | int, ...]
             ) -> SurveyVersion:
    survey = selectors.survey_get(scope=request_scope(request), survey_id=item.survey)
    if item.version is None:
        found = selectors.live_version(survey)
        if found is None:
            raise invalid([*loc, "survey"], "has no published version yet")
        return found
    version = survey.versions.filter(number=item.version).first()
    if version is None or not version.is_published:
        raise invalid([*loc, "version"], f"survey {survey.pk} has no published version "
                                         f"{item.version}")
    return version


def _submission(request: HttpRequest, item: ResponseIn, loc: tuple[str | int, ...]
                ) -> Submission:
    return Submission(
        version=_version(request, item, loc), answers=item.answers, complete=item.complete,
        unit=item.unit, customer=item.customer.to_input() if item.customer else None,
        interaction_id=item.interaction, touchpoint=item.touchpoint, channel=item.channel,
        language=item.language, started_at=item.started_at, submitted_at=item.submitted_at,
        source=item.source, external_id=item.external_id)


@router.post("/responses", response={200: RecordedOut, 201: RecordedOut},
             summary="Record one response (idempotent on source + external_id)")
def response_create(request: HttpRequest, payload: ResponseIn) -> Status[dict[str, Any]]:
    (result,) = responses_submit(
        items=[_submission(request, payload, ())], scope=request_scope(request),
        actor=api_user(request), loc_prefix=None)
    return Status(201 if result.created else 200, {"id": result.id, "created": result.created})


@router.get("/responses", response=ResponsePage, summary="Responses in scope, newest first")
def response_list(request: HttpRequest, filters: Query[ResponseFilters],
                  paging: Query[Paging]) -> dict[str, Any]:
    page = feedback_selectors.response_list(scope=request_scope(request),
                                            filters=filters.to_filter(), cursor=paging.cursor,
                                            limit=paging.limit)
    scope = request_scope(request)
    return {"items": [response_out(r, scope) for r in page.items],
            "next_cursor": page.next_cursor}


@router.get("/responses/export.csv", summary="Responses in scope as CSV, with the same filters")
def response_export(request: HttpRequest, filters: Query[ResponseFilters]) -> HttpResponseBase:
    return feedback_exports.responses_csv(scope=request_scope(request),
                                          filters=filters.to_filter())


@router.post("/responses/batch", response=BatchOut,
             summary="Record up to 1,000 responses (e.g. history from another platform)")
def response_batch(request: HttpRequest, payload: ResponseBatchIn) -> dict[str, Any]:
    items = [_submission(request, item, ("items", i)) for i, item in enumerate(payload.items)]
    return batch_out(responses_submit(items=items, scope=request_scope(request),
                                      actor=api_user(request)))
