"""Distribution: ask the right customer at the right touchpoint, without fatiguing them.

Triggers turn new interactions into invitations; contact rules and unsubscribes decide which
of those may go out (a refused one is stored as ``suppressed`` with its reason, so fatigue
rules can be audited); the senders mail due invitations and reminders; personal links hand
invitations out as a CSV for another channel.

Invitation links: the database keeps only a hash of each link's token. An emailed link's
token is derived from the invitation (an HMAC under SECRET_KEY) when it is first sent, so a
reminder can carry the very same link without the token ever being stored.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac

from opencem.accounts.selectors import Scope, units_by_code
from opencem.core.errors import Conflict, NotFound, PermissionDenied, invalid
from opencem.core.pagination import Page, keyset_page
from opencem.customers.choices import Channel, IdentityKind
from opencem.customers.selectors import (
    customer_get,
    customer_identities,
    customers_visible,
    interactions_visible,
)
from opencem.surveys.definition import LANG, localise
from opencem.surveys.invitations import DEFAULT_VALID_DAYS, hash_token, invitation_create
from opencem.surveys.models import (
    ContactRule,
    Invitation,
    InvitationChannel,
    InvitationStatus,
    Survey,
    Trigger,
    Unsubscribe,
)
from opencem.surveys.selectors import live_version, version_definition

if TYPE_CHECKING:
    from opencem.accounts.models import Unit
    from opencem.customers.models import Customer, Interaction

logger = logging.getLogger(__name__)

# Background work sees the whole organisation; what it writes was asked for by a designer.
SYSTEM_SCOPE = Scope(user_id=None, unit_ids=None, roles=frozenset(), write_unit_ids=None,
                     admin_unit_ids=None, design_unit_ids=None)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
ATTRIBUTE_RE = re.compile(r"^(?!.*__)[A-Za-z0-9_]{1,64}$")  # "__" would read as a lookup
HIDDEN_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
LANG_RE = re.compile(LANG)
HIDDEN_SOURCES = ("unit", "channel", "kind", "touchpoint", "external_id")
MAX_DELAY_MINUTES = 60 * 24 * 30
# Interactions that were due for an invitation more than this long ago (a history import)
# are not invited at all: a survey about a visit weeks ago would only annoy.
MAX_LATENESS = timedelta(days=2)
MAX_SEND_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=5)
MAX_PERSONAL_LINKS = 5000
UNSUBSCRIBE_SALT = "opencem.surveys.unsubscribe"
LINK_SALT = "opencem.surveys.invitation-link"
# Invitations that reached (or will reach) the customer count against contact rules.
COUNTED = (InvitationStatus.SCHEDULED, InvitationStatus.SENT, InvitationStatus.OPENED,
           InvitationStatus.COMPLETED, InvitationStatus.EXPIRED)


# ---------------------------------------------------------------------------------------
# Triggers and contact rules: designed by admins and analysts of the survey's unit.

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


@dataclass(frozen=True)
class ContactRuleInput:
    """A fatigue limit; ``survey`` and ``segment_attribute`` narrow whom it applies to."""

    survey: Survey | None = None
    segment_attribute: str = ""
    segment_value: str = ""
    max_invitations: int | None = None
    period_days: int = 30
    min_gap_days: int = 0


def _check_design(scope: Scope, survey: Survey | None) -> None:
    if survey is None:
        if scope.design_unit_ids is not None:
            raise PermissionDenied("rules for every survey need the admin or analyst role at "
                                   "the top of the organisation", loc=["survey"])
    elif not scope.designs_unit(survey.unit_id):
        raise PermissionDenied(f"designing distribution for {survey.unit.code!r} needs the "
                               "admin or analyst role there", loc=["survey"])


def _check_range(loc: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise invalid([loc], f"must be between {low} and {high}")


def _check_trigger(data: TriggerInput) -> None:
    if not data.name.strip() or len(data.name) > 200:
        raise invalid(["name"], "must be 1 to 200 characters")
    for i, kind in enumerate(data.kinds):
        if not SLUG_RE.match(kind):
            raise invalid(["kinds", i], "must be a lower-case slug (letters, digits, _ . -)")
    for i, channel in enumerate(data.channels):
        if channel not in Channel.values:
            raise invalid(["channels", i], f"must be one of {', '.join(Channel.values)}")
    known = units_by_code(set(data.unit_codes))
    for i, code in enumerate(data.unit_codes):
        if code not in known:
            raise invalid(["unit_codes", i], f"no unit has the code {code!r}")
    _check_range("delay_minutes", data.delay_minutes, 0, MAX_DELAY_MINUTES)
    _check_range("sample_percent", data.sample_percent, 0, 100)
    _check_range("valid_days", data.valid_days, 1, 365)
    _check_range("reminder_after_days", data.reminder_after_days, 0, 60)
    _check_range("max_reminders", data.max_reminders, 0, 5)
    if data.touchpoint and not SLUG_RE.match(data.touchpoint):
        raise invalid(["touchpoint"], "must be a lower-case slug (letters, digits, _ . -)")
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
    _check_design(scope, survey)
    _check_trigger(data)
    return Trigger.objects.create(survey=survey, created_by=actor, **_trigger_fields(data))


def trigger_update(*, trigger: Trigger, data: TriggerInput, scope: Scope) -> Trigger:
    """Replace a trigger's settings; invitations it already made keep theirs."""
    _check_design(scope, trigger.survey)
    _check_trigger(data)
    for name, value in _trigger_fields(data).items():
        setattr(trigger, name, value)
    trigger.save()
    return trigger


def trigger_delete(*, trigger: Trigger, scope: Scope) -> None:
    """Delete a trigger; its invitations stay (their ``trigger`` becomes empty)."""
    _check_design(scope, trigger.survey)
    trigger.delete()


def _check_rule(data: ContactRuleInput) -> None:
    if data.segment_attribute and not ATTRIBUTE_RE.match(data.segment_attribute):
        raise invalid(["segment_attribute"], "must be 1-64 letters, digits or single '_'")
    if bool(data.segment_attribute) != bool(data.segment_value):
        raise invalid(["segment_value"], "give both segment_attribute and segment_value, or "
                                         "neither")
    if len(data.segment_value) > 200:
        raise invalid(["segment_value"], "must be at most 200 characters")
    if data.max_invitations is not None:
        _check_range("max_invitations", data.max_invitations, 1, 1000)
    _check_range("period_days", data.period_days, 1, 3650)
    _check_range("min_gap_days", data.min_gap_days, 0, 3650)


def _save_rule(rule: ContactRule) -> ContactRule:
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        raise Conflict("A contact rule for this survey and segment already exists; change "
                       "that one.") from exc
    return rule


def contact_rule_create(*, data: ContactRuleInput, scope: Scope) -> ContactRule:
    """Add a fatigue rule: the default (no survey, no segment) or an override."""
    _check_design(scope, data.survey)
    _check_rule(data)
    return _save_rule(ContactRule(
        survey=data.survey, segment_attribute=data.segment_attribute,
        segment_value=data.segment_value, max_invitations=data.max_invitations,
        period_days=data.period_days, min_gap_days=data.min_gap_days))


def contact_rule_update(*, rule: ContactRule, data: ContactRuleInput, scope: Scope
                        ) -> ContactRule:
    """Replace a rule's limits and whom it applies to."""
    _check_design(scope, rule.survey)
    _check_design(scope, data.survey)
    _check_rule(data)
    rule.survey = data.survey
    rule.segment_attribute, rule.segment_value = data.segment_attribute, data.segment_value
    rule.max_invitations, rule.period_days = data.max_invitations, data.period_days
    rule.min_gap_days = data.min_gap_days
    return _save_rule(rule)


def contact_rule_delete(*, rule: ContactRule, scope: Scope) -> None:
    """Remove a rule; the next more general one applies again."""
    _check_design(scope, rule.survey)
    rule.delete()


# ---------------------------------------------------------------------------------------
# Reads.

def triggers_of(*, scope: Scope, survey: Survey) -> QuerySet[Trigger]:
    """The survey's triggers (the caller has already checked the survey is visible)."""
    return Trigger.objects.filter(survey=survey).select_related("survey__unit").order_by("id")


def trigger_get(*, scope: Scope, trigger_id: int) -> Trigger:
    """A trigger of a survey in scope; any other is reported as missing."""
    trigger = Trigger.objects.select_related("survey__unit").filter(pk=trigger_id).first()
    if trigger is None or not scope.sees_unit(trigger.survey.unit_id):
        raise NotFound(f"No trigger {trigger_id}.")
    return trigger


def contact_rules_list(*, scope: Scope) -> QuerySet[ContactRule]:
    """Global rules and the rules of surveys in scope, general ones first."""
    qs = ContactRule.objects.select_related("survey").order_by("survey_id", "id")
    if scope.unit_ids is None:
        return qs
    return qs.filter(Q(survey__isnull=True) | Q(survey__unit_id__in=scope.unit_ids))


def contact_rule_get(*, scope: Scope, rule_id: int) -> ContactRule:
    rule = contact_rules_list(scope=scope).select_related("survey__unit").filter(
        pk=rule_id).first()
    if rule is None:
        raise NotFound(f"No contact rule {rule_id}.")
    return rule


def invitation_list(*, scope: Scope, survey: Survey, status: str | None = None,
                    cursor: str | None = None, limit: int = 50) -> Page[Invitation]:
    """A survey's invitations made for units in scope, newest first."""
    qs = Invitation.objects.filter(survey=survey).select_related("unit")
    if scope.unit_ids is not None:
        qs = qs.filter(unit_id__in=scope.unit_ids)
    if status:
        if status not in InvitationStatus.values:
            raise invalid(["status"], f"must be one of {', '.join(InvitationStatus.values)}")
        qs = qs.filter(status=status)
    return keyset_page(qs, cursor=cursor, limit=limit, time_field="created_at")


# ---------------------------------------------------------------------------------------
# Fatigue: unsubscribes and contact rules, checked before an invitation is made.

def unsubscribe_token(*, customer_id: int, survey_id: int | None) -> str:
    """A signed value naming the customer and survey; it never expires, as a link must not."""
    return signing.dumps({"c": customer_id, "s": survey_id}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(*, customer_id: int, survey_id: int | None) -> str:
    token = unsubscribe_token(customer_id=customer_id, survey_id=survey_id)
    return settings.SITE_URL + reverse("surveys:unsubscribe", args=[token])


def unsubscribe_parse(token: str) -> tuple[int, int | None]:
    """The (customer id, survey id) a link names; a forged or damaged link is NotFound."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        customer_id, survey_id = int(data["c"]), data["s"]
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise NotFound("This unsubscribe link is not valid.") from exc
    return customer_id, None if survey_id is None else int(survey_id)


def unsubscribe_create(*, customer_id: int, survey_id: int | None, source: str = "link"
                       ) -> Unsubscribe:
    """Record that the customer wants no (more) invitations; asking twice is harmless.

    Invitations still waiting to be sent are suppressed at once.
    """
    # A link mailed before a merge names the absorbed record; the survivor is the person now.
    customer_id = customer_get(scope=SYSTEM_SCOPE, customer_id=customer_id).pk
    with transaction.atomic():
        which = Q(survey__isnull=True) if survey_id is None else Q(survey_id=survey_id)
        found = Unsubscribe.objects.filter(which, customer_id=customer_id).first()
        if found is None:
            found = Unsubscribe.objects.create(customer_id=customer_id, survey_id=survey_id,
                                               source=source)
        waiting = Invitation.objects.filter(customer_id=customer_id,
                                            status=InvitationStatus.SCHEDULED)
        if survey_id is not None:
            waiting = waiting.filter(survey_id=survey_id)
        waiting.update(status=InvitationStatus.SUPPRESSED,
                       suppressed_reason="customer unsubscribed")
    return found


def _unsubscribed(customer_id: int, survey_id: int) -> bool:
    return Unsubscribe.objects.filter(Q(survey__isnull=True) | Q(survey_id=survey_id),
                                      customer_id=customer_id).exists()


def _segment_matches(rule: ContactRule, customer: Customer) -> bool:
    if not rule.segment_attribute:
        return True
    value = (customer.attributes or {}).get(rule.segment_attribute)
    return value is not None and str(value) == rule.segment_value


def contact_rule_for(*, survey: Survey, customer: Customer) -> ContactRule | None:
    """The most specific rule for this survey and customer.

    Survey and segment beat survey alone, which beats segment alone, which beats the default;
    among equals (two segments that both match) the older rule wins, so the choice is stable.
    """
    candidates = [rule for rule in ContactRule.objects.filter(
        Q(survey__isnull=True) | Q(survey=survey)).order_by("id")
        if _segment_matches(rule, customer)]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (2 * (r.survey_id is not None)
                                          + bool(r.segment_attribute), -r.pk))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def suppression_reason(*, survey: Survey, customer: Customer, now: datetime) -> str | None:
    """Why this customer must not be invited to this survey now, or None when they may be.

    Counts every invitation across all programmes, so two surveys cannot together flood one
    customer.
    """
    if _unsubscribed(customer.pk, survey.pk):
        return "customer unsubscribed"
    rule = contact_rule_for(survey=survey, customer=customer)
    if rule is None:
        return None
    counted = Invitation.objects.filter(customer_id=customer.pk, status__in=COUNTED)
    if rule.max_invitations is not None:
        recent = counted.filter(created_at__gte=now - timedelta(days=rule.period_days)).count()
        if recent >= rule.max_invitations:
            return (f"{_plural(recent, 'invitation')} in the last "
                    f"{_plural(rule.period_days, 'day')} (limit {rule.max_invitations})")
    if rule.min_gap_days:
        last = counted.order_by("-created_at").values_list("created_at", flat=True).first()
        if last is not None and last > now - timedelta(days=rule.min_gap_days):
            days = (now - last).days
            return (f"last invitation {_plural(days, 'day')} ago (minimum gap "
                    f"{_plural(rule.min_gap_days, 'day')})")
    return None


def _email_of(customer_id: int) -> str:
    emails = [i for i in customer_identities(customer_id) if i.kind == IdentityKind.EMAIL]
    # The address learnt most recently is the one most likely still read.
    return max(emails, key=lambda i: (i.created_at, i.pk)).value if emails else ""


def _language_of(customer: Customer) -> str:
    language = (customer.attributes or {}).get("language")
    return language if isinstance(language, str) and LANG_RE.match(language) else ""


def _require_live(survey: Survey) -> None:
    if survey.archived_at is not None:
        raise Conflict(f"Survey {survey.pk} is archived.")
    if live_version(survey) is None:
        raise Conflict(f"Survey {survey.pk} has no published version to invite anyone to.")


def _invite(*, survey: Survey, customer: Customer, unit: Unit, channel: str, now: datetime,
            scheduled_for: datetime, valid_days: int = DEFAULT_VALID_DAYS,
            interaction_id: int | None = None, trigger: Trigger | None = None,
            touchpoint: str = "", hidden: dict[str, Any] | None = None
            ) -> tuple[Invitation, str]:
    """Make an invitation, or a suppressed one with the reason; returns it and its token."""
    reason = suppression_reason(survey=survey, customer=customer, now=now)
    email = _email_of(customer.pk)
    if reason is None and channel == InvitationChannel.EMAIL and not email:
        reason = "customer has no email address"
    made = invitation_create(
        survey=survey, unit=unit, customer_id=customer.pk, interaction_id=interaction_id,
        channel=channel, language=_language_of(customer), touchpoint=touchpoint,
        hidden=hidden, email=email, valid_days=valid_days,
        status=InvitationStatus.SUPPRESSED if reason else InvitationStatus.SCHEDULED,
        suppressed_reason=reason or "")
    invitation = made.invitation
    invitation.scheduled_for = scheduled_for
    invitation.trigger = trigger
    invitation.save(update_fields=["scheduled_for", "trigger"])
    return invitation, made.token


# ---------------------------------------------------------------------------------------
# Triggers evaluated as interactions arrive.

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
                    invitation, _ = _invite(
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


# ---------------------------------------------------------------------------------------
# Sending: first mails, reminders, expiry.

def _link_token(invitation: Invitation, secret: str | None = None) -> str:
    value = f"{invitation.pk}:{int(invitation.created_at.timestamp() * 1_000_000)}"
    digest = salted_hmac(LINK_SALT, value, secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _emailed_token(invitation: Invitation, *, first: bool) -> str:
    """The token of the link to mail; the first mail sets it, reminders find it again."""
    token = _link_token(invitation)
    if not first:
        for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
            candidate = _link_token(invitation, secret)
            if hash_token(candidate) == invitation.token_hash:
                return candidate
        # SECRET_KEY changed with no fallback: the first mail's link is lost, so issue anew.
    invitation.token_hash = hash_token(token)
    return token


def survey_link(token: str) -> str:
    """Where a respondent answers: the hosted survey page."""
    return f"{settings.SITE_URL}/s/{token}"


def _message(invitation: Invitation, token: str, *, reminder: bool) -> EmailMultiAlternatives:
    survey = invitation.survey
    version = live_version(survey)
    if version is None:
        raise Conflict(f"Survey {survey.pk} has no published version.")
    definition = version_definition(version)
    language = invitation.language or definition.default_language
    assert invitation.customer_id is not None
    unsubscribe = unsubscribe_url(customer_id=invitation.customer_id, survey_id=survey.pk)
    unsubscribe_all = unsubscribe_url(customer_id=invitation.customer_id, survey_id=None)
    context = {
        "title": localise(definition.title, language, definition.default_language),
        "intro": localise(definition.intro, language, definition.default_language),
        "accent": definition.branding.accent_colour,
        "logo_text": definition.branding.logo_text or settings.SITE_NAME,
        "link": survey_link(token), "expires_at": invitation.expires_at,
        "unsubscribe_url": unsubscribe, "unsubscribe_all_url": unsubscribe_all,
        "reminder": reminder, "language": language,
    }
    with translation.override(language):
        subject = " ".join(render_to_string("surveys/email/invitation_subject.txt",
                                            context).split())
        text = render_to_string("surveys/email/invitation.txt", context)
        html = render_to_string("surveys/email/invitation.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, to=[invitation.email],
        headers={"List-Unsubscribe": f"<{unsubscribe}>",
                 # RFC 8058: mail clients may unsubscribe with one POST, no page needed.
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                 "Content-Language": language})
    message.attach_alternative(html, "text/html")
    return message


def _deliver(invitation: Invitation, *, now: datetime, reminder: bool) -> bool:
    """Mail one (locked) invitation and record the outcome; False when it was not sent."""
    assert invitation.customer_id is not None
    if _unsubscribed(invitation.customer_id, invitation.survey_id):
        if not reminder:
            invitation.status = InvitationStatus.SUPPRESSED
            invitation.suppressed_reason = "customer unsubscribed"
            invitation.save(update_fields=["status", "suppressed_reason"])
        return False
    if not invitation.email:
        invitation.email = _email_of(invitation.customer_id)
    if not invitation.email:
        invitation.status = InvitationStatus.SUPPRESSED
        invitation.suppressed_reason = "customer has no email address"
        invitation.save(update_fields=["status", "suppressed_reason", "email"])
        return False
    token = _emailed_token(invitation, first=not reminder)
    try:
        _message(invitation, token, reminder=reminder).send()
    except Exception as exc:  # any transport error: retry a few times, then give up visibly
        logger.warning("sending invitation %s failed: %s", invitation.pk, exc)
        if reminder:
            return False
        invitation.send_attempts += 1
        if invitation.send_attempts >= MAX_SEND_ATTEMPTS:
            invitation.status = InvitationStatus.FAILED
            invitation.suppressed_reason = f"sending failed: {exc}"[:300]
        else:
            invitation.scheduled_for = now + RETRY_AFTER * invitation.send_attempts
        invitation.save(update_fields=["send_attempts", "status", "suppressed_reason",
                                       "scheduled_for", "email"])
        return False
    if reminder:
        invitation.reminders_sent += 1
        invitation.last_reminded_at = now
    else:
        invitation.status = InvitationStatus.SENT
        invitation.sent_at = now
    invitation.save(update_fields=["token_hash", "status", "sent_at", "email",
                                   "reminders_sent", "last_reminded_at"])
    return True


def _locked(pk: int) -> Invitation | None:
    # skip_locked: a second sender (another beat run, a manual send) leaves it to the first.
    return (Invitation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("survey").filter(pk=pk).first())


def invitation_send(*, invitation_id: int, now: datetime | None = None) -> bool:
    """Mail one scheduled invitation now if it is still due to go; True when it went.

    Mail goes out inside the row lock, so two senders never both mail it; if the process
    dies after the mail server accepted it but before the commit, it is sent again
    (at least once, never lost).
    """
    now = now or timezone.now()
    with transaction.atomic():
        invitation = _locked(invitation_id)
        if (invitation is None or invitation.status != InvitationStatus.SCHEDULED
                or invitation.channel != InvitationChannel.EMAIL):
            return False
        if invitation.expires_at <= now:
            invitation.status = InvitationStatus.EXPIRED
            invitation.save(update_fields=["status"])
            return False
        return _deliver(invitation, now=now, reminder=False)


def invitations_send_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Mail the scheduled invitations whose time has come; returns how many went."""
    now = now or timezone.now()
    ids = list(Invitation.objects.filter(
        status=InvitationStatus.SCHEDULED, channel=InvitationChannel.EMAIL,
        scheduled_for__lte=now).order_by("scheduled_for", "id").values_list("id", flat=True)
        [:limit])
    return sum(invitation_send(invitation_id=pk, now=now) for pk in ids)


def reminders_send(*, now: datetime | None = None, limit: int = 500) -> int:
    """Remind customers who have not answered, as their trigger says; returns how many."""
    now = now or timezone.now()
    candidates = (Invitation.objects.filter(
        channel=InvitationChannel.EMAIL,
        status__in=(InvitationStatus.SENT, InvitationStatus.OPENED),
        response__isnull=True, completed_at__isnull=True, expires_at__gt=now,
        trigger__reminder_after_days__gt=0, reminders_sent__lt=F("trigger__max_reminders"))
        .select_related("trigger").order_by("sent_at", "id"))
    sent = 0
    for candidate in candidates[:limit]:
        assert candidate.trigger is not None
        last = candidate.last_reminded_at or candidate.sent_at
        if last is None or last > now - timedelta(days=candidate.trigger.reminder_after_days):
            continue
        with transaction.atomic():
            invitation = _locked(candidate.pk)
            # Checked again under the lock: the customer may have answered meanwhile.
            if (invitation is None or invitation.completed_at is not None
                    or invitation.response_id is not None
                    or invitation.reminders_sent != candidate.reminders_sent):
                continue
            sent += _deliver(invitation, now=now, reminder=True)
    return sent


def invitations_expire(*, now: datetime | None = None) -> int:
    """Mark unanswered invitations past their expiry date as expired; returns how many."""
    now = now or timezone.now()
    return Invitation.objects.filter(
        status__in=(InvitationStatus.SCHEDULED, InvitationStatus.SENT, InvitationStatus.OPENED),
        expires_at__lte=now, completed_at__isnull=True).update(status=InvitationStatus.EXPIRED)


# ---------------------------------------------------------------------------------------
# Invitations made by hand: one customer now, or personal links for many.

def _sending_unit(scope: Scope, survey: Survey, unit: Unit | None) -> Unit:
    chosen = unit or survey.unit
    if not scope.writes_unit(chosen.pk):
        raise PermissionDenied(f"inviting on behalf of {chosen.code!r} needs a role that may "
                               "write there", loc=["unit"])
    return chosen


def invitation_send_now(*, survey: Survey, customer_id: int, scope: Scope,
                        unit: Unit | None = None, valid_days: int = DEFAULT_VALID_DAYS,
                        touchpoint: str = "", now: datetime | None = None) -> Invitation:
    """Invite one customer in scope by email at once, within the contact rules.

    Returns the invitation: ``sent``, ``suppressed`` with its reason, or still ``scheduled``
    when the mail server failed (the scheduler retries it).
    """
    now = now or timezone.now()
    _check_range("valid_days", valid_days, 1, 365)
    if touchpoint and not SLUG_RE.match(touchpoint):
        raise invalid(["touchpoint"], "must be a lower-case slug (letters, digits, _ . -)")
    customer = _customer_in_scope(scope, customer_id, ("customer",))
    chosen = _sending_unit(scope, survey, unit)
    _require_live(survey)
    with transaction.atomic():
        invitation, _ = _invite(survey=survey, customer=customer, unit=chosen,
                                channel=InvitationChannel.EMAIL, now=now, scheduled_for=now,
                                valid_days=valid_days, touchpoint=touchpoint)
    if invitation.status == InvitationStatus.SCHEDULED:
        invitation_send(invitation_id=invitation.pk, now=now)
        invitation.refresh_from_db()
    return invitation


def _customer_in_scope(scope: Scope, customer_id: int, loc: tuple[str | int, ...]) -> Customer:
    try:
        return customer_get(scope=scope, customer_id=customer_id)
    except NotFound as exc:
        raise invalid(loc, f"no customer {customer_id} in your scope") from exc


@dataclass(frozen=True)
class PersonalLink:
    """One row of a personal-links export; ``link`` is empty when suppressed."""

    customer_id: int
    name: str
    email: str
    link: str
    status: str
    reason: str


def personal_links_create(*, survey: Survey, scope: Scope, customer_ids: Sequence[int] = (),
                          segment: tuple[str, str] | None = None, unit: Unit | None = None,
                          valid_days: int = DEFAULT_VALID_DAYS,
                          now: datetime | None = None) -> list[PersonalLink]:
    """Make a personal (LINK-channel) invitation for each customer named, or in the segment
    ``(attribute, value)``, within the caller's scope and the contact rules; all or nothing.

    Tokens are returned only here; asking again makes new invitations (and counts against the
    contact rules again).
    """
    now = now or timezone.now()
    if bool(customer_ids) == (segment is not None):
        raise invalid(["customers"], "give either a list of customers or a segment")
    _check_range("valid_days", valid_days, 1, 365)
    chosen = _sending_unit(scope, survey, unit)
    _require_live(survey)
    if segment is not None:
        attribute, value = segment
        if not ATTRIBUTE_RE.match(attribute):
            raise invalid(["segment", "attribute"], "must be 1-64 letters, digits or single '_'")
        # has_key takes the name as a parameter, whatever it is; the value is compared in
        # Python as text, exactly as contact-rule segments are.
        customers = []
        for customer in customers_visible(scope=scope).filter(
                attributes__has_key=attribute).order_by("id").iterator(chunk_size=500):
            if str(customer.attributes.get(attribute)) == value:
                customers.append(customer)
                if len(customers) > MAX_PERSONAL_LINKS:
                    break
    else:
        unique = list(dict.fromkeys(customer_ids))
        customers = [_customer_in_scope(scope, cid, ("customers", i))
                     for i, cid in enumerate(unique)]
    if len(customers) > MAX_PERSONAL_LINKS:
        raise invalid(["segment"] if segment else ["customers"],
                      f"names more than {MAX_PERSONAL_LINKS} customers; narrow it down")
    rows: list[PersonalLink] = []
    with transaction.atomic():
        for customer in customers:
            invitation, token = _invite(
                survey=survey, customer=customer, unit=chosen, channel=InvitationChannel.LINK,
                now=now, scheduled_for=now, valid_days=valid_days)
            live = invitation.status == InvitationStatus.SCHEDULED
            if live:
                # A link handed out counts as sent: it is the customer's invitation from now.
                invitation.status, invitation.sent_at = InvitationStatus.SENT, now
                invitation.save(update_fields=["status", "sent_at"])
            rows.append(PersonalLink(customer.pk, customer.name, invitation.email,
                                     survey_link(token) if live else "", invitation.status,
                                     invitation.suppressed_reason))
    return rows


def unsubscribe_survey_name(survey_id: int | None) -> str:
    """The name shown on the unsubscribe page ("" for all surveys)."""
    if survey_id is None:
        return ""
    survey = Survey.objects.filter(pk=survey_id).only("name").first()
    if survey is None:
        raise NotFound("This unsubscribe link is not valid.")
    return survey.name



def customer_merge_move(survivor_id: int, absorbed_id: int) -> int:
    """Merge hook: the survivor inherits the absorbed record's invitations (so contact rules
    keep counting them) and unsubscribes (so the wish is still honoured)."""
    moved = Invitation.objects.filter(customer_id=absorbed_id).update(customer_id=survivor_id)
    kept = set(Unsubscribe.objects.filter(customer_id=survivor_id)
               .values_list("survey_id", flat=True))
    # The survivor's own wishes stay; the absorbed record's copies of them would collide.
    same = Q(survey_id__in=[k for k in kept if k is not None])
    if None in kept:
        same |= Q(survey__isnull=True)
    Unsubscribe.objects.filter(same, customer_id=absorbed_id).delete()
    return moved + Unsubscribe.objects.filter(customer_id=absorbed_id).update(
        customer_id=survivor_id)
