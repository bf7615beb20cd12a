"""Reads from the customer hub, always through a Scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from opencem.accounts.selectors import Scope
from opencem.core.errors import NotFound
from opencem.core.pagination import Page, keyset_page
from opencem.customers.identities import IdentityError, guess_kinds, normalise
from opencem.customers.models import Customer, CustomerIdentity, CustomerUnit, Interaction


def customers_visible(*, scope: Scope) -> QuerySet[Customer]:
    """Live (not merged-away) customers that have had contact with a unit in the scope."""
    qs = Customer.objects.filter(merged_into__isnull=True)
    if scope.unit_ids is None:
        return qs
    if not scope.unit_ids:
        return qs.none()
    linked = CustomerUnit.objects.filter(customer_id=OuterRef("pk"), unit_id__in=scope.unit_ids)
    return qs.filter(Exists(linked))


def interactions_visible(*, scope: Scope) -> QuerySet[Interaction]:
    qs = Interaction.objects.all()
    if scope.unit_ids is None:
        return qs
    return qs.filter(unit_id__in=scope.unit_ids)


def customer_get(*, scope: Scope, customer_id: int) -> Customer:
    """The customer with this id, following merges to the surviving record.

    A customer outside the scope is reported exactly like a missing one, so ids cannot be
    probed.
    """
    seen = 0
    current = Customer.objects.filter(pk=customer_id).only("id", "merged_into_id").first()
    while current is not None and current.merged_into_id is not None and seen < 20:
        current = Customer.objects.filter(pk=current.merged_into_id).only(
            "id", "merged_into_id").first()
        seen += 1
    if current is None:
        raise NotFound(f"No customer {customer_id}.")
    customer = customers_visible(scope=scope).filter(pk=current.pk).first()
    if customer is None:
        raise NotFound(f"No customer {customer_id}.")
    return customer


def customer_find_by_identity(*, scope: Scope, text: str, kind: str | None = None
                              ) -> Customer | None:
    """The customer one identity points at (any kind when ``kind`` is None)."""
    condition = Q()
    for k in [kind] if kind else guess_kinds(text):
        try:
            condition |= Q(kind=k, value=normalise(k, text))
        except IdentityError:
            continue
    if not condition:
        return None
    ids = CustomerIdentity.objects.filter(condition).values_list("customer_id", flat=True)
    return customers_visible(scope=scope).filter(pk__in=list(ids)).order_by("id").first()


def customer_search(*, scope: Scope, query: str = "", unit_id: int | None = None,
                    cursor: str | None = None, limit: int = 50) -> Page[Customer]:
    """Customers matching an identity exactly, or whose name contains the query."""
    qs = customers_visible(scope=scope)
    query = query.strip()
    if query:
        match = customer_find_by_identity(scope=scope, text=query)
        name = Q(name__icontains=query)
        qs = qs.filter(name | Q(pk=match.pk)) if match else qs.filter(name)
    if unit_id is not None:
        if not scope.sees_unit(unit_id):
            return Page(items=[], next_cursor=None)
        qs = qs.filter(unit_links__unit_id=unit_id)
    return keyset_page(qs, cursor=cursor, limit=limit)


def interaction_list(*, scope: Scope, customer_id: int | None = None, unit_id: int | None = None,
                     channel: str | None = None, kind: str | None = None,
                     since: datetime | None = None, until: datetime | None = None,
                     cursor: str | None = None, limit: int = 50) -> Page[Interaction]:
    qs = interactions_visible(scope=scope).select_related("unit")
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    if channel:
        qs = qs.filter(channel=channel)
    if kind:
        qs = qs.filter(kind=kind)
    if since:
        qs = qs.filter(occurred_at__gte=since)
    if until:
        qs = qs.filter(occurred_at__lt=until)
    return keyset_page(qs, cursor=cursor, limit=limit, time_field="occurred_at")


def customer_identities(customer_id: int) -> list[CustomerIdentity]:
    return list(CustomerIdentity.objects.filter(customer_id=customer_id).order_by("kind", "value"))


@dataclass(frozen=True)
class CustomerSummary:
    """Headline facts for the 360 page, counted only inside the viewer's scope."""

    interactions: int
    channels: dict[str, int]
    first_contact: datetime | None
    last_contact: datetime | None
    total_value: float


def customer_summary(*, scope: Scope, customer_id: int) -> CustomerSummary:
    qs = interactions_visible(scope=scope).filter(customer_id=customer_id)
    channels: dict[str, int] = {}
    first = last = None
    total = 0.0
    count = 0
    for channel, occurred_at, value in qs.values_list("channel", "occurred_at", "value"):
        channels[channel] = channels.get(channel, 0) + 1
        first = occurred_at if first is None or occurred_at < first else first
        last = occurred_at if last is None or occurred_at > last else last
        total += float(value or 0)
        count += 1
    return CustomerSummary(count, dict(sorted(channels.items(), key=lambda kv: -kv[1])),
                           first, last, round(total, 2))
