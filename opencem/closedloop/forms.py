"""The closed loop's forms: alert rules, the inbox filters and the case actions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django import forms

from opencem.accounts.forms import UnitChoiceField
from opencem.accounts.selectors import Scope, unit_list
from opencem.closedloop.choices import Action, CaseStatus, Priority
from opencem.closedloop.models import AlertRule
from opencem.closedloop.rules import RuleInput
from opencem.closedloop.selectors import CaseFilter
from opencem.surveys.selectors import surveys_visible
from opencem.textanalytics.selectors import theme_choices

EXAMPLE = json.dumps({"match": "any", "conditions": [
    {"field": "nps", "op": "lte", "value": 6},
    {"field": "keyword", "op": "in", "value": ["cancel", "lawyer"]}]}, indent=2)


_UnitChoice = UnitChoiceField

if TYPE_CHECKING:
    # The stubs make the field generic; at run time Django's class is not subscriptable.
    _SurveyChoice = forms.ModelChoiceField[Any]
else:
    _SurveyChoice = forms.ModelChoiceField


class RuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    unit = _UnitChoice(queryset=None, help_text="It watches this unit and everything below.")
    conditions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text='JSON: {"match": "all" or "any", "conditions": [...]}. A condition is '
                  '{"field", "op", "value"}: fields nps, csat, ces, rating, sentiment, '
                  "sentiment_score, theme, emotion, keyword, unit, touchpoint, channel, kind, "
                  "customer.<attribute>; ops lt, lte, eq, ne, gte, gt, in, not_in. Groups "
                  "nest.")
    actions = forms.MultipleChoiceField(choices=Action.choices,
                                        widget=forms.CheckboxSelectMultiple)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    sla_hours = forms.IntegerField(min_value=1, max_value=2160, initial=48, label="SLA (hours)")
    team = _UnitChoice(queryset=None, required=False,
                       help_text="Round-robin among this unit's managers and agents instead of "
                                 "the owner of the customer's unit.")
    notify_emails = forms.CharField(required=False, label="Also email",
                                    help_text="Addresses, separated by commas.")
    followup_survey = _SurveyChoice(
        queryset=None, required=False,
        help_text="Sent to the customer once the case is resolved (one question: NPS).")
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, scope: Scope, rule: AlertRule | None = None,
                 **kwargs: Any) -> None:
        unbound = not args or args[0] is None
        if rule is not None and unbound:
            kwargs.setdefault("initial", {
                "name": rule.name, "unit": rule.unit, "actions": rule.actions,
                "conditions": json.dumps(rule.conditions, indent=2),
                "priority": rule.priority, "sla_hours": rule.sla_hours, "team": rule.team,
                "notify_emails": ", ".join(rule.notify_emails),
                "followup_survey": rule.followup_survey, "active": rule.active})
        super().__init__(*args, **kwargs)
        units = unit_list(scope=scope)
        design = units if scope.design_unit_ids is None else units.filter(
            id__in=scope.design_unit_ids)
        self.fields["unit"].queryset = design  # type: ignore[attr-defined]
        self.fields["team"].queryset = units  # type: ignore[attr-defined]
        self.fields["followup_survey"].queryset = (  # type: ignore[attr-defined]
            surveys_visible(scope=scope).order_by("name"))
        if rule is None and unbound:
            self.fields["conditions"].initial = EXAMPLE

    def clean_conditions(self) -> Any:
        try:
            return json.loads(self.cleaned_data["conditions"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"not JSON: {exc.msg} (line {exc.lineno})") from exc

    def to_input(self) -> RuleInput:
        data = self.cleaned_data
        emails = [e.strip() for e in data["notify_emails"].split(",") if e.strip()]
        survey = data["followup_survey"]
        return RuleInput(name=data["name"], unit=data["unit"], conditions=data["conditions"],
                         actions=list(data["actions"]), priority=data["priority"],
                         sla_hours=data["sla_hours"], team=data["team"],
                         notify_emails=emails, followup_survey_id=survey.pk if survey else None,
                         active=data["active"])


class PreviewForm(forms.Form):
    unit = _UnitChoice(queryset=None)
    conditions = forms.CharField()

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = unit_list(scope=scope)  # type: ignore[attr-defined]

    clean_conditions = RuleForm.clean_conditions


STATUS_FILTERS = [("open", "Open"), ("all", "All"), *CaseStatus.choices]


class InboxForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    priority = forms.ChoiceField(choices=[("", "Any"), *Priority.choices], required=False)
    unit = _UnitChoice(queryset=None, required=False, empty_label="Any")
    owner = forms.ChoiceField(choices=[("", "Anyone"), ("me", "Me"),
                                       ("unassigned", "Nobody")], required=False)
    overdue = forms.BooleanField(required=False, label="Only overdue")

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = unit_list(scope=scope)  # type: ignore[attr-defined]

    def to_filter(self) -> CaseFilter:
        data = self.cleaned_data
        unit = data.get("unit")
        return CaseFilter(status=data.get("status") or "open",
                          priority=data.get("priority") or "",
                          unit_path=unit.path if unit else "", owner=data.get("owner") or "",
                          overdue=bool(data.get("overdue")))


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=CaseStatus.choices)
    root_cause = forms.ChoiceField(required=False, help_text="Needed to resolve or close.")
    issue_resolved = forms.TypedChoiceField(
        choices=[("", "—"), ("yes", "Yes"), ("no", "No")], required=False,
        coerce=lambda v: v == "yes", empty_value=None, label="Issue resolved?")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False,
                           label="Comment", help_text="Kept with the change on the timeline.")


    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The taxonomy's themes (text analytics): what recurring causes are counted in.
        field = self.fields["root_cause"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—"), *theme_choices()]

class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000,
                           label="Note")


class MessageForm(forms.Form):
    subject = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=10_000,
                           label="Message")


class ReportForm(forms.Form):
    unit = _UnitChoice(queryset=None, required=False, empty_label="All my units")
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = unit_list(scope=scope)  # type: ignore[attr-defined]
