"""Mailing invitations: the first mail when due, reminders, expiry, and sending by hand.

Invitation links: the database keeps only a hash of each link's token. An emailed link's
token is derived from the invitation (an HMAC under SECRET_KEY) when it is first sent, so a
reminder can carry the very same link without the token ever being stored.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac

from opencem.accounts.selectors import Scope
from opencem.core.errors import Conflict, invalid
from opencem.surveys.definition import localise
from opencem.surveys.distribution.common import SLUG_MESSAGE, SLUG_RE, check_range
from opencem.surveys.distribution.inviting import (
    NO_EMAIL,
    check_choice,
    customer_in_scope,
    customers_chosen,
    email_of,
    invite,
    require_live,
    sending_unit,
)
from opencem.surveys.distribution.unsubscribe import (
    UNSUBSCRIBED,
    is_unsubscribed,
    unsubscribe_url,
)
from opencem.surveys.invitations import DEFAULT_VALID_DAYS, hash_token
from opencem.surveys.models import Invitation, InvitationChannel, InvitationStatus, Survey
from opencem.surveys.selectors import live_version, version_definition

if TYPE_CHECKING:
    from opencem.accounts.models import Unit

logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=5)
# Sending by hand mails within the request; more customers than this go through personal
# links or a trigger instead.
MAX_SEND_NOW = 200
LINK_SALT = "opencem.surveys.invitation-link"


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
    if is_unsubscribed(invitation.customer_id, invitation.survey_id):
        if not reminder:
            invitation.status = InvitationStatus.SUPPRESSED
            invitation.suppressed_reason = UNSUBSCRIBED
            invitation.save(update_fields=["status", "suppressed_reason"])
        return False
    if not invitation.email:
        invitation.email = email_of(invitation.customer_id)
    if not invitation.email:
        invitation.status = InvitationStatus.SUPPRESSED
        invitation.suppressed_reason = NO_EMAIL
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


def _check_by_hand(valid_days: int, touchpoint: str) -> None:
    check_range("valid_days", valid_days, 1, 365)
    if touchpoint and not SLUG_RE.match(touchpoint):
        raise invalid(["touchpoint"], SLUG_MESSAGE)


def invitation_send_now(*, survey: Survey, customer_id: int, scope: Scope,
                        unit: Unit | None = None, valid_days: int = DEFAULT_VALID_DAYS,
                        touchpoint: str = "", now: datetime | None = None,
                        deliver: bool = True) -> Invitation:
    """Invite one customer in scope by email at once, within the contact rules.

    Returns the invitation: ``sent``, ``suppressed`` with its reason, or still ``scheduled``
    when the mail server failed (the scheduler retries it). ``deliver=False`` leaves it
    ``scheduled`` for the caller to mail (``invitation_send``) once the caller's own
    transaction has committed: a mail must never go out for an invitation that may still
    be rolled back.
    """
    _check_by_hand(valid_days, touchpoint)
    customer = customer_in_scope(scope, customer_id, ("customer",))
    chosen = sending_unit(scope, survey, unit)
    require_live(survey)
    now = now or timezone.now()
    with transaction.atomic():
        invitation, _ = invite(survey=survey, customer=customer, unit=chosen,
                               channel=InvitationChannel.EMAIL, now=now, scheduled_for=now,
                               valid_days=valid_days, touchpoint=touchpoint)
    if deliver and invitation.status == InvitationStatus.SCHEDULED:
        invitation_send(invitation_id=invitation.pk, now=now)
        invitation.refresh_from_db()
    return invitation


def invitations_send_now(*, survey: Survey, scope: Scope, customer_ids: Sequence[int] = (),
                         segment: tuple[str, str] | None = None, unit: Unit | None = None,
                         valid_days: int = DEFAULT_VALID_DAYS, touchpoint: str = "",
                         now: datetime | None = None) -> list[Invitation]:
    """Invite the customers named, or those in the segment ``(attribute, value)``, by email
    at once, within the caller's scope and the contact rules.

    The invitations are made all or nothing (at most ``MAX_SEND_NOW``), then mailed one by
    one; each comes back ``sent``, ``suppressed`` with its reason, or still ``scheduled`` when
    the mail server failed (the scheduler retries it).
    """
    check_choice(customer_ids, segment)
    _check_by_hand(valid_days, touchpoint)
    chosen = sending_unit(scope, survey, unit)
    require_live(survey)
    customers = customers_chosen(scope=scope, customer_ids=customer_ids, segment=segment,
                                 limit=MAX_SEND_NOW)
    now = now or timezone.now()
    with transaction.atomic():
        made = [invite(survey=survey, customer=customer, unit=chosen,
                       channel=InvitationChannel.EMAIL, now=now, scheduled_for=now,
                       valid_days=valid_days, touchpoint=touchpoint)[0]
                for customer in customers]
    for invitation in made:
        if invitation.status == InvitationStatus.SCHEDULED:
            invitation_send(invitation_id=invitation.pk, now=now)
            invitation.refresh_from_db()
    return made
