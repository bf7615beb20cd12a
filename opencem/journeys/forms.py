"""Forms of the journey pages: what a designer types, turned into the JSON the services
check (so the page and the API refuse the same things)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django import forms

from opencem.accounts.forms import SettingsForm
from opencem.customers.choices import Channel
from opencem.journeys.choices import JourneyMetric


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.replace("\n", ",").split(",") if w.strip()]


def _value(text: str) -> Any:
    """An attribute value as typed: true/false, a number, else text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text.strip())
        except ValueError:
            continue
    return text.strip()


def _choices(form: forms.Form, name: str, choices: list[tuple[Any, str]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class JourneyForm(SettingsForm):
    name = forms.CharField(max_length=200)
    unit = forms.ChoiceField(label="Owning unit")
    persona = forms.CharField(max_length=200, required=False)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False,
                                  max_length=5000)

    def __init__(self, *args: Any, units: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "unit", units)


class ImportForm(SettingsForm):
    file = forms.FileField(label="Journey JSON file")

    def document(self) -> Any:
        raw = self.cleaned_data["file"].read(1_000_000)
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise forms.ValidationError("The file is not JSON.") from exc


class StageForm(SettingsForm):
    name = forms.CharField(max_length=100, label="Stage name")


class TouchpointForm(SettingsForm):
    """A touchpoint as a designer sees it: the mapping rule as lists and ``key=value`` lines."""

    name = forms.CharField(max_length=100)
    stage = forms.TypedChoiceField(coerce=int)
    channel = forms.ChoiceField(required=False,
                                choices=[("", "—"), *Channel.choices])
    owner_unit = forms.ChoiceField(label="Owner unit")
    kinds = forms.CharField(required=False, label="Interaction kinds",
                            help_text="comma-separated, e.g. purchase, refund")
    channels = forms.MultipleChoiceField(required=False, choices=Channel.choices,
                                         label="Interaction channels",
                                         widget=forms.CheckboxSelectMultiple)
    touchpoints = forms.CharField(required=False, label="Touchpoint slugs",
                                  help_text="comma-separated, e.g. checkout")
    attributes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                 label="Attributes",
                                 help_text="one key=value a line, e.g. late=true")
    metric = forms.ChoiceField(choices=JourneyMetric.choices)
    target = forms.FloatField()
    desired = forms.CharField(max_length=300, required=False, label="Desired experience")
    importance = forms.FloatField(initial=1.0)

    def __init__(self, *args: Any, stages: list[tuple[int, str]],
                 units: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "stage", stages)
        _choices(self, "owner_unit", units)

    def clean_attributes(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for line in self.cleaned_data["attributes"].splitlines():
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise forms.ValidationError(f"{line.strip()!r} is not key=value")
            found[key.strip()] = _value(value)
        return found

    def to_doc(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"], "channel": data["channel"] or None,
            "owner_unit": data["owner_unit"],
            "rule": {"kinds": _words(data["kinds"]), "channels": list(data["channels"]),
                     "touchpoints": _words(data["touchpoints"]),
                     "attributes": data["attributes"]},
            "metric": data["metric"], "target": data["target"], "desired": data["desired"],
            "importance": data["importance"],
        }

    @staticmethod
    def initial_from(touchpoint: Any) -> dict[str, Any]:
        rule = touchpoint.rule
        return {
            "name": touchpoint.name, "stage": touchpoint.stage_id,
            "channel": touchpoint.channel, "owner_unit": touchpoint.owner_unit.code,
            "kinds": ", ".join(rule.get("kinds", [])), "channels": rule.get("channels", []),
            "touchpoints": ", ".join(rule.get("touchpoints", [])),
            "attributes": "\n".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
                                    for k, v in rule.get("attributes", {}).items()),
            "metric": touchpoint.metric, "target": touchpoint.target,
            "desired": touchpoint.desired, "importance": touchpoint.importance,
        }


class WindowForm(SettingsForm):
    """The period of a journey page (default: the last 365 days)."""

    start = forms.DateField(required=False, label="From",
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To",
                          widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start: date | None = data.get("start")
        end: date | None = data.get("end")
        if start and end and start > end:
            self.add_error("start", "must not be after 'To'")
        return data
