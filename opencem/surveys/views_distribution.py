"""Distribution pages: a survey's triggers, sending, personal links and invitations; the
contact rules against survey fatigue; and the customer-facing unsubscribe page.

Every page reads through the viewer's scope; what a viewer may not change (designing needs
the admin or analyst role on the survey's unit, sending a role that may write) is shown
without its forms, and the services refuse it anyway.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from opencem.accounts.selectors import Scope, request_scope, unit_list
from opencem.core.errors import ApplicationError, NotFound
from opencem.core.exports import csv_response
from opencem.core.htmx import HtmxHttpRequest, is_partial
from opencem.surveys import distribution, selectors
from opencem.surveys.forms_distribution import (
    RECIPIENT_ALIASES,
    TRIGGER_ALIASES,
    ContactRuleForm,
    PersonalLinksForm,
    SendForm,
    TriggerForm,
    apply_error,
)
from opencem.surveys.models import Invitation, InvitationStatus, Survey

INVITATIONS_PER_PAGE = 25
# How the invitation statuses read on the page: "scheduled" is waiting to go, "completed"
# means the customer answered, "failed" that the mail server never took it.
STATUS_LABELS = {
    InvitationStatus.SCHEDULED: "Pending", InvitationStatus.SENT: "Sent",
    InvitationStatus.OPENED: "Opened", InvitationStatus.COMPLETED: "Answered",
    InvitationStatus.EXPIRED: "Expired", InvitationStatus.SUPPRESSED: "Suppressed",
    InvitationStatus.FAILED: "Not delivered",
}


def _survey(request: HttpRequest, survey_id: int) -> Survey:
    try:
        return selectors.survey_get(scope=request_scope(request), survey_id=survey_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _writable_units(scope: Scope) -> list[Any]:
    return [u for u in unit_list(scope=scope) if scope.writes_unit(u.pk)]


def _send_form(request: HttpRequest, cls: type[SendForm] | type[PersonalLinksForm],
               prefix: str, data: Any = None) -> SendForm | PersonalLinksForm:
    scope = request_scope(request)
    return cls(data, scope=scope, units=_writable_units(scope), prefix=prefix)


def _distribution_page(request: HtmxHttpRequest, survey: Survey, *,
                       trigger_form: TriggerForm | None = None,
                       send_form: SendForm | PersonalLinksForm | None = None,
                       links_form: SendForm | PersonalLinksForm | None = None,
                       status: int = 200) -> HttpResponse:
    scope = request_scope(request)
    designs = scope.designs_unit(survey.unit_id)
    sends = scope.can_write
    invitation_status = request.GET.get("status") or None
    error = None
    try:
        page = distribution.invitation_list(scope=scope, survey=survey,
                                            status=invitation_status,
                                            cursor=request.GET.get("cursor") or None,
                                            limit=INVITATIONS_PER_PAGE)
    except ApplicationError as exc:
        page, error, status = None, exc.message, exc.status
    context: dict[str, Any] = {
        "survey": survey, "page": page, "invitation_error": error,
        "status_labels": STATUS_LABELS, "invitation_status": invitation_status,
        "live": selectors.live_version(survey) is not None,
        "max_send_now": distribution.MAX_SEND_NOW,
    }
    if is_partial(request) and request.GET.get("cursor"):
        return render(request, "surveys/partials/invitation_rows.html", context, status=status)
    if trigger_form is None and designs:
        trigger_form = TriggerForm(units=unit_list(scope=scope))
    if send_form is None and sends:
        send_form = _send_form(request, SendForm, "send")
    if links_form is None and sends:
        links_form = _send_form(request, PersonalLinksForm, "links")
    context.update(triggers=distribution.triggers_of(scope=scope, survey=survey),
                   designs=designs, sends=sends, trigger_form=trigger_form,
                   send_form=send_form, links_form=links_form)
    return render(request, "surveys/distribution.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def survey_distribution(request: HtmxHttpRequest, survey_id: int) -> HttpResponse:
    """The survey's triggers, sending by hand, personal links and invitations; htmx gets the
    next page of invitations on its own."""
    return _distribution_page(request, _survey(request, survey_id))


@login_required
@require_POST
def trigger_create(request: HtmxHttpRequest, survey_id: int) -> HttpResponse:
    survey = _survey(request, survey_id)
    scope = request_scope(request)
    form = TriggerForm(request.POST, units=unit_list(scope=scope))
    status = 422
    if form.is_valid():
        try:
            trigger = distribution.trigger_create(survey=survey, data=form.to_input(),
                                                  scope=scope, actor=_user(request))
        except ApplicationError as exc:
            apply_error(form, exc, TRIGGER_ALIASES)
            status = exc.status
        else:
            messages.success(request, f"Trigger \u201c{trigger.name}\u201d added.")
            return redirect(reverse("survey_distribution", args=[survey.pk]) + "#triggers")
    return _distribution_page(request, survey, trigger_form=form, status=status)


def _designed_trigger(request: HttpRequest, trigger_id: int) -> Any:
    scope = request_scope(request)
    try:
        trigger = distribution.trigger_get(scope=scope, trigger_id=trigger_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not scope.designs_unit(trigger.survey.unit_id):
        raise PermissionDenied("Changing triggers needs the admin or analyst role on the "
                               "survey's unit.")
    return trigger


@login_required
@require_http_methods(["GET", "POST"])
def trigger_edit(request: HttpRequest, trigger_id: int) -> HttpResponse:
    """Change one trigger; invitations it already made keep theirs."""
    trigger = _designed_trigger(request, trigger_id)
    scope = request_scope(request)
    form = TriggerForm(request.POST or None, units=unit_list(scope=scope), trigger=trigger)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                distribution.trigger_update(trigger=trigger, data=form.to_input(), scope=scope)
            except ApplicationError as exc:
                apply_error(form, exc, TRIGGER_ALIASES)
                status = exc.status
            else:
                messages.success(request, f"Trigger \u201c{trigger.name}\u201d saved.")
                return redirect(reverse("survey_distribution", args=[trigger.survey_id])
                                + "#triggers")
    return render(request, "surveys/trigger_edit.html", {"trigger": trigger, "form": form},
                  status=status)


@login_required
@require_POST
def trigger_delete(request: HtmxHttpRequest, trigger_id: int) -> HttpResponse:
    """Delete a trigger; htmx removes its row, a plain form comes back to the page."""
    trigger = _designed_trigger(request, trigger_id)
    survey_id, name = trigger.survey_id, trigger.name
    distribution.trigger_delete(trigger=trigger, scope=request_scope(request))
    if is_partial(request):
        return HttpResponse("")
    messages.success(request, f"Trigger \u201c{name}\u201d deleted.")
    return redirect(reverse("survey_distribution", args=[survey_id]) + "#triggers")


def _summary(invitations: list[Invitation]) -> str:
    """What happened to the invitations just made, e.g. "3 invitations: 2 sent,
    1 suppressed (customer unsubscribed)."."""
    counts = Counter(i.status for i in invitations)
    reasons = Counter(i.suppressed_reason for i in invitations if i.suppressed_reason)
    noun = "invitation" if len(invitations) == 1 else "invitations"
    text = f"{len(invitations)} {noun}: " + ", ".join(
        f"{counts[status]} {label.lower()}" for status, label in STATUS_LABELS.items()
        if counts[status])
    if reasons:
        text += " (" + "; ".join(f"{r}: {n}" if n > 1 else r for r, n in reasons.items()) + ")"
    return text + "."


@login_required
@require_POST
def invitations_send(request: HtmxHttpRequest, survey_id: int) -> HttpResponse:
    """Email the survey now to the customers picked; the result is summed up on the page."""
    survey = _survey(request, survey_id)
    form = _send_form(request, SendForm, "send", request.POST)
    status = 422
    if form.is_valid():
        try:
            invitations = distribution.invitations_send_now(
                survey=survey, scope=request_scope(request), customer_ids=form.customer_ids,
                segment=form.segment, unit=form.chosen_unit,
                valid_days=form.cleaned_data["valid_days"],
                touchpoint=form.cleaned_data.get("touchpoint", "").strip())
        except ApplicationError as exc:
            apply_error(form, exc, RECIPIENT_ALIASES)
            status = exc.status
        else:
            if invitations:
                messages.success(request, _summary(invitations))
            else:
                messages.info(request, "No customer in your scope is in that segment.")
            return redirect(reverse("survey_distribution", args=[survey.pk]) + "#invitations")
    return _distribution_page(request, survey, send_form=form, status=status)


@login_required
@require_POST
def personal_links(request: HtmxHttpRequest, survey_id: int) -> HttpResponseBase:
    """A CSV of new single-use links for the customers picked (suppressed ones say why)."""
    survey = _survey(request, survey_id)
    form = _send_form(request, PersonalLinksForm, "links", request.POST)
    status = 422
    if form.is_valid():
        try:
            rows = distribution.personal_links_create(
                survey=survey, scope=request_scope(request), customer_ids=form.customer_ids,
                segment=form.segment, unit=form.chosen_unit,
                valid_days=form.cleaned_data["valid_days"])
        except ApplicationError as exc:
            apply_error(form, exc, RECIPIENT_ALIASES)
            status = exc.status
        else:
            response = csv_response(f"survey-{survey.pk}-links.csv",
                                    distribution.PERSONAL_LINK_COLUMNS,
                                    (r.as_row() for r in rows))
            # The links are the customers' credentials: never keep them in a cache.
            response["Cache-Control"] = "no-store"
            return response
    return _distribution_page(request, survey, links_form=form, status=status)


# --- contact rules ---------------------------------------------------------------------------


def _designable_surveys(scope: Scope) -> list[Survey]:
    return [s for s in selectors.surveys_visible(scope=scope) if scope.designs_unit(s.unit_id)]


def _rules_page(request: HttpRequest, form: ContactRuleForm | None, status: int = 200
                ) -> HttpResponse:
    scope = request_scope(request)
    rules = list(distribution.contact_rules_list(scope=scope))
    return render(request, "surveys/contact_rules.html", {
        "rules": [(rule, _may_change(scope, rule.survey)) for rule in rules],
        "form": form}, status=status)


def _may_change(scope: Scope, survey: Survey | None) -> bool:
    if survey is None:
        return scope.design_unit_ids is None
    return scope.designs_unit(survey.unit_id)


@login_required
@require_http_methods(["GET", "POST"])
def contact_rule_list(request: HttpRequest) -> HttpResponse:
    """The rules against survey fatigue, general ones first; designers add more."""
    scope = request_scope(request)
    if not scope.can_design:
        if request.method == "POST":
            raise PermissionDenied("Contact rules are set by administrators and analysts.")
        return _rules_page(request, None)
    form = ContactRuleForm(request.POST or None, surveys=_designable_surveys(scope))
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                distribution.contact_rule_create(data=form.to_input(), scope=scope)
            except ApplicationError as exc:
                apply_error(form, exc)
                status = exc.status
            else:
                messages.success(request, "Contact rule added.")
                return redirect("contact_rule_list")
    return _rules_page(request, form, status)


def _changeable_rule(request: HttpRequest, rule_id: int) -> Any:
    scope = request_scope(request)
    try:
        rule = distribution.contact_rule_get(scope=scope, rule_id=rule_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not _may_change(scope, rule.survey):
        raise PermissionDenied("Changing this rule needs the admin or analyst role over what "
                               "it applies to.")
    return rule


@login_required
@require_http_methods(["GET", "POST"])
def contact_rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _changeable_rule(request, rule_id)
    scope = request_scope(request)
    form = ContactRuleForm(request.POST or None, surveys=_designable_surveys(scope), rule=rule)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                distribution.contact_rule_update(rule=rule, data=form.to_input(), scope=scope)
            except ApplicationError as exc:
                apply_error(form, exc)
                status = exc.status
            else:
                messages.success(request, "Contact rule saved.")
                return redirect("contact_rule_list")
    return render(request, "surveys/contact_rule_edit.html", {"rule": rule, "form": form},
                  status=status)


@login_required
@require_POST
def contact_rule_delete(request: HtmxHttpRequest, rule_id: int) -> HttpResponse:
    rule = _changeable_rule(request, rule_id)
    distribution.contact_rule_delete(rule=rule, scope=request_scope(request))
    if is_partial(request):
        return HttpResponse("")
    messages.success(request, "Contact rule deleted; the next more general one applies.")
    return redirect("contact_rule_list")


# --- the customer's unsubscribe page ---------------------------------------------------------


# The signed token in the URL is the only credential, and mail clients send RFC 8058
# one-click POSTs without any CSRF token; a forged POST would need that signed token anyway.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what the link unsubscribes from with one button; POST does it.

    A GET never unsubscribes: mail scanners fetch every link in a message, and would
    otherwise unsubscribe customers who never clicked.
    """
    try:
        customer_id, survey_id = distribution.unsubscribe_parse(token)
        survey_name = distribution.unsubscribe_survey_name(survey_id)
    except NotFound:
        return render(request, "surveys/unsubscribe_invalid.html", status=404)
    context = {"survey_name": survey_name, "token": token}
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        try:
            distribution.unsubscribe_create(customer_id=customer_id, survey_id=survey_id,
                                            source="one-click" if one_click else "link")
        except NotFound:
            return render(request, "surveys/unsubscribe_invalid.html", status=404)
        return render(request, "surveys/unsubscribe_done.html", context)
    return render(request, "surveys/unsubscribe.html", context)
