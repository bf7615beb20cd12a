"""The text analytics pages: the explorer (every analysed comment, searched and filtered,
mentions highlighted) and the taxonomy (read by everyone, edited by analysts and admins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opencem.accounts.selectors import Scope, request_scope, unit_list
from opencem.core.errors import ApplicationError, NotFound
from opencem.core.htmx import HtmxHttpRequest, filtered_list
from opencem.textanalytics import selectors, services
from opencem.textanalytics.explorer import Segment, explore_page, segments
from opencem.textanalytics.forms import CategoryForm, ExploreForm, InsightForm, ThemeForm
from opencem.textanalytics.insight import theme_impacts
from opencem.textanalytics.nlp.signals import EFFORT_LABELS, PILLAR_LABELS

PER_PAGE = 25


@dataclass(frozen=True)
class Row:
    """One comment as the explorer lists it."""

    item: Any
    segments: list[Segment]
    original: str
    pillars: list[str]
    effort: list[str]
    response_day: str


@dataclass(frozen=True)
class Rows:
    """One page of the explorer."""

    items: list[Row]
    next_cursor: str | None


def _row(item: Any, scope: Scope) -> Row:
    analysis = item.analysis
    text = item.redacted_text or item.text
    mentions = [(m.start, m.end, m.theme.label, m.sentiment) for m in analysis.mentions.all()]
    original = item.text if scope.sees_pii(item.unit_id) and item.text != text else ""
    return Row(item, segments(text, mentions), original,
               [PILLAR_LABELS[p] for p in analysis.pillars if p in PILLAR_LABELS],
               [EFFORT_LABELS[e] for e in analysis.effort if e in EFFORT_LABELS],
               item.occurred_at.date().isoformat())


@login_required
@require_GET
def text_explorer(request: HtmxHttpRequest) -> HttpResponse:
    """The explorer; htmx gets the next page of results on its own."""
    scope = request_scope(request)
    form = ExploreForm(request.GET, scope=scope)

    def fetch(filters: Any, cursor: str | None) -> Rows:
        page = explore_page(scope=scope, filters=filters, cursor=cursor, limit=PER_PAGE)
        return Rows([_row(i, scope) for i in page.items], page.next_cursor)

    return filtered_list(request, form=form, template="textanalytics/explorer.html",
                         rows_template="textanalytics/partials/explorer_rows.html", fetch=fetch)


def _taxonomy_page(request: HttpRequest, *, status: int = 200, **forms: Any) -> HttpResponse:
    scope = request_scope(request)
    proposals = list(selectors.proposals_open()) if scope.can_design else []
    examples = selectors.proposal_examples(proposals=proposals, scope=scope)
    context = {"categories": selectors.taxonomy(), "can_edit": scope.can_design,
               "proposals": [(p, [examples[i] for i in p.examples if i in examples])
                             for p in proposals],
               "pending": selectors.pending_count(),
               "theme_form": forms.get("theme_form") or ThemeForm(),
               "category_form": forms.get("category_form") or CategoryForm(prefix="category")}
    return render(request, "textanalytics/taxonomy.html", context, status=status)


@login_required
@require_GET
def taxonomy(request: HttpRequest) -> HttpResponse:
    """Categories and themes with their rules; analysts and admins edit them here."""
    return _taxonomy_page(request)


@login_required
@require_POST
def category_new(request: HttpRequest) -> HttpResponse:
    form = CategoryForm(request.POST, prefix="category")
    if form.is_valid():
        try:
            category = services.category_create(scope=request_scope(request),
                                                label=form.cleaned_data["label"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"The category \u201c{category.label}\u201d is added.")
            return redirect("text_taxonomy")
    return _taxonomy_page(request, status=422, category_form=form)


@login_required
@require_POST
def theme_new(request: HttpRequest) -> HttpResponse:
    form = ThemeForm(request.POST)
    if form.is_valid():
        try:
            theme = services.theme_create(scope=request_scope(request), data=form.to_input())
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"The theme \u201c{theme.label}\u201d is added. "
                                      "Re-analyse to find it in earlier comments.")
            return redirect("text_taxonomy")
    return _taxonomy_page(request, status=422, theme_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def theme_edit(request: HttpRequest, theme_id: int) -> HttpResponse:
    theme = selectors.theme_get(theme_id)
    if theme is None:
        raise NotFound("No such theme.")
    scope = request_scope(request)
    if request.method == "POST":
        form = ThemeForm(request.POST)
        if form.is_valid():
            try:
                services.theme_update(scope=scope, theme_id=theme_id, data=form.to_input())
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "The theme is saved. Re-analyse to apply it to "
                                          "earlier comments.")
                return redirect("text_taxonomy")
        status = 422
    else:
        form = ThemeForm(initial={"category": theme.category.code, "label": theme.label,
                                  "phrases": "\n".join(theme.phrases),
                                  "exclusions": "\n".join(theme.exclusions),
                                  "semantic": theme.semantic, "active": theme.active})
        status = 200
    return render(request, "textanalytics/theme_edit.html",
                  {"theme": theme, "form": form, "can_edit": scope.can_design}, status=status)


@login_required
@require_POST
def reanalyze(request: HttpRequest) -> HttpResponse:
    """Mark every analysis stale; the background task redoes them within minutes."""
    try:
        marked = services.analysis_mark_stale(scope=request_scope(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("text_taxonomy")
    messages.success(request, f"{marked} comments will be analysed again with the current "
                              "taxonomy, in the background.")
    return redirect("text_taxonomy")




def _period(since: date | None, until: date | None) -> tuple[date, date]:
    end = until or timezone.localdate()
    start = since or (end.replace(day=1) - timedelta(days=62)).replace(day=1)
    return start, end


@login_required
@require_GET
def insight(request: HttpRequest) -> HttpResponse:
    """Each theme's volume, net sentiment, trend and impact on NPS and CSAT."""
    scope = request_scope(request)
    units = list(unit_list(scope=scope).order_by("path"))
    form = InsightForm(request.GET or None, units=[(u.code, u.name) for u in units])
    impacts, status, start, end = [], 200, *_period(None, None)
    if form.is_bound and not form.is_valid():
        status = 422
    else:
        data = form.cleaned_data if form.is_bound else {}
        start, end = _period(data.get("since"), data.get("until"))
        unit = next((u for u in units if u.code == data.get("unit")), None)
        impacts = theme_impacts(scope=scope, start=start, end=end,
                                unit_path=unit.path if unit else "")
    return render(request, "textanalytics/insight.html",
                  {"form": form, "impacts": impacts, "start": start, "end": end,
                   "emerging": selectors.emerging_recent()}, status=status)


@login_required
@require_POST
def proposals_discover(request: HttpRequest) -> HttpResponse:
    """Cluster the comments no theme covers into proposed themes."""
    try:
        found = services.proposals_discover(scope=request_scope(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{len(found)} theme{'s' if len(found) != 1 else ''} "
                                  "proposed from comments no theme covers.")
    return redirect("text_taxonomy")


@login_required
@require_POST
def proposal_decide(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """Accept a proposal (under a category, possibly renamed) or reject it."""
    scope = request_scope(request)
    try:
        if request.POST.get("decision") == "reject":
            services.proposal_reject(scope=scope, proposal_id=proposal_id)
            messages.success(request, "The proposal is rejected.")
        else:
            theme = services.proposal_accept(
                scope=scope, proposal_id=proposal_id,
                category=request.POST.get("category", ""), label=request.POST.get("label", ""))
            messages.success(request, f"The theme \u201c{theme.label}\u201d is added.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("text_taxonomy")
