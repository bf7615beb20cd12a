"""The filters of the responses page: survey, unit, period, score band and completion."""

from __future__ import annotations

from typing import Any

from django import forms

from opencem.accounts.selectors import Scope
from opencem.feedback.choices import ScoreBand
from opencem.feedback.forms import ListFilterForm
from opencem.feedback.selectors import ResponseFilter
from opencem.surveys.selectors import surveys_answered

COMPLETED_CHOICES = [("", "Finished or not"), ("yes", "Finished"), ("no", "Unfinished")]


class ResponseFilterForm(ListFilterForm):
    """Which responses to list; surveys offered are those the viewer may read answers of."""

    survey = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=())
    band = forms.ChoiceField(required=False, label="Score band",
                             choices=[("", "Every score"), *ScoreBand.choices])
    completed = forms.ChoiceField(required=False, label="Finished", choices=COMPLETED_CHOICES)

    field_order = ["survey", "unit", "since", "until", "band", "completed"]

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, scope=scope, **kwargs)
        self.fields["survey"].choices = [  # type: ignore[attr-defined]
            ("", "Every survey"),
            *((s.pk, s.name) for s in surveys_answered(scope=scope))]

    def to_filter(self) -> ResponseFilter:
        since, until = self.period
        data = self.cleaned_data
        completed = {"yes": True, "no": False}.get(data["completed"])
        return ResponseFilter(survey_id=data["survey"], unit=self.chosen_unit, since=since,
                              until=until, band=data["band"] or None, completed=completed)
