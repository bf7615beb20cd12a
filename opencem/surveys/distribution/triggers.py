"""Triggers: invite a customer to a survey after an interaction that matches the filters.

Designed by admins and analysts of the survey's unit; evaluated as interactions arrive (an
ingest hook enqueues the evaluation) and again by a sweep, for any a lost message dropped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from opencem.accounts.selectors import Scope, units_by_code
from opencem.core.errors import NotFound, invalid
from opencem.customers.choices import Channel
from opencem.customers.selectors import interactions_visible
from opencem.surveys.distribution.common import (
    ATTRIBUTE_RE,
    SLUG_MESSAGE,
    SLUG_RE,
    SYSTEM_SCOPE,
    check_design,
    check_range,
)
from opencem.surveys.distribution.inviting import invite
from opencem.surveys.invitations import DEFAULT_VALID_DAYS
from opencem.surveys.models import Invitation, InvitationChannel, Survey, Trigger

if TYPE_CHECKING:
    from opencem.accounts.models import Unit
    from opencem.customers.models import Interaction

HIDDEN_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
HIDDEN_SOURCES = ("unit", "channel", "kind", "touchpoint", "external_id")
MAX_DELAY_MINUTES = 60 * 24 * 30
# Interactions that were due for an invitation more than this long ago (a history import)
# are not invited at all: a survey about a visit weeks ago would only annoy.
MAX_LATENESS = timedelta(days=2)


@dataclass(frozen=True)
class TriggerInput:
    """What a trigger matches and what invitation it makes."""

    name: str
    active: bool = True
    kinds: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    unit_codes: tuple[str, ...] = ()
    delay_minutes: int = 0
    sample_percent: int = 100
    touchpoint: str = ""
    hidden_fields: dict[str, str] | None = None
    valid_days: int = DEFAULT_VALID_DAYS
    reminder_after_days: int = 0
    max_reminders: int = 0


def _check_trigger(data: TriggerInput) -> None:
    if not data.name.strip() or len(data.name) > 200:
        raise invalid(["name"], "must be 1 to 200 characters")
    for i, kind in enumerate(data.kinds):
        if not SLUG_RE.match(kind):
            raise invalid(["kinds", i], SLUG_MESSAGE)
    for i, channel in enumerate(data.channels):
        if channel not in Channel.values:
            raise invalid(["channels", i], f"must be one of {', '.join(Channel.values)}")
    known = units_by_code(set(data.unit_codes))
    for i, code in enumerate(data.unit_codes):
        if code not in known:
            raise invalid(["unit_codes", i], f"no unit has the code {code!r}")
    check_range("delay_minutes", data.delay_minutes, 0, MAX_DELAY_MINUTES)
    check_range("sample_percent", data.sample_percent, 0, 100)
    check_range("valid_days", data.valid_days, 1, 365)
    check_range("reminder_after_days", data.reminder_after_days, 0, 60)
    check_range("max_reminders", data.max_reminders, 0, 5)
    if data.touchpoint and not SLUG_RE.match(data.touchpoint):
        raise invalid(["touchpoint"], SLUG_MESSAGE)
    for hidden_id, source in (data.hidden_fields or {}).items():
        if not HIDDEN_ID_RE.match(hidden_id):
            raise invalid(["hidden_fields", hidden_id], "must be a hidden field id (a slug)")
        attr = source.removeprefix("attributes.")
        if source not in HIDDEN_SOURCES and not (source != attr and ATTRIBUTE_RE.match(attr)):
            raise invalid(["hidden_fields", hidden_id],
                          f"must be 'attributes.<key>' or one of {', '.join(HIDDEN_SOURCES)}")


def _trigger_fields(data: TriggerInput) -> dict[str, Any]:
    return {"name": data.name.strip(), "active": data.active, "kinds": list(data.kinds),
            "channels": list(data.channels), "unit_codes": list(data.unit_codes),
            "delay_minutes": data.delay_minutes, "sample_percent": data.sample_percent,
            "touchpoint": data.touchpoint, "hidden_fields": dict(data.hidden_fields or {}),
            "valid_days": data.valid_days, "reminder_after_days": data.reminder_after_days,
            "max_reminders": data.max_reminders}


def trigger_create(*, survey: Survey, data: TriggerInput, scope: Scope,
                   actor: User | None) -> Trigger:
    """Add a trigger to a survey; it acts on interactions stored from now on."""
    check_design(scope, survey)
    _check_trigger(data)
    return Trigger.objects.create(survey=survey, created_by=actor, **_trigger_fields(data))


def trigger_update(*, trigger: Trigger, data: TriggerInput, scope: Scope) -> Trigger:
    """Replace a trigger's settings; invitations it already made keep theirs."""
    check_design(scope, trigger.survey)
    _check_trigger(data)
    for name, value in _trigger_fields(data).items():
        setattr(trigger, name, value)
    trigger.save()
    return trigger


def trigger_delete(*, trigger: Trigger, scope: Scope) -> None:
    """Delete a trigger; its invitations stay (their ``trigger`` becomes empty)."""
    check_design(scope, trigger.survey)
    trigger.delete()


def triggers_of(*, scope: Scope, survey: Survey) -> QuerySet[Trigger]:
    """The survey's triggers (the caller has already checked the survey is visible)."""
    return Trigger.objects.filter(survey=survey).select_related("survey__unit").order_by("id")


def trigger_get(*, scope: Scope, trigger_id: int) -> Trigger:
    """A trigger of a survey in scope; any other is reported as missing."""
    trigger = Trigger.objects.select_related("survey__unit").filter(pk=trigger_id).first()
    if trigger is None or not scope.sees_unit(trigger.survey.unit_id):
        raise NotFound(f"No trigger {trigger_id}.")
    return trigger


def sampled(*, trigger_id: int, interaction_id: int, percent: int) -> bool:
    """Whether this interaction falls in the trigger's sample: the same answer every time.

    The trigger id is hashed too, so two triggers sample independent sets of interactions.
    """
    digest = hashlib.sha256(f"{trigger_id}:{interaction_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < percent


def _unit_matches(trigger: Trigger, unit: Unit, paths: dict[str, str]) -> bool:
    if not trigger.unit_codes:
        return True
    return any(code in paths and unit.path.startswith(paths[code])
               for code in trigger.unit_codes)


def _matches(trigger: Trigger, interaction: Interaction, paths: dict[str, str]) -> bool:
    return ((not trigger.kinds or interaction.kind in trigger.kinds)
            and (not trigger.channels or interaction.channel in trigger.channels)
            and _unit_matches(trigger, interaction.unit, paths))


def _hidden(trigger: Trigger, interaction: Interaction) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for hidden_id, source in (trigger.hidden_fields or {}).items():
        if source == "unit":
            value: Any = interaction.unit.code
        elif source in HIDDEN_SOURCES:
            value = getattr(interaction, source)
        else:
            value = (interaction.attributes or {}).get(source.removeprefix("attributes."))
        if value is not None and value != "":
            values[hidden_id] = value
    return values


def triggers_evaluate(*, interaction_ids: Sequence[int], now: datetime | None = None
                      ) -> list[Invitation]:
    """Make the invitations that active triggers call for after these interactions.

    Idempotent: a unique constraint allows one invitation per trigger and interaction, so a
    redelivered task or a sweep makes nothing twice. Interactions without a customer, or that
    were due for an invitation long ago, are skipped.
    """
    now = now or timezone.now()
    triggers = list(Trigger.objects.filter(
        active=True, survey__archived_at__isnull=True,
        survey__versions__published_at__isnull=False).distinct().select_related("survey")
        .order_by("id"))
    if not triggers or not interaction_ids:
        return []
    paths = {u.code: u.path for u in units_by_code(
        {code for t in triggers for code in t.unit_codes}).values()}
    interactions = (interactions_visible(scope=SYSTEM_SCOPE)
                    .filter(pk__in=list(interaction_ids), customer__isnull=False)
                    .select_related("unit", "customer").order_by("id"))
    made: list[Invitation] = []
    for interaction in interactions:
        customer = interaction.customer
        assert customer is not None
        for trigger in triggers:
            if not _matches(trigger, interaction, paths) or not sampled(
                    trigger_id=trigger.pk, interaction_id=interaction.pk,
                    percent=trigger.sample_percent):
                continue
            due = interaction.occurred_at + timedelta(minutes=trigger.delay_minutes)
            if due < now - MAX_LATENESS:
                continue
            if Invitation.objects.filter(trigger=trigger, interaction=interaction).exists():
                continue
            try:
                with transaction.atomic():
                    invitation, _ = invite(
                        survey=trigger.survey, customer=customer, unit=interaction.unit,
                        channel=InvitationChannel.EMAIL, now=now, scheduled_for=max(due, now),
                        valid_days=trigger.valid_days, interaction_id=interaction.pk,
                        trigger=trigger,
                        touchpoint=trigger.touchpoint or interaction.touchpoint,
                        hidden=_hidden(trigger, interaction))
            except IntegrityError:
                continue  # a concurrent evaluation of the same interaction made it first
            made.append(invitation)
    return made


def triggers_sweep(*, since: timedelta = timedelta(minutes=65)) -> int:
    """Evaluate recent interactions again, for any whose task a lost message dropped."""
    ids = list(interactions_visible(scope=SYSTEM_SCOPE)
               .filter(created_at__gte=timezone.now() - since).values_list("id", flat=True))
    return len(triggers_evaluate(interaction_ids=ids))
