"""Distribution's part in merging two customer records."""

from __future__ import annotations

from django.db.models import Q

from opencem.surveys.models import Invitation, Unsubscribe


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
