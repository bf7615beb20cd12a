"""The dashboards' forms: the filters of each page (read from the query string, so a view can
be bookmarked and shared) and the settings forms.

Units offered come from the viewer's own scope; a unit outside it is refused like any other
bad choice. Everything else is checked again by the services and the metrics engine, whose
refusals are shown on the field they name.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django import forms

from opencem.accounts.choices import UnitKind
from opencem.accounts.forms import SettingsForm, UnitChoiceField
from opencem.accounts.selectors import Scope, unit_list
from opencem.customers.choices import Channel
from opencem.dashboards import selectors
from opencem.dashboards.explorer import ExplorerQuestion
from opencem.metrics.selectors import Compare, Dimension, Metric, MetricFilters
from opencem.surveys.selectors import surveys_answered

if TYPE_CHECKING:
    from opencem.accounts.models import Unit

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
KINDS = [("", "Default"), *UnitKind.choices]


def _metric_choices(metrics: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(m, selectors.METRIC_LABELS[m]) for m in metrics]


class PeriodForm(SettingsForm):
    """A unit of the viewer's scope (default: the top of it) and a period (default: the three
    calendar months up to today)."""

    unit = UnitChoiceField(queryset=None, required=False, to_field_name="code",
                           empty_label="My whole scope")
    since = forms.DateField(required=False, label="From", widget=DATE)
    until = forms.DateField(required=False, label="To", widget=DATE, help_text="Inclusive.")

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        self.fields["unit"].queryset = unit_list(scope=scope)  # type: ignore[attr-defined]
        tops = selectors.top_units(scope=scope)
        if len(tops) > 1:
            # Several separate units: the default is the first of them, and says so.
            self.fields["unit"].empty_label = tops[0].name  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "Must not be before \u201cFrom\u201d.")
        elif since and not until and since > selectors.today():
            self.add_error("since", "Must not be in the future.")
        return data

    @property
    def unit_code(self) -> str | None:
        """The unit chosen, or the top of the viewer's scope (None: the scope is empty)."""
        unit: Unit | None = self.cleaned_data.get("unit")
        if unit is not None:
            return unit.code
        tops = selectors.top_units(scope=self.scope)
        return tops[0].code if tops else None

    @property
    def period(self) -> tuple[date, date]:
        until: date | None = self.cleaned_data.get("until")
        since: date | None = self.cleaned_data.get("since")
        default_start, default_end = selectors.default_period(until)
        return since or default_start, until or default_end


class DashboardForm(PeriodForm):
    """A dashboard's unit, period and the metric its trend and tables show."""

    metric = forms.ChoiceField(choices=_metric_choices(selectors.SCORE_METRICS),
                               initial=Metric.NPS, required=False)

    @property
    def chosen_metric(self) -> str:
        return str(self.cleaned_data.get("metric") or Metric.NPS)


class ExecutiveForm(DashboardForm):
    """The executive dashboard and summary: the metric the league table, movers and
    consistency panel rank units by, and which kinds of unit they compare."""

    level = forms.ChoiceField(choices=KINDS, required=False, label="League table of")
    peers = forms.ChoiceField(choices=KINDS, required=False, label="Consistency across")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["metric"].label = "Rank units by"


DIMENSIONS = [("", "Nothing"), *((d.value, d.value.capitalize()) for d in Dimension)]


class ExplorerForm(PeriodForm):
    """Any metric by one or two dimensions, filtered, optionally compared."""

    metric = forms.ChoiceField(choices=_metric_choices(tuple(Metric)), initial=Metric.NPS)
    group_by = forms.ChoiceField(choices=DIMENSIONS, required=False, label="Group by",
                                 initial=Dimension.MONTH)
    then_by = forms.ChoiceField(choices=DIMENSIONS, required=False, label="Then by")
    survey = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    touchpoint = forms.CharField(required=False, max_length=64,
                                 help_text="A touchpoint slug, e.g. \u201ccheckout\u201d.")
    channel = forms.ChoiceField(choices=[("", "Every channel"), *Channel.choices],
                                required=False)
    attribute = forms.CharField(required=False, max_length=64, label="Customer attribute",
                                help_text="To group or filter by, e.g. \u201ctier\u201d.")
    attribute_value = forms.CharField(required=False, max_length=200,
                                      label="Attribute value")
    question = forms.CharField(required=False, max_length=40, label="Rating question",
                               help_text="The question id, for the rating metric.")
    compare = forms.ChoiceField(required=False, label="Compare with", choices=[
        ("", "Nothing"), (Compare.PREVIOUS, "The period before"),
        (Compare.PARENT, "The rest of the parent unit"), (Compare.TARGET, "The target")])

    field_order = ["metric", "group_by", "then_by", "unit", "since", "until", "survey",
                   "touchpoint", "channel", "attribute", "attribute_value", "question",
                   "compare"]

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, scope=scope, **kwargs)
        surveys = surveys_answered(scope=scope).values_list("id", "name")
        self.fields["survey"].choices = [("", "Every survey"), *surveys]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        first, then = data.get("group_by") or "", data.get("then_by") or ""
        if then and not first:
            self.add_error("then_by", "Choose \u201cGroup by\u201d first.")
        elif then and then == first:
            self.add_error("then_by", "Must differ from \u201cGroup by\u201d.")
        return data

    def to_question(self) -> ExplorerQuestion:
        data = self.cleaned_data
        start, end = self.period
        group_by = tuple(d for d in (data.get("group_by"), data.get("then_by")) if d)
        return ExplorerQuestion(
            metric=data["metric"], group_by=group_by, compare=data.get("compare") or None,
            filters=MetricFilters(
                unit=self.unit_code, start=start, end=end, survey=data.get("survey"),
                touchpoint=(data.get("touchpoint") or "").strip() or None,
                channel=data.get("channel") or None,
                question=(data.get("question") or "").strip() or None,
                attribute=(data.get("attribute") or "").strip() or None,
                attribute_value=(data.get("attribute_value") or "").strip() or None))


MONTH = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")


class PerceptionForm(SettingsForm):
    """The score a manager expects their unit to get in a month."""

    unit = UnitChoiceField(queryset=None, to_field_name="code", empty_label="Choose a unit\u2026")
    metric = forms.ChoiceField(choices=_metric_choices(selectors.SCORE_METRICS))
    month = forms.DateField(input_formats=["%Y-%m", "%Y-%m-%d"], widget=MONTH,
                            help_text="The month your estimate is about (YYYY-MM).")
    expected = forms.FloatField(label="Score you expect",
                                help_text="NPS −100 to 100; CSAT and % agree 0 to 100; "
                                          "CES 1 to 7.")

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        # Ids of its own: the page's filters have a unit and a metric too.
        kwargs.setdefault("auto_id", "perception_%s")
        super().__init__(*args, **kwargs)
        ids = selectors.perception_unit_ids(scope=scope)
        self.fields["unit"].queryset = unit_list(scope=scope).filter(  # type: ignore[attr-defined]
            id__in=ids)


class TargetForm(SettingsForm):
    """The value a unit aims for on a metric."""

    unit = UnitChoiceField(queryset=None, to_field_name="code", empty_label="Choose a unit\u2026")
    metric = forms.ChoiceField(choices=_metric_choices(selectors.TARGET_METRICS))
    value = forms.FloatField(label="Target")

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "target_%s")
        super().__init__(*args, **kwargs)
        units = unit_list(scope=scope)
        if scope.design_unit_ids is not None:
            units = units.filter(id__in=scope.design_unit_ids)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]


class AnonymityForm(SettingsForm):
    """An organisation's anonymity threshold k."""

    organisation = forms.ChoiceField()
    k = forms.IntegerField(label="Minimum respondents per group (k)")

    def __init__(self, *args: Any, organisations: list[tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "anonymity_%s")
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = organisations  # type: ignore[attr-defined]


class DigestForm(SettingsForm):
    """Whether the weekly digest email comes."""

    weekly = forms.BooleanField(required=False, label="Send me the weekly digest email")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "digest_%s")
        super().__init__(*args, **kwargs)
