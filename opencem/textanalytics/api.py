"""Endpoints of text analytics: an item's analysis, the explorer's search, statistics, the
taxonomy (read by everyone signed in, written by analysts and admins) and re-analysis."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from opencem.accounts.selectors import Scope, request_scope, unit_get_by_code
from opencem.core.errors import NotFound, PermissionDenied, invalid
from opencem.core.text import CleanStr
from opencem.feedback.privacy import readable_text
from opencem.feedback.selectors import feedback_visible
from opencem.textanalytics import selectors, services
from opencem.textanalytics.explorer import ExploreFilter, explore, explore_page
from opencem.textanalytics.insight import theme_impacts

router = Router(tags=["text analytics"])


class _Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class MentionOut(Schema):
    theme: str
    label: str
    category: str
    start: int = Field(description="where the sentence starts in redacted_text")
    end: int
    sentiment: str
    score: float
    method: str = Field(description="rule or semantic")


class SentenceOut(Schema):
    start: int
    end: int
    sentiment: str
    score: float


class AnalysisOut(Schema):
    feedback_id: int
    text: str = Field(description="as written for readers with PII rights, else redacted")
    redacted_text: str
    language: str
    sentiment: str
    score: float
    emotions: list[str]
    effort: list[str]
    pillars: list[str]
    pii: list[str] = Field(description="kinds of personal data found and redacted")
    sentences: list[SentenceOut]
    mentions: list[MentionOut]
    analysed_at: datetime
    model_version: str


def _analysis_out(item: Any, scope: Scope) -> dict[str, Any]:
    a = item.analysis
    return {
        "feedback_id": item.pk, "text": readable_text(item=item, scope=scope),
        "redacted_text": item.redacted_text, "language": a.language,
        "sentiment": a.sentiment, "score": a.score, "emotions": a.emotions,
        "effort": a.effort, "pillars": a.pillars, "pii": a.pii,
        "sentences": [{"start": s[0], "end": s[1], "sentiment": s[2], "score": s[3]}
                      for s in a.sentences],
        "mentions": [{"theme": m.theme.code, "label": m.theme.label,
                      "category": m.theme.category.label, "start": m.start, "end": m.end,
                      "sentiment": m.sentiment, "score": m.score, "method": m.method}
                     for m in a.mentions.all()],
        "analysed_at": a.analysed_at, "model_version": a.model_version}


@router.get("/feedback/{feedback_id}/analysis", response=AnalysisOut,
            summary="What text analytics found in one feedback item")
def analysis_get(request: HttpRequest, feedback_id: int) -> dict[str, Any]:
    scope = request_scope(request)
    item = (feedback_visible(scope=scope).filter(pk=feedback_id, analysis__isnull=False)
            .select_related("analysis")
            .prefetch_related("analysis__mentions__theme__category").first())
    if item is None:
        raise NotFound("No analysed feedback item with this id in your scope.")
    return _analysis_out(item, scope)


class SearchParams(Schema):
    q: str = Field("", max_length=200, description="words in the comment")
    theme: str = Field("", description="a theme code, e.g. delivery.timeliness")
    sentiment: str = Field("", description="negative, neutral or positive")
    emotion: str = ""
    pillar: str = Field("", description="personalisation, integrity, expectations, "
                                        "resolution, time_and_effort or empathy")
    unit: str | None = Field(None, description="a unit code: that unit and those below it")
    touchpoint: str = ""
    kind: str = ""
    since: date | None = None
    until: date | None = Field(None, description="inclusive")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)

    def to_filter(self) -> ExploreFilter:
        unit = None
        if self.unit:
            unit = unit_get_by_code(self.unit)
            if unit is None:
                raise invalid(["unit"], f"no unit has the code {self.unit!r}")
        return ExploreFilter(
            q=self.q.strip(), theme=self.theme, sentiment=self.sentiment, emotion=self.emotion,
            pillar=self.pillar, unit=unit, touchpoint=self.touchpoint, kind=self.kind,
            since=_day(self.since), until=_day(self.until + timedelta(days=1))
            if self.until else None)


def _day(d: date | None) -> datetime | None:
    return timezone.make_aware(datetime.combine(d, time.min)) if d else None


class SearchPage(Schema):
    items: list[AnalysisOut]
    next_cursor: str | None


@router.get("/text/search", response=SearchPage,
            summary="Analysed comments in scope, newest first, searched and filtered")
def text_search(request: HttpRequest, params: Query[SearchParams]) -> dict[str, Any]:
    scope = request_scope(request)
    page = explore_page(scope=scope, filters=params.to_filter(), cursor=params.cursor,
                        limit=params.limit)
    return {"items": [_analysis_out(i, scope) for i in page.items],
            "next_cursor": page.next_cursor}


class ThemeStatOut(Schema):
    code: str
    label: str
    category: str
    mentions: int
    positive: int
    negative: int
    net_sentiment: float


class SentimentOut(Schema):
    analysed: int
    positive: int
    neutral: int
    negative: int
    mean_score: float | None
    net: float | None


class SummaryOut(Schema):
    sentiment: SentimentOut
    themes: list[ThemeStatOut]


@router.get("/text/summary", response=SummaryOut,
            summary="Sentiment and themes of the comments in scope that match the filters")
def text_summary(request: HttpRequest, params: Query[SearchParams]) -> dict[str, Any]:
    ids = explore(scope=request_scope(request), filters=params.to_filter()).values_list("id")
    return {"sentiment": selectors.sentiment_summary(feedback_ids=ids),
            "themes": selectors.theme_stats(feedback_ids=ids)[:params.limit]}


class ThemeOut(Schema):
    id: int
    code: str
    label: str
    category: str
    phrases: list[str]
    exclusions: list[str]
    semantic: bool
    active: bool


class CategoryOut(Schema):
    code: str
    label: str
    themes: list[ThemeOut]


def _theme_out(t: Any) -> dict[str, Any]:
    return {"id": t.pk, "code": t.code, "label": t.label, "category": t.category.code,
            "phrases": t.phrases, "exclusions": t.exclusions, "semantic": t.semantic,
            "active": t.active}


@router.get("/text/taxonomy", response=list[CategoryOut], summary="Categories and themes")
def taxonomy_get(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"code": c.code, "label": c.label,
             "themes": [_theme_out(t) for t in c.themes.all()]} for c in selectors.taxonomy()]


class CategoryIn(_Strict):
    label: CleanStr = Field(max_length=120)
    code: CleanStr = Field("", max_length=64)


@router.post("/text/categories", response={201: CategoryOut}, summary="Add a category")
def category_create(request: HttpRequest, payload: CategoryIn) -> Status[dict[str, Any]]:
    c = services.category_create(scope=request_scope(request), label=payload.label,
                                 code=payload.code)
    return Status(201, {"code": c.code, "label": c.label, "themes": []})


class ThemeIn(_Strict):
    category: CleanStr = Field(max_length=64, description="a category code")
    label: CleanStr = Field(max_length=120)
    phrases: list[CleanStr] = Field(default_factory=list, max_length=200)
    exclusions: list[CleanStr] = Field(default_factory=list, max_length=200)
    semantic: bool = True
    active: bool = True
    code: CleanStr = Field("", max_length=80, description="on create only; default "
                                                          "<category>.<label as a slug>")

    def to_input(self) -> services.ThemeInput:
        return services.ThemeInput(**self.model_dump())


@router.post("/text/themes", response={201: ThemeOut}, summary="Add a theme")
def theme_create(request: HttpRequest, payload: ThemeIn) -> Status[dict[str, Any]]:
    theme = services.theme_create(scope=request_scope(request), data=payload.to_input())
    return Status(201, _theme_out(theme))


@router.put("/text/themes/{theme_id}", response=ThemeOut, summary="Change a theme")
def theme_update(request: HttpRequest, theme_id: int, payload: ThemeIn) -> dict[str, Any]:
    return _theme_out(services.theme_update(scope=request_scope(request), theme_id=theme_id,
                                            data=payload.to_input()))


class ReanalyzeOut(Schema):
    marked: int


@router.post("/text/reanalyze", response={202: ReanalyzeOut},
             summary="Analyse every comment again (after a taxonomy change), in the background")
def reanalyze(request: HttpRequest) -> Status[dict[str, Any]]:
    return Status(202, {"marked": services.analysis_mark_stale(scope=request_scope(request))})


class ImpactParams(Schema):
    unit: str | None = Field(None, description="a unit code: that unit and those below it")
    since: date | None = Field(None, description="default: the start of the month two "
                                                 "months before 'until'")
    until: date | None = Field(None, description="inclusive; default today")
    limit: int = Field(20, ge=1, le=100)


class EstimateOut(Schema):
    value: float | None
    n: int
    suppressed: bool


class ImpactOut(Schema):
    theme: ThemeStatOut
    nps_overall: EstimateOut
    nps_without: EstimateOut
    nps_impact: float | None = Field(description="NPS minus NPS without the theme's responses")
    csat_overall: EstimateOut
    csat_without: EstimateOut
    csat_impact: float | None
    trend: list[tuple[date, int]] = Field(description="[first day of month, comments]")


@router.get("/text/impact", response=list[ImpactOut],
            summary="Each theme's mentions, net sentiment, trend and impact on NPS and CSAT")
def text_impact(request: HttpRequest, params: Query[ImpactParams]) -> list[Any]:
    path = ""
    if params.unit:
        unit = unit_get_by_code(params.unit)
        if unit is None:
            raise invalid(["unit"], f"no unit has the code {params.unit!r}")
        path = unit.path
    end = params.until or timezone.localdate()
    start = params.since or (end.replace(day=1) - timedelta(days=62)).replace(day=1)
    if start > end:
        raise invalid(["since"], "must not be after 'until'")
    return theme_impacts(scope=request_scope(request), start=start, end=end, unit_path=path,
                         limit=params.limit)


class ProposalOut(Schema):
    id: int
    label: str
    keywords: list[str]
    examples: list[int] = Field(description="ids of example feedback items")
    size: int
    status: str


def _proposal_out(p: Any) -> dict[str, Any]:
    return {"id": p.pk, "label": p.label, "keywords": p.keywords, "examples": p.examples,
            "size": p.size, "status": p.status}


def _designer(request: HttpRequest) -> Scope:
    scope = request_scope(request)
    if not scope.can_design:
        raise PermissionDenied("only analysts and admins work with theme proposals")
    return scope


@router.get("/text/proposals", response=list[ProposalOut], summary="Open theme proposals")
def proposals_list(request: HttpRequest) -> list[dict[str, Any]]:
    _designer(request)
    return [_proposal_out(p) for p in selectors.proposals_open()]


@router.post("/text/proposals/discover", response={201: list[ProposalOut]},
             summary="Cluster comments no theme covers into new proposals")
def proposals_discover(request: HttpRequest) -> Status[list[dict[str, Any]]]:
    found = services.proposals_discover(scope=_designer(request))
    return Status(201, [_proposal_out(p) for p in found])


class AcceptIn(_Strict):
    category: CleanStr = Field(max_length=64)
    label: CleanStr = Field("", max_length=120, description="renames the proposal")


@router.post("/text/proposals/{proposal_id}/accept", response={201: ThemeOut},
             summary="Make a proposal a theme")
def proposal_accept(request: HttpRequest, proposal_id: int,
                    payload: AcceptIn) -> Status[dict[str, Any]]:
    theme = services.proposal_accept(scope=_designer(request), proposal_id=proposal_id,
                                     category=payload.category, label=payload.label)
    return Status(201, _theme_out(theme))


@router.post("/text/proposals/{proposal_id}/reject", response={204: None},
             summary="Set a proposal aside")
def proposal_reject(request: HttpRequest, proposal_id: int) -> Status[None]:
    services.proposal_reject(scope=_designer(request), proposal_id=proposal_id)
    return Status(204, None)
