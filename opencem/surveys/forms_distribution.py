"""Forms of the distribution pages: triggers, contact rules, sending now and personal links.

The forms only turn what a person typed into the services' inputs; the limits (ranges,
slugs, known units, who may design or send) are the services' own, and their refusals are
put back on the form by ``apply_error``. Units and surveys offered come from the viewer's
scope, so a POST naming one outside it fails like any other bad choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django import forms

from opencem.accounts.forms import SettingsForm
from opencem.accounts.selectors import Scope
from opencem.core.errors import ApplicationError
from opencem.customers.choices import Channel
from opencem.customers.selectors import customer_find_by_identity
from opencem.surveys.distribution import MAX_SEND_NOW, ContactRuleInput, TriggerInput
from opencem.surveys.invitations import DEFAULT_VALID_DAYS
from opencem.surveys.models import ContactRule, Survey, Trigger

if TYPE_CHECKING:
    from opencem.accounts.models import Unit

_INDENT = "\u2014 "
MAX_IDENTITY_LINES = MAX_SEND_NOW


def apply_error(form: forms.Form, exc: ApplicationError,
                aliases: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form field its location names (``["kinds", 2]`` is
    the third item of the field "kinds"), else above the form."""
    aliases = aliases or {}
    placed = False
    for error in exc.errors:
        for i, part in enumerate(error.loc):
            name = aliases.get(str(part), str(part))
            if name in form.fields:
                rest = error.loc[i + 1:]
                if rest and isinstance(rest[0], int):
                    message = f"item {rest[0] + 1}: {error.message}"
                elif rest:
                    message = f"{rest[0]}: {error.message}"
                else:
                    message = error.message
                form.add_error(name, message)
                placed = True
                break
    if not placed:
        form.add_error(None, exc.message)


def unit_choices(units: Iterable[Unit]) -> list[tuple[str, str]]:
    """(code, label) pairs showing the tree by indenting each unit by its depth."""
    units = list(units)
    base = min((u.depth for u in units), default=0)
    return [(u.code, f"{_INDENT * (u.depth - base)}{u.name} ({u.code})") for u in units]


def _words(text: str) -> tuple[str, ...]:
    """Comma- or space-separated words, in order, without repeats."""
    return tuple(dict.fromkeys(w for w in text.replace(",", " ").split() if w))


class TriggerForm(SettingsForm):
    """What interactions invite a customer to the survey, and the invitation they get."""

    name = forms.CharField(max_length=200, help_text="E.g. \u201cAfter a store purchase\u201d.")
    active = forms.BooleanField(required=False, initial=True)
    kinds = forms.CharField(
        required=False, max_length=1000, label="Interaction kinds",
        help_text="Comma-separated, e.g. \u201cpurchase, refund\u201d; empty matches every "
                  "kind.")
    channels = forms.MultipleChoiceField(
        required=False, choices=Channel.choices, widget=forms.CheckboxSelectMultiple,
        help_text="None ticked matches every channel.")
    units = forms.MultipleChoiceField(
        required=False, choices=(), widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Interactions at these units and the units below them; none chosen "
                  "matches every unit.")
    delay_minutes = forms.IntegerField(initial=0, label="Delay (minutes)",
                                       help_text="Wait this long after the interaction.")
    sample_percent = forms.IntegerField(initial=100, label="Sample (%)",
                                        help_text="Invite this share of matching "
                                                  "interactions (0\u2013100).")
    touchpoint = forms.CharField(required=False, max_length=64,
                                 help_text="Stamped on the invitation; the interaction's "
                                           "when empty.")
    valid_days = forms.IntegerField(initial=DEFAULT_VALID_DAYS, label="Link valid (days)")
    reminder_after_days = forms.IntegerField(
        initial=0, label="Remind after (days)", help_text="0 never reminds.")
    max_reminders = forms.IntegerField(initial=0, label="At most (reminders)")
    hidden = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        label="Hidden fields",
        help_text="One per line: \u201cstore = unit\u201d or \u201corder = "
                  "attributes.order_id\u201d.")

    def __init__(self, *args: Any, units: Iterable[Unit], trigger: Trigger | None = None,
                 **kwargs: Any) -> None:
        if trigger is not None:
            kwargs.setdefault("initial", {
                "name": trigger.name, "active": trigger.active,
                "kinds": ", ".join(trigger.kinds), "channels": trigger.channels,
                "units": trigger.unit_codes, "delay_minutes": trigger.delay_minutes,
                "sample_percent": trigger.sample_percent, "touchpoint": trigger.touchpoint,
                "valid_days": trigger.valid_days,
                "reminder_after_days": trigger.reminder_after_days,
                "max_reminders": trigger.max_reminders,
                "hidden": "\n".join(f"{k} = {v}" for k, v in trigger.hidden_fields.items())})
        super().__init__(*args, **kwargs)
        choices = unit_choices(units)
        known = {code for code, _ in choices}
        # A trigger may name units outside the editor's scope (set by a colleague); they stay
        # offered so that saving it does not silently drop them.
        extra = [(c, c) for c in (trigger.unit_codes if trigger else []) if c not in known]
        self.fields["units"].choices = choices + extra  # type: ignore[attr-defined]

    def clean_hidden(self) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["hidden"].splitlines(), 1):
            if not line.strip():
                continue
            name, sep, source = line.partition("=")
            if not sep or not name.strip() or not source.strip():
                raise forms.ValidationError(f"line {number}: write \u201cfield = source\u201d")
            mapping[name.strip()] = source.strip()
        return mapping

    def to_input(self) -> TriggerInput:
        data = self.cleaned_data
        return TriggerInput(
            name=data["name"], active=data["active"], kinds=_words(data["kinds"]),
            channels=tuple(data["channels"]), unit_codes=tuple(data["units"]),
            delay_minutes=data["delay_minutes"], sample_percent=data["sample_percent"],
            touchpoint=data["touchpoint"].strip(), hidden_fields=data["hidden"],
            valid_days=data["valid_days"], reminder_after_days=data["reminder_after_days"],
            max_reminders=data["max_reminders"])


TRIGGER_ALIASES = {"unit_codes": "units", "hidden_fields": "hidden"}


class ContactRuleForm(SettingsForm):
    """A fatigue limit for every survey and customer, or an override for one survey and/or
    one segment of customers."""

    survey = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, choices=(),
        help_text="Leave at \u201cEvery survey\u201d for a rule across all programmes.")
    segment_attribute = forms.CharField(
        required=False, max_length=64, label="Segment: customer attribute",
        help_text="E.g. \u201ctier\u201d; with a value, the rule applies only to those "
                  "customers.")
    segment_value = forms.CharField(required=False, max_length=200,
                                    label="Segment: attribute value", help_text="E.g. "
                                                                                "\u201cgold\u201d.")
    max_invitations = forms.IntegerField(
        required=False, label="At most (invitations)",
        help_text="Per customer per period; empty means no limit.")
    period_days = forms.IntegerField(initial=30, label="Period (days)")
    min_gap_days = forms.IntegerField(initial=0, label="Minimum gap (days)",
                                      help_text="Between two invitations to one customer.")

    def __init__(self, *args: Any, surveys: Sequence[Survey], rule: ContactRule | None = None,
                 **kwargs: Any) -> None:
        if rule is not None:
            kwargs.setdefault("initial", {
                "survey": rule.survey_id, "segment_attribute": rule.segment_attribute,
                "segment_value": rule.segment_value, "max_invitations": rule.max_invitations,
                "period_days": rule.period_days, "min_gap_days": rule.min_gap_days})
        super().__init__(*args, **kwargs)
        self._surveys = {s.pk: s for s in surveys}
        if rule is not None and rule.survey is not None:
            self._surveys.setdefault(rule.survey.pk, rule.survey)
        self.fields["survey"].choices = [  # type: ignore[attr-defined]
            ("", "Every survey"),
            *((s.pk, f"{s.name} ({s.unit.code})") for s in self._surveys.values())]

    def to_input(self) -> ContactRuleInput:
        data = self.cleaned_data
        survey_id = data["survey"]
        return ContactRuleInput(
            survey=self._surveys[survey_id] if survey_id is not None else None,
            segment_attribute=data["segment_attribute"].strip(),
            segment_value=data["segment_value"].strip(),
            max_invitations=data["max_invitations"], period_days=data["period_days"],
            min_gap_days=data["min_gap_days"])


class RecipientsForm(SettingsForm):
    """Customers picked by their identities, or a segment (an attribute equal to a value)."""

    identities = forms.CharField(
        required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 3}),
        label="Customers", help_text="One email address, phone number or other identity "
                                     "per line.")
    segment_attribute = forms.CharField(required=False, max_length=64,
                                        label="Or a segment: customer attribute",
                                        help_text="E.g. \u201ctier\u201d.")
    segment_value = forms.CharField(required=False, max_length=200,
                                    label="Segment: attribute value",
                                    help_text="E.g. \u201cgold\u201d.")
    unit = forms.ChoiceField(required=False, choices=(), label="Sent for unit",
                             help_text="The survey's own unit when not chosen.")
    valid_days = forms.IntegerField(initial=DEFAULT_VALID_DAYS, label="Link valid (days)")

    def __init__(self, *args: Any, scope: Scope, units: Iterable[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        self._units = {u.code: u for u in units}
        self.fields["unit"].choices = [  # type: ignore[attr-defined]
            ("", "The survey's unit"), *unit_choices(self._units.values())]
        self.customer_ids: list[int] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lines = [line.strip() for line in (data.get("identities") or "").splitlines()
                 if line.strip()]
        attribute = (data.get("segment_attribute") or "").strip()
        value = (data.get("segment_value") or "").strip()
        if lines and (attribute or value):
            self.add_error("identities", "Give customers or a segment, not both.")
        elif not lines and not attribute and not value and not self.errors:
            self.add_error("identities", "Give at least one customer, or a segment.")
        elif attribute or value:
            if not attribute:
                self.add_error("segment_attribute", "Name the attribute too.")
            if not value:
                self.add_error("segment_value", "Give the value too.")
        elif len(lines) > MAX_IDENTITY_LINES:
            self.add_error("identities", f"At most {MAX_IDENTITY_LINES} customers at a time; "
                                         "use a segment for more.")
        else:
            self._resolve(lines)
        return data

    def _resolve(self, lines: list[str]) -> None:
        ids: list[int] = []
        for number, text in enumerate(lines, 1):
            customer = customer_find_by_identity(scope=self.scope, text=text)
            if customer is None:
                self.add_error("identities", f"line {number}: no customer in your scope has "
                                             f"the identity \u201c{text}\u201d")
            else:
                ids.append(customer.pk)
        self.customer_ids = ids

    @property
    def segment(self) -> tuple[str, str] | None:
        attribute = self.cleaned_data["segment_attribute"].strip()
        return (attribute, self.cleaned_data["segment_value"].strip()) if attribute else None

    @property
    def chosen_unit(self) -> Unit | None:
        code = self.cleaned_data["unit"]
        return self._units[code] if code else None


RECIPIENT_ALIASES = {"customers": "identities", "attribute": "segment_attribute",
                     "segment": "segment_attribute"}


class SendForm(RecipientsForm):
    """Email the survey now to the customers picked (within the contact rules)."""

    touchpoint = forms.CharField(required=False, max_length=64,
                                 help_text="Stamped on the invitations, e.g. "
                                           "\u201cstore_visit\u201d.")


class PersonalLinksForm(RecipientsForm):
    """A CSV of single-use survey links for the customers picked, for another channel."""
