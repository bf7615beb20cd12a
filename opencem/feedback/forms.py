"""The filters of the feedback and responses pages, read from the query string.

The same form drives a page and its CSV export, so the export holds exactly what the page
lists. Units offered are the viewer's own; a unit outside them is refused like any other bad
choice.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone

from opencem.accounts.forms import SettingsForm, UnitChoiceField
from opencem.accounts.selectors import Scope, unit_list
from opencem.feedback.choices import FeedbackKind
from opencem.feedback.selectors import FeedbackFilter

if TYPE_CHECKING:
    from opencem.accounts.models import Unit


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class ListFilterForm(SettingsForm):
    """Unit (with the units below it) and period, shared by the feedback and response lists."""

    unit = UnitChoiceField(queryset=None, required=False, to_field_name="code",
                           empty_label="All my units")
    since = forms.DateField(required=False, label="From",
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To",
                            widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="Inclusive.")

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = unit_list(scope=scope)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "Must not be before \u201cFrom\u201d.")
        return data

    @property
    def chosen_unit(self) -> Unit | None:
        unit: Unit | None = self.cleaned_data.get("unit")
        return unit

    @property
    def period(self) -> tuple[datetime | None, datetime | None]:
        """From the start of the first day to the end of the last, in the site's time zone."""
        since: date | None = self.cleaned_data.get("since")
        until: date | None = self.cleaned_data.get("until")
        return (_start_of(since) if since else None,
                _start_of(until + timedelta(days=1)) if until else None)


class FeedbackFilterForm(ListFilterForm):
    """The filters of the feedback stream."""

    kind = forms.ChoiceField(required=False,
                             choices=[("", "Every kind"), *FeedbackKind.choices])
    source = forms.CharField(required=False, max_length=64,
                             help_text="E.g. \u201cgoogle_reviews\u201d or \u201ccrm\u201d.")
    rating_from = forms.IntegerField(required=False, label="Rating from")
    rating_to = forms.IntegerField(required=False, label="Rating to")

    field_order = ["kind", "source", "unit", "since", "until", "rating_from", "rating_to"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("rating_from"), data.get("rating_to")
        if low is not None and high is not None and high < low:
            self.add_error("rating_to", "Must not be below \u201cRating from\u201d.")
        return data

    def to_filter(self) -> FeedbackFilter:
        since, until = self.period
        data = self.cleaned_data
        return FeedbackFilter(kind=data["kind"] or None, source=data["source"].strip() or None,
                              unit=self.chosen_unit, since=since, until=until,
                              rating_from=data["rating_from"], rating_to=data["rating_to"])
