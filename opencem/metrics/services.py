"""Writes of the metrics app: an organisation's anonymity threshold and units' targets.

(The rollups are written by ``rollups``, inside the transactions that write responses.)
"""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from opencem.accounts.selectors import Scope, unit_get_by_code
from opencem.core.errors import PermissionDenied, invalid
from opencem.metrics.definitions import Metric, measure
from opencem.metrics.models import MetricTarget, OrganisationPolicy

MAX_K = 100


def anonymity_threshold_set(*, organisation: str, k: int, scope: Scope,
                            actor: User | None) -> int:
    """Set the anonymity threshold of an organisation (a root unit, by code); returns it.

    Only its admins may, and only to a value at least ``OPENCEM_ANONYMITY_K``: a threshold
    can be raised for an organisation, never lowered below what the installation requires.
    """
    unit = unit_get_by_code(organisation)
    if unit is None or not scope.sees_unit(unit.pk):
        raise invalid(["organisation"], f"no unit has the code {organisation!r}")
    if unit.parent_id is not None:
        raise invalid(["organisation"], "must be an organisation (a unit at the top of the tree)")
    if scope.admin_unit_ids is not None and unit.pk not in scope.admin_unit_ids:
        raise PermissionDenied("only the organisation's admins may change its anonymity "
                               "threshold", loc=["organisation"])
    floor = int(settings.OPENCEM_ANONYMITY_K)
    if isinstance(k, bool) or not isinstance(k, int) or not floor <= k <= MAX_K:
        raise invalid(["k"], f"must be a whole number from {floor} (this installation's "
                             f"minimum) to {MAX_K}")
    with transaction.atomic():
        OrganisationPolicy.objects.update_or_create(
            organisation=unit, defaults={"anonymity_k": k, "updated_by": actor})
    return k


def target_set(*, unit: str, metric: str, value: float, scope: Scope,
               actor: User | None) -> MetricTarget:
    """Set the value a unit aims for on a metric (its subtree inherits it)."""
    found = unit_get_by_code(unit)
    if found is None or not scope.sees_unit(found.pk):
        raise invalid(["unit"], f"no unit has the code {unit!r}")
    if not scope.designs_unit(found.pk):
        raise PermissionDenied("only admins and analysts of the unit may set its targets",
                               loc=["unit"])
    try:
        the_metric = Metric(metric)
    except ValueError:
        raise invalid(["metric"], f"must be one of {', '.join(Metric)}") from None
    bounds = measure(the_metric, scale=(0, 1)).target_range
    if bounds is None or the_metric == Metric.RATING:
        raise invalid(["metric"], f"{metric} has no targets")
    if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            or not bounds[0] <= value <= bounds[1]):
        raise invalid(["value"], f"must be a number from {bounds[0]:g} to {bounds[1]:g}")
    with transaction.atomic():
        target, _ = MetricTarget.objects.update_or_create(
            unit=found, metric=the_metric.value,
            defaults={"value": float(value), "updated_by": actor})
    return target


def target_clear(*, unit: str, metric: str, scope: Scope) -> bool:
    """Remove a unit's own target (it inherits its parent's again); False if it had none."""
    found = unit_get_by_code(unit)
    if found is None or not scope.sees_unit(found.pk):
        raise invalid(["unit"], f"no unit has the code {unit!r}")
    if not scope.designs_unit(found.pk):
        raise PermissionDenied("only admins and analysts of the unit may set its targets",
                               loc=["unit"])
    deleted, _ = MetricTarget.objects.filter(unit=found, metric=metric).delete()
    return bool(deleted)
