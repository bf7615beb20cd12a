"""Writes of customer voice: survey responses and unsolicited feedback.

Both arrive in batches (a batch of one for a single item), all or nothing, idempotent on
``(source, external_id)``. Each write records its events in the outbox in the same
transaction, so whatever follows (alerts, webhooks, text analytics) can never miss one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from opencem.accounts.selectors import Scope, units_by_code
from opencem.core.errors import ApplicationError, FieldError, PermissionDenied, invalid
from opencem.core.services import outbox_emit
from opencem.core.statements import fetch, supports_one_statement
from opencem.customers.choices import Channel
from opencem.customers.selectors import interactions_visible
from opencem.customers.services import (
    EARLIEST,
    MAX_FUTURE,
    SLUG_RE,
    SOURCE_RE,
    CustomerInput,
    customers_resolve,
)
from opencem.feedback.changes import ResponseChange, Statement, announce, facts_of, planned
from opencem.feedback.choices import FeedbackKind, Topic
from opencem.feedback.events import feedback_payload, record_events, response_payload
from opencem.feedback.models import FeedbackItem, Response
from opencem.feedback.submission import VersionChanged, response_insert_one_statement

if TYPE_CHECKING:
    from opencem.accounts.models import Unit

Loc = tuple[str | int, ...]
LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
MAX_FEEDBACK_TEXT = 20000
CHANNELS = frozenset(Channel.values)  # the enum builds its list anew on every access
RETRIES = 3


@dataclass(frozen=True)
class ResponseInput:
    """A response whose answers the surveys app has already checked against its version.

    ``comments`` are the free-text answers as ``(question_id, text)``; they join the feedback
    stream. ``default_unit`` is the survey's unit, used when ``unit`` (a code) is not given.
    """

    survey_id: int
    version_id: int
    default_unit: Unit
    default_language: str
    answers: dict[str, Any]
    nps: int | None = None
    csat: int | None = None
    ces: int | None = None
    comments: tuple[tuple[str, str], ...] = ()
    complete: bool = True
    unit: str | None = None
    customer: CustomerInput | None = None
    interaction_id: int | None = None
    touchpoint: str = ""
    channel: str = ""
    language: str = ""
    started_at: datetime | None = None
    submitted_at: datetime | None = None
    source: str = "api"
    external_id: str = ""


@dataclass(frozen=True)
class FeedbackInput:
    """A review, post, complaint, transcript or comment from any system."""

    kind: str
    text: str
    source: str
    occurred_at: datetime
    unit: str
    external_id: str = ""
    customer: CustomerInput | None = None
    title: str = ""
    rating: int | None = None
    rating_max: int | None = None
    touchpoint: str = ""
    channel: str = ""
    language: str = ""
    author: str = ""
    url: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorded:
    id: int
    created: bool


def _at(loc_prefix: Loc | None, i: int) -> Loc:
    return () if loc_prefix is None else (*loc_prefix, i)


def _check_time(value: datetime | None, loc: Loc) -> None:
    if value is None:
        return
    if value.tzinfo is None:
        raise invalid(loc, "must include a time zone (e.g. 'Z' or '+01:00')")
    if value < EARLIEST or value > timezone.now() + MAX_FUTURE:
        raise invalid(loc, "must lie between 1970 and tomorrow")


def _check_common(*, loc: Loc, source: str, external_id: str, touchpoint: str, channel: str,
                  language: str) -> None:
    if not SOURCE_RE.match(source):
        raise invalid([*loc, "source"], "must be 1-64 letters, digits, '_', '.', ':' or '-'")
    if len(external_id) > 200:
        raise invalid([*loc, "external_id"], "must be at most 200 characters")
    if touchpoint and not SLUG_RE.match(touchpoint):
        raise invalid([*loc, "touchpoint"], "must be a lower-case slug (letters, digits, _ . -)")
    if channel and channel not in CHANNELS:
        raise invalid([*loc, "channel"], f"must be one of {', '.join(Channel.values)}")
    if language and not LANG_RE.match(language):
        raise invalid([*loc, "language"], "must be a language code such as 'en' or 'pt-BR'")


def _units(codes: list[str | None], scope: Scope, loc_prefix: Loc | None,
           defaults: list[Unit | None]) -> list[Unit]:
    found = units_by_code({c for c in codes if c})
    units: list[Unit] = []
    for i, (code, default) in enumerate(zip(codes, defaults, strict=True)):
        unit = found.get(code) if code else default
        if unit is None:
            raise invalid([*_at(loc_prefix, i), "unit"], f"no unit has the code {code!r}")
        if not scope.writes_unit(unit.pk):
            raise PermissionDenied(f"unit {unit.code!r} is outside your scope",
                                   loc=[*_at(loc_prefix, i), "unit"])
        units.append(unit)
    return units


def _retrying(func: Any, **kwargs: Any) -> Any:
    # A concurrent writer of the same (source, external_id) makes our insert fail; running the
    # batch again finds its row and answers with it.
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                return func(**kwargs)
        except IntegrityError:
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _refuse_foreign(existing_units: dict[tuple[str, str], int],
                    items: Sequence[ResponseInput | FeedbackInput], scope: Scope,
                    loc_prefix: Loc | None) -> None:
    # An id already filed under a unit the caller cannot see: answering with that record
    # would leak another unit's data, so the request is refused instead.
    for i, item in enumerate(items):
        unit_id = existing_units.get((item.source, item.external_id))
        if unit_id is not None and not scope.sees_unit(unit_id):
            raise ApplicationError(
                f"{item.source}/{item.external_id} is already stored for a unit outside your "
                "scope", status=409, code="conflict",
                errors=(FieldError((*_at(loc_prefix, i), "external_id"), "already used"),))


def responses_record(*, items: Sequence[ResponseInput], scope: Scope, actor: User | None,
                     loc_prefix: Loc | None = ("items",)) -> list[Recorded]:
    """Store responses; their free-text answers join the feedback stream."""
    if not scope.can_write:
        raise PermissionDenied("your role may not write customer data")
    for i, item in enumerate(items):
        loc = _at(loc_prefix, i)
        _check_common(loc=loc, source=item.source, external_id=item.external_id,
                      touchpoint=item.touchpoint, channel=item.channel, language=item.language)
        _check_time(item.started_at, (*loc, "started_at"))
        _check_time(item.submitted_at, (*loc, "submitted_at"))
        if item.started_at and item.submitted_at and item.submitted_at < item.started_at:
            raise invalid([*loc, "submitted_at"], "must not be before started_at")
    units = _units([i.unit for i in items], scope, loc_prefix, [i.default_unit for i in items])
    _check_interactions(items, scope, loc_prefix)
    result: list[Recorded] = _retrying(_record_responses, items=items, units=units, actor=actor,
                                       scope=scope, loc_prefix=loc_prefix)
    return result


def _check_interactions(items: Sequence[ResponseInput], scope: Scope,
                        loc_prefix: Loc | None) -> None:
    """A response may name only an interaction the caller can see."""
    wanted = {item.interaction_id for item in items if item.interaction_id is not None}
    if not wanted:
        return
    found = set(interactions_visible(scope=scope).filter(pk__in=wanted)
                .values_list("pk", flat=True))
    for i, item in enumerate(items):
        if item.interaction_id is not None and item.interaction_id not in found:
            raise invalid([*_at(loc_prefix, i), "interaction"],
                          f"no interaction {item.interaction_id} in your scope")


def _record_responses(*, items: Sequence[ResponseInput], units: list[Unit], actor: User | None,
                      scope: Scope, loc_prefix: Loc | None) -> list[Recorded]:
    keys = {(i.source, i.external_id) for i in items if i.external_id}
    rows = Response.objects.filter(source__in={s for s, _ in keys},
                                   external_id__in={e for _, e in keys}) if keys else []
    existing = {(r.source, r.external_id): r.pk for r in rows}
    _refuse_foreign({(r.source, r.external_id): r.unit_id for r in rows}, items, scope,
                    loc_prefix)
    fresh = [i for i, item in enumerate(items)
             if not item.external_id or (item.source, item.external_id) not in existing]
    customer_ids = customers_resolve(inputs=[items[i].customer for i in fresh], positions=fresh,
                                     unit_ids=[units[i].pk for i in fresh], actor=actor,
                                     loc_prefix=loc_prefix)
    now = timezone.now()
    results: dict[int, Recorded] = {}
    seen: dict[tuple[str, str], int] = {}
    created: list[ResponseChange] = []
    for i, customer_id in zip(fresh, customer_ids, strict=True):
        item = items[i]
        key = (item.source, item.external_id)
        if item.external_id and key in seen:
            results[i] = Recorded(seen[key], created=False)
            continue
        submitted = item.submitted_at or (now if item.complete else None)
        response = Response.objects.create(
            survey_id=item.survey_id, survey_version_id=item.version_id,
            customer_id=customer_id, interaction_id=item.interaction_id, unit=units[i],
            touchpoint=item.touchpoint, channel=item.channel,
            language=item.language or item.default_language, answers=item.answers,
            nps=item.nps, csat=item.csat, ces=item.ces, completed=item.complete,
            started_at=item.started_at or submitted or now,
            submitted_at=submitted, source=item.source, external_id=item.external_id)
        if item.external_id:
            seen[key] = response.pk
        results[i] = Recorded(response.pk, created=True)
        created.append(ResponseChange(before=None, after=facts_of(response)))
        record_events(response, item.comments, created=True)
    announce(created)
    for i, item in enumerate(items):
        if i not in results:
            results[i] = Recorded(existing[(item.source, item.external_id)], created=False)
    return [results[i] for i in range(len(items))]


def responses_delete(*, response_ids: Sequence[int], scope: Scope) -> int:
    """Delete responses with their survey comments (erasure, test data); returns how many.

    All or nothing: an id that does not exist or lies outside what the caller may write is
    refused and nothing is deleted. The deletion is announced in the same transaction, so
    aggregates stop counting the responses exactly when they disappear.
    """
    wanted = set(response_ids)
    with transaction.atomic():
        rows = list(Response.objects.select_for_update().filter(pk__in=wanted).order_by("pk"))
        missing = wanted - {r.pk for r in rows}
        hidden = [r.pk for r in rows if not scope.sees_unit(r.unit_id)]
        if missing or hidden:
            raise ApplicationError(f"no response has the id {min([*missing, *hidden])}",
                                   status=404, code="not_found")
        if not all(scope.writes_unit(r.unit_id) for r in rows):
            raise PermissionDenied("your role may not delete these responses")
        changes = [ResponseChange(before=facts_of(r), after=None) for r in rows]
        Response.objects.filter(pk__in=[r.pk for r in rows]).delete()
        announce(changes)
    return len(rows)


def _check_feedback(item: FeedbackInput, loc: Loc) -> None:
    if item.kind not in FeedbackKind.values or item.kind == FeedbackKind.SURVEY:
        kinds = [k for k in FeedbackKind.values if k != FeedbackKind.SURVEY]
        raise invalid([*loc, "kind"], f"must be one of {', '.join(kinds)}")
    if not item.text.strip():
        raise invalid([*loc, "text"], "must not be empty")
    if len(item.text) > MAX_FEEDBACK_TEXT:
        raise invalid([*loc, "text"], f"must be at most {MAX_FEEDBACK_TEXT} characters")
    if item.rating_max is not None and not 1 <= item.rating_max <= 100:
        raise invalid([*loc, "rating_max"], "must be between 1 and 100")
    if item.rating is not None and not 0 <= item.rating <= (item.rating_max or 5):
        raise invalid([*loc, "rating"], f"must be between 0 and {item.rating_max or 5}")
    if item.url:
        # Pages link to it: only web addresses, never javascript: or data: URLs.
        parts = urlsplit(item.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid([*loc, "url"], "must be an http:// or https:// address")
    _check_time(item.occurred_at, (*loc, "occurred_at"))
    _check_common(loc=loc, source=item.source, external_id=item.external_id,
                  touchpoint=item.touchpoint, channel=item.channel, language=item.language)


def feedback_ingest(*, items: Sequence[FeedbackInput], scope: Scope, actor: User | None,
                    loc_prefix: Loc | None = ("items",)) -> list[Recorded]:
    """Store unsolicited feedback in the same stream as survey comments."""
    if not scope.can_write:
        raise PermissionDenied("your role may not write customer data")
    for i, item in enumerate(items):
        _check_feedback(item, _at(loc_prefix, i))
    units = _units([i.unit for i in items], scope, loc_prefix, [None] * len(items))
    result: list[Recorded] = _retrying(_ingest_feedback, items=items, units=units, actor=actor,
                                       scope=scope, loc_prefix=loc_prefix)
    return result


def _ingest_feedback(*, items: Sequence[FeedbackInput], units: list[Unit], actor: User | None,
                     scope: Scope, loc_prefix: Loc | None) -> list[Recorded]:
    keys = {(i.source, i.external_id) for i in items if i.external_id}
    existing = {(f.source, f.external_id): f for f in FeedbackItem.objects.filter(
        source__in={s for s, _ in keys}, external_id__in={e for _, e in keys})} if keys else {}
    _refuse_foreign({k: f.unit_id for k, f in existing.items()}, items, scope, loc_prefix)
    fresh = [i for i, item in enumerate(items)
             if not item.external_id or (item.source, item.external_id) not in existing]
    customer_ids = customers_resolve(inputs=[items[i].customer for i in fresh], positions=fresh,
                                     unit_ids=[units[i].pk for i in fresh], actor=actor,
                                     loc_prefix=loc_prefix)
    results: dict[int, Recorded] = {}
    seen: dict[tuple[str, str], int] = {}
    for i, customer_id in zip(fresh, customer_ids, strict=True):
        item = items[i]
        key = (item.source, item.external_id)
        if item.external_id and key in seen:
            results[i] = Recorded(seen[key], created=False)
            continue
        feedback = FeedbackItem.objects.create(
            kind=item.kind, text=item.text, title=item.title, rating=item.rating,
            rating_max=item.rating_max or (5 if item.rating is not None else None),
            customer_id=customer_id, unit=units[i], touchpoint=item.touchpoint,
            channel=item.channel, occurred_at=item.occurred_at, language=item.language,
            author=item.author, url=item.url, attributes=item.attributes, source=item.source,
            external_id=item.external_id)
        if item.external_id:
            seen[key] = feedback.pk
        results[i] = Recorded(feedback.pk, created=True)
        outbox_emit(topic=Topic.FEEDBACK_CREATED, payload=feedback_payload(feedback))
    for i, item in enumerate(items):
        if i not in results:
            results[i] = Recorded(existing[(item.source, item.external_id)].pk, created=False)
    return [results[i] for i in range(len(items))]


# Responses answered page by page (the hosted survey page and the widget). A partial
# response is stored as the respondent goes, so they can resume from the same link; the
# events that analytics and alerting act on are emitted once, when it completes.

REPEAT_WINDOW_HOURS = 24


@dataclass(frozen=True)
class RespondentContext:
    """Who answers what, known before the first answer: a respondent's response in the making.

    ``respondent_key`` is a keyed hash of an anonymous respondent's browser (never the raw
    address); ``flags`` are quality flags known up front (e.g. a cookie saying "answered
    before").
    """

    survey_id: int
    version_id: int
    unit_id: int
    language: str
    source: str
    customer_id: int | None = None
    interaction_id: int | None = None
    touchpoint: str = ""
    channel: str = ""
    respondent_key: str = ""
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResponseUpdate:
    """New answers for a response, already checked by the surveys app against its version."""

    answers: dict[str, Any]
    nps: int | None = None
    csat: int | None = None
    ces: int | None = None
    comments: tuple[tuple[str, str], ...] = ()
    complete: bool = False
    language: str = ""


@dataclass(frozen=True)
class UpdateResult:
    response_id: int
    completed_now: bool
    flags: tuple[str, ...]


def response_open(*, context: RespondentContext) -> int:
    """Start an unfinished response (``completed=False``) and return its id.

    Call it when the respondent saves their first answers, not when they open the page, so
    link scanners and e-mail previews leave no empty responses behind. Emits
    ``response.created``; comments and ``response.completed`` wait for completion.
    """
    _check_common(loc=(), source=context.source, external_id="",
                  touchpoint=context.touchpoint, channel=context.channel,
                  language=context.language)
    now = timezone.now()
    with transaction.atomic():
        response = Response.objects.create(
            survey_id=context.survey_id, survey_version_id=context.version_id,
            customer_id=context.customer_id, interaction_id=context.interaction_id,
            unit_id=context.unit_id, touchpoint=context.touchpoint, channel=context.channel,
            language=context.language, answers={}, completed=False, started_at=now,
            source=context.source, respondent_key=context.respondent_key,
            flags=list(dict.fromkeys(context.flags)))
        outbox_emit(topic=Topic.RESPONSE_CREATED, payload=response_payload(response))
        announce([ResponseChange(before=None, after=facts_of(response))])
    return response.pk


def response_update(*, response_id: int, update: ResponseUpdate) -> UpdateResult:
    """Replace an unfinished response's answers and metric columns; complete it if asked.

    The row is locked for the rest of the transaction, so of two racing completions exactly
    one emits ``response.completed`` and the comments' ``feedback.created``; the other is
    refused with 409. On completion an anonymous response whose ``respondent_key`` completed
    the same survey in the last 24 hours is flagged ``repeat`` (stored, not refused: a shared
    computer is not abuse).
    """
    with transaction.atomic():
        response = Response.objects.select_for_update().filter(pk=response_id).first()
        if response is None:
            raise ApplicationError("This response no longer exists.", status=404,
                                   code="not_found")
        if response.completed:
            raise ApplicationError("This survey was already answered. Thank you!",
                                   status=409, code="already_answered")
        if update.language and not LANG_RE.match(update.language):
            raise invalid(["language"], "must be a language code such as 'en' or 'pt-BR'")
        before = facts_of(response)
        response.answers = update.answers
        response.nps, response.csat, response.ces = update.nps, update.csat, update.ces
        response.language = update.language or response.language
        fields = ["answers", "nps", "csat", "ces", "language", "updated_at"]
        if update.complete:
            now = timezone.now()
            response.completed, response.submitted_at = True, now
            if response.respondent_key and _answered_recently(
                    survey_id=response.survey_id, respondent_key=response.respondent_key,
                    now=now, other_than=response.pk):
                response.flags = [*response.flags, "repeat"]
            response.flags = list(dict.fromkeys(response.flags))
            fields += ["completed", "submitted_at", "flags"]
        response.save(update_fields=fields)
        announce([ResponseChange(before=before, after=facts_of(response))])
        if update.complete:
            record_events(response, update.comments, created=False)
    return UpdateResult(response.pk, update.complete, tuple(response.flags))


def response_submit(*, context: RespondentContext, update: ResponseUpdate,
                    version_check: Statement | None = None) -> UpdateResult:
    """Store a response answered in one go (the widget) as completed, whatever
    ``update.complete`` says.

    The same row, flags, announcement and events as ``response_open`` followed by a
    completing ``response_update`` (``response.created``, ``response.completed``, the
    comments' ``feedback.created``), written with one insert per table instead of a row that
    is inserted, locked and updated. On PostgreSQL, when every change hook can plan its
    statements, all of it is one statement (``submission``): one round trip, atomic alone.

    ``version_check`` is a query that gives ``context.version_id`` while that version is
    still the one to answer, and no row once it is not; the response is then refused with
    ``VersionChanged`` and nothing is stored.
    """
    _check_common(loc=(), source=context.source, external_id="",
                  touchpoint=context.touchpoint, channel=context.channel,
                  language=context.language)
    if update.language and not LANG_RE.match(update.language):
        raise invalid(["language"], "must be a language code such as 'en' or 'pt-BR'")
    now = timezone.now()
    response = Response(
        survey_id=context.survey_id, survey_version_id=context.version_id,
        customer_id=context.customer_id, interaction_id=context.interaction_id,
        unit_id=context.unit_id, touchpoint=context.touchpoint, channel=context.channel,
        language=update.language or context.language, answers=update.answers,
        nps=update.nps, csat=update.csat, ces=update.ces, completed=True, started_at=now,
        submitted_at=now, source=context.source, respondent_key=context.respondent_key,
        flags=list(dict.fromkeys(context.flags)))
    statements = (planned([ResponseChange(before=None, after=facts_of(response))])
                  if supports_one_statement() else None)
    if statements is not None:
        flags = list(response.flags)
        response_id, repeat = response_insert_one_statement(
            response=response, comments=update.comments, version_check=version_check,
            repeat_since=now - timedelta(hours=REPEAT_WINDOW_HOURS)
            if context.respondent_key else None, planned=statements)
        if repeat:
            flags = list(dict.fromkeys([*flags, "repeat"]))
        return UpdateResult(response_id, True, tuple(flags))
    with transaction.atomic():
        if version_check is not None and not fetch(*version_check):
            raise VersionChanged
        if context.respondent_key and _answered_recently(
                survey_id=context.survey_id, respondent_key=context.respondent_key, now=now):
            response.flags = list(dict.fromkeys([*response.flags, "repeat"]))
        response.save(force_insert=True)
        announce([ResponseChange(before=None, after=facts_of(response))])
        record_events(response, update.comments, created=True)
    return UpdateResult(response.pk, True, tuple(response.flags))


def _answered_recently(*, survey_id: int, respondent_key: str, now: datetime,
                       other_than: int | None = None) -> bool:
    # Found through the respondent's key alone: "survey_id + 0" keeps the survey's indexes
    # out of the plan. A new survey's statistics say it has no responses yet, and a plan
    # through its index would read every response it got since, on every submission.
    answered = Response.objects.alias(survey_unindexed=F("survey_id") + 0).filter(
        survey_unindexed=survey_id, respondent_key=respondent_key, completed=True,
        submitted_at__gte=now - timedelta(hours=REPEAT_WINDOW_HOURS))
    if other_than is not None:
        answered = answered.exclude(pk=other_than)
    return answered.exists()


@dataclass(frozen=True)
class ResponseProgress:
    """How far an unfinished response got, for resuming it (no scope: the caller holds the
    respondent's own link or signed cookie)."""

    id: int
    survey_id: int
    version_id: int
    answers: dict[str, Any]
    completed: bool


def response_progress(response_id: int) -> ResponseProgress | None:
    """The respondent's own response, to resume it; ``None`` when it no longer exists.

    A read, but only the public survey pages need it, and they reach feedback through its
    services; it belongs in selectors once that module takes unscoped reads.
    """
    row = (Response.objects.filter(pk=response_id)
           .values("id", "survey_id", "survey_version_id", "answers", "completed").first())
    if row is None:
        return None
    return ResponseProgress(row["id"], row["survey_id"], row["survey_version_id"],
                            dict(row["answers"] or {}), bool(row["completed"]))


# Text analytics writes what it found back onto the items: the redacted text every page,
# export and digest shows, and the language where the source did not say.

@dataclass(frozen=True)
class FeedbackAnnotation:
    """The redacted text (and the detected language) of one feedback item."""

    feedback_id: int
    redacted_text: str
    language: str = ""


def feedback_annotate(*, annotations: Sequence[FeedbackAnnotation]) -> int:
    """Store each item's redacted text, and its language where none was given; returns how
    many items were updated. Call it inside the transaction that stores the analysis."""
    by_id = {a.feedback_id: a for a in annotations}
    items = list(FeedbackItem.objects.filter(id__in=by_id).only("id", "language",
                                                                  "redacted_text"))
    for item in items:
        annotation = by_id[item.pk]
        item.redacted_text = annotation.redacted_text
        if not item.language and annotation.language:
            item.language = annotation.language[:10]
    FeedbackItem.objects.bulk_update(items, ["redacted_text", "language"], batch_size=500)
    return len(items)
