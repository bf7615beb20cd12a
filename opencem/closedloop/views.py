"""Closed-loop pages: the case inbox, a case with the customer's 360 beside it, alert rules
with their preview, the recovery and root-cause reports, and the customer card."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods, require_POST

from opencem.accounts.selectors import Scope, request_scope
from opencem.closedloop import rules, selectors
from opencem.closedloop.cases import (
    case_assign,
    case_message_customer,
    case_note_add,
    case_set_status,
)
from opencem.closedloop.forms import (
    InboxForm,
    MessageForm,
    NoteForm,
    PreviewForm,
    ReportForm,
    RuleForm,
    StatusForm,
)
from opencem.closedloop.models import Case
from opencem.core.errors import ApplicationError, NotFound
from opencem.core.htmx import HtmxHttpRequest, is_partial
from opencem.customers import selectors as customer_selectors
from opencem.customers import timeline


def _form_error(form: Any, exc: ApplicationError) -> None:
    placed = False
    for error in exc.errors:
        name = str(error.loc[0]) if error.loc else ""
        if name in form.fields:
            form.add_error(name, error.message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@login_required
def case_inbox(request: HtmxHttpRequest) -> HttpResponse:
    """Cases in the viewer's units with filters and counts, most urgent first."""
    scope = request_scope(request)
    form = InboxForm(request.GET or None, scope=scope)
    cases: list[Case] = []
    status = 200
    if not request.GET or form.is_valid():
        filters = form.to_filter() if request.GET else selectors.CaseFilter()
        cases = selectors.case_inbox(scope=scope, filters=filters, user_id=scope.user_id)
    else:
        status = 422
    context = {"form": form, "cases": cases, "now": timezone.now(),
               "counts": selectors.case_counts(scope=scope, user_id=scope.user_id)}
    template = ("closedloop/partials/inbox_rows.html" if is_partial(request)
                else "closedloop/inbox.html")
    return render(request, template, context, status=status)


def _case(request: HttpRequest, case_id: int) -> Case:
    try:
        return selectors.case_get(scope=request_scope(request), case_id=case_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _may_write(scope: Scope, case: Case) -> bool:
    return case.owner_id == scope.user_id or scope.writes_unit(case.unit_id)


def _detail(request: HttpRequest, case: Case, *, status: int = 200,
            **forms: Any) -> HttpResponse:
    scope = request_scope(request)
    customer = summary = page = None
    if case.customer_id is not None:
        try:
            customer = customer_selectors.customer_get(scope=scope,
                                                       customer_id=case.customer_id)
        except NotFound:
            customer = None
        if customer is not None:
            summary = customer_selectors.customer_summary(scope=scope, customer_id=customer.pk)
            found = timeline.customer_timeline(customer_ids=[customer.pk], scope=scope,
                                               limit=15)
            # The newest entries only; the 360 page itself pages further back.
            page = SimpleNamespace(entries=found.entries, next_cursor=None)
    members = User.objects.filter(is_active=True, memberships__isnull=False).distinct() \
        .order_by("username")[:200]
    return render(request, "closedloop/case_detail.html", {
        "case": case, "events": selectors.case_events(case), "source": selectors.case_source(
            case), "may_write": _may_write(scope, case), "customer": customer,
        "summary": summary, "page": page, "members": members, "now": timezone.now(),
        "status_form": forms.get("status_form") or StatusForm(initial={
            "status": case.status, "root_cause": case.root_cause}),
        "note_form": forms.get("note_form") or NoteForm(),
        "message_form": forms.get("message_form") or MessageForm(initial={
            "subject": f"About your feedback to {case.unit.name}"}),
    }, status=status)


@login_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    return _detail(request, _case(request, case_id))


def _act(request: HttpRequest, case: Case, form: Any, key: str, *, action: Any,
         done: str) -> HttpResponse:
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except ApplicationError as exc:
            if exc.status == 403:
                raise PermissionDenied(exc.message) from exc
            _form_error(form, exc)
        else:
            messages.success(request, done)
            return redirect("case_detail", case_id=case.pk)
    return _detail(request, case, status=422, **{key: form})


@login_required
@require_POST
def case_status(request: HttpRequest, case_id: int) -> HttpResponse:
    case, scope, user = _case(request, case_id), request_scope(request), request.user
    form = StatusForm(request.POST)
    return _act(request, case, form, "status_form", action=lambda d: case_set_status(
        case=case, status=d["status"], scope=scope, actor=user,  # type: ignore[arg-type]
        root_cause=d["root_cause"], issue_resolved=d["issue_resolved"], note=d["note"]),
        done="Status saved.")


@login_required
@require_POST
def case_note(request: HttpRequest, case_id: int) -> HttpResponse:
    case, scope, user = _case(request, case_id), request_scope(request), request.user
    return _act(request, case, NoteForm(request.POST), "note_form", action=lambda d: case_note_add(
        case=case, text=d["text"], scope=scope, actor=user),  # type: ignore[arg-type]
        done="Note added.")


@login_required
@require_POST
def case_message(request: HttpRequest, case_id: int) -> HttpResponse:
    case, scope, user = _case(request, case_id), request_scope(request), request.user
    return _act(request, case, MessageForm(request.POST), "message_form",
                action=lambda d: case_message_customer(case=case, subject=d["subject"],
                                                body=d["body"], scope=scope,
                                                actor=user),  # type: ignore[arg-type]
                done="Message sent to the customer.")


@login_required
@require_POST
def case_take(request: HttpRequest, case_id: int) -> HttpResponse:
    """Take the case (or give it to the member chosen)."""
    case, scope = _case(request, case_id), request_scope(request)
    wanted = request.POST.get("owner") or request.user.get_username()
    owner = User.objects.filter(username=wanted, is_active=True).first()
    if owner is None:
        raise Http404("No such user.")
    try:
        case_assign(case=case, owner=owner, scope=scope, actor=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Case given to {owner.get_username()}.")
    return redirect("case_detail", case_id=case.pk)


# --- alert rules ---------------------------------------------------------------------------


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    scope = request_scope(request)
    return render(request, "closedloop/rule_list.html", {
        "rules": [(r, scope.designs_unit(r.unit_id))
                  for r in rules.alert_rules_visible(scope=scope)],
        "may_design": scope.can_design})


def _rule_page(request: HttpRequest, rule: Any) -> HttpResponse:
    scope = request_scope(request)
    if not scope.can_design or (rule is not None and not scope.designs_unit(rule.unit_id)):
        raise PermissionDenied("Alert rules are set by administrators and analysts.")
    form = RuleForm(request.POST or None, scope=scope, rule=rule)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                if rule is None:
                    rules.alert_rule_create(data=form.to_input(), scope=scope,
                                            actor=request.user)  # type: ignore[arg-type]
                else:
                    rules.alert_rule_update(rule=rule, data=form.to_input(), scope=scope)
            except ApplicationError as exc:
                _form_error(form, exc)
                status = exc.status
            else:
                messages.success(request, "Alert rule saved.")
                return redirect("alert_rule_list")
    return render(request, "closedloop/rule_edit.html", {"form": form, "rule": rule},
                  status=status)


@login_required
@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    try:
        rule = rules.alert_rule_get(scope=request_scope(request), rule_id=rule_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return _rule_page(request, rule)


@login_required
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    scope = request_scope(request)
    try:
        rule = rules.alert_rule_get(scope=scope, rule_id=rule_id)
        rules.alert_rule_delete(rule=rule, scope=scope)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(request, "Alert rule removed.")
    return redirect("alert_rule_list")


@login_required
@require_POST
def rule_preview(request: HtmxHttpRequest) -> HttpResponse:
    """How often the conditions in the form would have fired over the last 30 days."""
    scope = request_scope(request)
    form = PreviewForm(request.POST, scope=scope)
    preview, error = None, ""
    if form.is_valid():
        try:
            preview = rules.alert_rule_preview(unit=form.cleaned_data["unit"],
                                               conditions_data=form.cleaned_data["conditions"],
                                               scope=scope)
        except ApplicationError as exc:
            error = exc.message
    else:
        error = "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items())
    return render(request, "closedloop/partials/preview.html",
                  {"preview": preview, "error": error},
                  # htmx swaps only a 2xx in; the error is shown in the fragment.
                  status=200 if preview or is_partial(request) else 422)


# --- reports and the customer card ---------------------------------------------------------


def _day(value: Any, *, end: bool = False) -> datetime | None:
    if value is None:
        return None
    start = datetime.combine(value, time.min, tzinfo=timezone.get_current_timezone())
    return start + timedelta(days=1) if end else start


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    """Recovery rate per unit, rule and root cause; the top root causes (the outer loop)."""
    scope = request_scope(request)
    form = ReportForm(request.GET or None, scope=scope)
    unit_path, start, end = "", None, None
    if request.GET and form.is_valid():
        unit = form.cleaned_data["unit"]
        unit_path = unit.path if unit else ""
        start, end = _day(form.cleaned_data["start"]), _day(form.cleaned_data["end"], end=True)
    recovery = {by: selectors.recovery_report(scope=scope, by=by, start=start, end=end)
                for by in ("unit", "rule", "root_cause")}
    return render(request, "closedloop/reports.html", {
        "form": form, "recovery": recovery,
        "root_causes": selectors.root_causes_report(scope=scope, unit_path=unit_path,
                                                    start=start, end=end)})


@xframe_options_exempt
@login_required
def customer_card(request: HttpRequest, customer_id: int) -> HttpResponse:
    """A small page for another system to embed (an iframe) while an agent talks to the
    customer; it shows only what the signed-in agent may see."""
    try:
        card = selectors.customer_card(scope=request_scope(request), customer_id=customer_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "closedloop/customer_card.html", {"card": card})
