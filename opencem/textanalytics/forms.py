"""Forms of the text analytics pages: the explorer's filters and the taxonomy editor."""

from __future__ import annotations

from typing import Any

from django import forms

from opencem.feedback.choices import FeedbackKind
from opencem.feedback.forms import ListFilterForm
from opencem.textanalytics import selectors
from opencem.textanalytics.choices import EMOTION_CHOICES, PILLAR_CHOICES, Sentiment
from opencem.textanalytics.explorer import ExploreFilter
from opencem.textanalytics.services import ThemeInput


class ExploreForm(ListFilterForm):
    """The text explorer's search and filters."""

    q = forms.CharField(required=False, max_length=200, label="Words")
    theme = forms.ChoiceField(required=False)
    sentiment = forms.ChoiceField(required=False, choices=[("", "Any"), *Sentiment.choices])
    emotion = forms.ChoiceField(required=False, choices=[("", "Any"), *EMOTION_CHOICES])
    pillar = forms.ChoiceField(required=False, choices=[("", "Any"), *PILLAR_CHOICES])
    touchpoint = forms.CharField(required=False, max_length=64)
    kind = forms.ChoiceField(required=False, choices=[("", "Every kind"), *FeedbackKind.choices])

    field_order = ["q", "theme", "sentiment", "emotion", "pillar", "unit", "touchpoint", "kind",
                   "since", "until"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["theme"].choices = [("", "Any"), *selectors.theme_choices()]  # type: ignore[attr-defined]

    def to_filter(self) -> ExploreFilter:
        since, until = self.period
        d = self.cleaned_data
        return ExploreFilter(q=d["q"].strip(), theme=d["theme"], sentiment=d["sentiment"],
                             emotion=d["emotion"], pillar=d["pillar"], unit=self.chosen_unit,
                             touchpoint=d["touchpoint"].strip(), kind=d["kind"], since=since,
                             until=until)


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.replace(",", "\n").splitlines() if line.strip()]


class ThemeForm(forms.Form):
    """A theme as the taxonomy page edits it; phrases one per line (or comma-separated)."""

    category = forms.ChoiceField()
    label = forms.CharField(max_length=120)
    phrases = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="One per line; a trailing * matches any ending.")
    exclusions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                 help_text="A sentence with one of these is never this theme.")
    semantic = forms.BooleanField(required=False, initial=True, label="Also match by meaning")
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            (c.code, c.label) for c in selectors.taxonomy()]

    def to_input(self) -> ThemeInput:
        d = self.cleaned_data
        return ThemeInput(category=d["category"], label=d["label"],
                          phrases=_lines(d["phrases"]), exclusions=_lines(d["exclusions"]),
                          semantic=d["semantic"], active=d["active"])


class CategoryForm(forms.Form):
    """A new taxonomy category."""

    label = forms.CharField(max_length=120, label="New category")


class InsightForm(forms.Form):
    """The period and unit of the theme impact page (default: the last three months)."""

    unit = forms.ChoiceField(required=False)
    since = forms.DateField(required=False, label="From",
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To",
                            widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="Inclusive.")

    def __init__(self, *args: Any, units: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", "All my units"), *units]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", "Must not be before \u201cFrom\u201d.")
        return data
