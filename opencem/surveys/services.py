"""Writes to surveys: create, edit the draft, publish (which freezes it), import and export."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from pydantic import ValidationError

from opencem.accounts.selectors import Scope
from opencem.core.errors import (
    Conflict,
    PermissionDenied,
    from_validation,
    invalid,
)
from opencem.surveys.definition import SurveyDefinition
from opencem.surveys.models import Survey, SurveyVersion

if TYPE_CHECKING:
    from opencem.accounts.models import Unit

EXPORT_FORMAT = "opencem.survey/1"


def parse_definition(data: Any, loc: tuple[str | int, ...] = ("definition",)
                     ) -> SurveyDefinition:
    """Validate a definition, turning pydantic's errors into field errors under ``loc``."""
    try:
        return SurveyDefinition.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, loc) from exc


def _check_design(scope: Scope, unit: Unit) -> None:
    if not scope.designs_unit(unit.pk):
        raise PermissionDenied(f"designing surveys for {unit.code!r} needs the admin or "
                               "analyst role there", loc=["unit"])


def _unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "survey"
    slug, n = base, 2
    while Survey.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def survey_create(*, name: str, unit: Unit, definition: Any, scope: Scope,
                  actor: User | None) -> Survey:
    """Create a survey with its definition as draft version 1."""
    _check_design(scope, unit)
    if not name.strip() or len(name) > 200:
        raise invalid(["name"], "must be 1 to 200 characters")
    parsed = parse_definition(definition)
    survey = Survey.objects.create(name=name.strip(), slug=_unique_slug(name), unit=unit,
                                   created_by=actor)
    SurveyVersion.objects.create(survey=survey, number=1,
                                 definition=parsed.model_dump(mode="json", exclude_none=True))
    return survey


@transaction.atomic
def survey_save_draft(*, survey: Survey, definition: Any, scope: Scope) -> SurveyVersion:
    """Replace the draft's definition; when every version is published, start a new draft.

    Published versions are never touched: responses point at them.
    """
    _check_design(scope, survey.unit)
    parsed = parse_definition(definition)
    latest = (SurveyVersion.objects.select_for_update().filter(survey=survey)
              .order_by("-number").first())
    data = parsed.model_dump(mode="json", exclude_none=True)
    if latest is not None and not latest.is_published:
        latest.definition = data
        latest.save(update_fields=["definition"])
        return latest
    number = latest.number + 1 if latest else 1
    return SurveyVersion.objects.create(survey=survey, number=number, definition=data)


@transaction.atomic
def survey_update(*, survey: Survey, scope: Scope, name: str | None = None,
                  anonymous_link: bool | None = None) -> Survey:
    """Rename a survey, or open or close its link for anyone (``/s/p/<slug>``).

    The slug stays as it was: links already handed out must keep working.
    """
    _check_design(scope, survey.unit)
    fields = []
    if name is not None:
        if not name.strip() or len(name) > 200:
            raise invalid(["name"], "must be 1 to 200 characters")
        survey.name = name.strip()
        fields.append("name")
    if anonymous_link is not None:
        survey.anonymous_link = anonymous_link
        fields.append("anonymous_link")
    if fields:
        survey.save(update_fields=[*fields, "updated_at"])
    return survey


@transaction.atomic
def survey_publish(*, survey: Survey, scope: Scope, actor: User | None,
                   published_at: datetime | None = None) -> SurveyVersion:
    """Freeze the draft: from now on new responses answer this version. ``published_at``
    (not in the future) records when it went live where older history is loaded with it."""
    now = timezone.now()
    if published_at is not None and published_at > now:
        raise invalid(["published_at"], "must not be in the future")
    _check_design(scope, survey.unit)
    draft = (SurveyVersion.objects.select_for_update().filter(survey=survey)
             .order_by("-number").first())
    if draft is None or draft.is_published:
        raise Conflict("There is no draft to publish; save a change first.")
    parse_definition(draft.definition)  # a draft stored by an older release must still be valid
    draft.published_at = published_at or now
    draft.published_by = actor
    draft.save(update_fields=["published_at", "published_by"])
    return draft


def survey_export(*, version: SurveyVersion) -> dict[str, Any]:
    """A self-contained JSON document of one version, for backup or another installation."""
    return {"format": EXPORT_FORMAT, "name": version.survey.name,
            "version": version.number, "definition": version.definition}


def survey_import(*, document: Any, unit: Unit, scope: Scope, actor: User | None) -> Survey:
    """Create a new survey (as a draft) from an exported document."""
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise invalid(["format"], f"must be {EXPORT_FORMAT!r}")
    name = document.get("name")
    if not isinstance(name, str):
        raise invalid(["name"], "must be text")
    return survey_create(name=name, unit=unit, definition=document.get("definition"),
                         scope=scope, actor=actor)


def definition_digest(definition: dict[str, Any]) -> str:
    """A stable text form of a definition, to tell whether two versions differ."""
    return json.dumps(definition, sort_keys=True, separators=(",", ":"))
