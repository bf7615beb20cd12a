"""Writes of the dashboards: expected scores (the perception gap), digest preferences, and
mailing the weekly digest."""

from __future__ import annotations

import logging
import math
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from opencem.accounts.selectors import Scope, scope_for_user, unit_get_by_code, users_with_roles
from opencem.core.errors import PermissionDenied, invalid
from opencem.dashboards import selectors
from opencem.dashboards.digest import Digest, digest_build, week_of
from opencem.dashboards.models import DigestPreference, DigestSent, PerceptionEstimate
from opencem.metrics.selectors import target_range

logger = logging.getLogger(__name__)

# The digest of a week goes out from this hour (organisation time) on the Monday after it.
DIGEST_HOUR = 7
# Expectations may be recorded for months this far ahead (planning the next quarter).
MONTHS_AHEAD = 12


def perception_record(*, unit: str, metric: str, month: date, expected: float, scope: Scope,
                      actor: User) -> PerceptionEstimate:
    """Record the score ``actor`` expects ``unit`` to get on ``metric`` in ``month``
    (replacing their earlier estimate of the same month)."""
    found = unit_get_by_code(unit)
    if found is None or not scope.sees_unit(found.pk):
        raise invalid(["unit"], f"no unit has the code {unit!r}")
    if found.pk not in selectors.perception_unit_ids(scope=scope):
        raise PermissionDenied("only the unit's admins, analysts, executives and managers "
                               "record expected scores", loc=["unit"])
    if metric not in selectors.SCORE_METRICS:
        raise invalid(["metric"], "must be one of "
                                  f"{', '.join(m.value for m in selectors.SCORE_METRICS)}")
    bounds = target_range(metric)
    assert bounds is not None  # every score metric has a range
    if (isinstance(expected, bool) or not isinstance(expected, int | float)
            or not math.isfinite(expected) or not bounds[0] <= expected <= bounds[1]):
        raise invalid(["expected"], f"must be a number from {bounds[0]:g} to {bounds[1]:g}")
    first = month.replace(day=1)
    if first > selectors.shift_months(selectors.today(), MONTHS_AHEAD):
        raise invalid(["month"], f"may be at most {MONTHS_AHEAD} months ahead")
    with transaction.atomic():
        estimate, _ = PerceptionEstimate.objects.update_or_create(
            unit=found, metric=metric, month=first, recorded_by=actor,
            defaults={"expected": float(expected)})
    return estimate


def perception_delete(*, estimate_id: int, scope: Scope, actor: User) -> None:
    """Remove one of ``actor``'s own expected scores."""
    deleted, _ = PerceptionEstimate.objects.filter(
        pk=estimate_id, recorded_by=actor,
        unit_id__in=selectors.perception_unit_ids(scope=scope)).delete()
    if not deleted:
        raise invalid(["estimate"], f"you recorded no expected score {estimate_id}")


def digest_preference_set(*, user: User, weekly: bool) -> DigestPreference:
    """Opt in to or out of the weekly digest."""
    with transaction.atomic():
        preference, _ = DigestPreference.objects.update_or_create(
            user=user, defaults={"weekly": weekly})
    return preference


def digest_due_week(now: datetime | None = None) -> date:
    """The week whose digest is due at ``now``: last week, from Monday's sending hour on."""
    local = timezone.localtime(now or timezone.now())
    this_week = week_of(local.date())
    opens = timezone.make_aware(datetime.combine(this_week, time(DIGEST_HOUR)))
    return this_week - timedelta(days=7) if local >= opens else this_week - timedelta(days=14)


def digest_recipients(*, week: date) -> list[int]:
    """Ids of the users due the digest of ``week``: active, holding a role, with an email
    address, not opted out, not yet handled."""
    handled = set(DigestSent.objects.filter(week=week).values_list("user_id", flat=True))
    opted_out = set(DigestPreference.objects.filter(weekly=False)
                    .values_list("user_id", flat=True))
    return [user_id for user_id, email in users_with_roles().values_list("id", "email")
            if email and user_id not in handled and user_id not in opted_out]


def _message(user: User, digest: Digest) -> EmailMultiAlternatives:
    context = {"user": user, "digest": digest, "site_url": settings.SITE_URL,
               "site_name": settings.SITE_NAME}
    subject = (f"{settings.SITE_NAME}: your week with customers, "
               f"{digest.week:%d %b} – {digest.week_end:%d %b %Y}")
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string("dashboards/email/digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email])
    message.attach_alternative(render_to_string("dashboards/email/digest.html", context),
                               "text/html")
    return message


def digest_send(*, user_id: int, week: date) -> bool:
    """Mail ``week``'s digest to one user, once; True when a mail went out.

    The week is claimed before mailing, so two runs never mail it twice; a failed mail gives
    the claim back for the next run to try again.
    """
    user = users_with_roles().filter(pk=user_id).first()
    if user is None or not user.email or not selectors.digest_wanted(user_id):
        return False
    digest = digest_build(scope=scope_for_user(user), week=week)
    with transaction.atomic():
        claim, created = DigestSent.objects.get_or_create(
            user=user, week=week, defaults={"mailed": not digest.is_empty})
    if not created or digest.is_empty:
        return False
    try:
        _message(user, digest).send()
    except Exception:
        claim.delete()
        raise
    return True


def digests_send(*, now: datetime | None = None) -> int:
    """Mail the due weekly digest to everyone who has not had it yet; returns how many went
    out. A failure for one user is logged and retried at the next run, never stops the rest."""
    week = digest_due_week(now)
    sent = 0
    for user_id in digest_recipients(week=week):
        try:
            sent += digest_send(user_id=user_id, week=week)
        except Exception:
            logger.exception("the weekly digest to user %s failed", user_id)
    return sent
