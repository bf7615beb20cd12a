"""REST endpoints of the customer hub (thin: validation in schemas, rules in services)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, HttpResponseBase
from ninja import Query, Router, Schema, Status

from opencem.accounts.selectors import api_user, request_scope, unit_get_by_code
from opencem.core.errors import PermissionDenied, invalid
from opencem.customers import exports, selectors, services, timeline
from opencem.customers.models import Customer, Interaction
from opencem.customers.schemas import (
    BatchOut,
    CustomerOut,
    CustomerPage,
    CustomerUpsertIn,
    InteractionBatchIn,
    InteractionIn,
    InteractionOut,
    InteractionPage,
    MergeIn,
    MergeOut,
    TimelineOut,
)

router = Router(tags=["customers"])


def customer_out(customer: Customer) -> dict[str, object]:
    return {"id": customer.pk, "name": customer.name, "attributes": customer.attributes,
            "identities": [{"kind": i.kind, "value": i.value}
                           for i in selectors.customer_identities(customer.pk)],
            "created_at": customer.created_at, "updated_at": customer.updated_at}


def interaction_out(it: Interaction, unit_code: str | None = None) -> dict[str, object]:
    return {"id": it.pk, "customer_id": it.customer_id, "unit": unit_code or it.unit.code,
            "channel": it.channel, "kind": it.kind, "occurred_at": it.occurred_at,
            "touchpoint": it.touchpoint, "value": it.value, "attributes": it.attributes,
            "source": it.source, "external_id": it.external_id, "created_at": it.created_at}


def _unit_id(code: str | None, field: str = "unit") -> int | None:
    if not code:
        return None
    unit = unit_get_by_code(code)
    if unit is None:
        raise invalid([field], f"no unit has the code {code!r}")
    return unit.pk


@router.post("/customers", response={200: CustomerOut, 201: CustomerOut},
             summary="Create or update a customer found by any identity")
def customer_upsert(request: HttpRequest, payload: CustomerUpsertIn
                    ) -> Status[dict[str, object]]:
    unit = unit_get_by_code(payload.unit) if payload.unit else None
    if payload.unit and unit is None:
        raise invalid(["unit"], f"no unit has the code {payload.unit!r}")
    result = services.customer_upsert(data=payload.to_input(), scope=request_scope(request),
                                      unit=unit, actor=api_user(request))
    return Status(201 if result.created else 200, customer_out(result.customer))


@router.post("/customers/{customer_id}/merge", response=MergeOut,
             summary="Merge another record of the same person into this customer (audited)")
def customer_merge(request: HttpRequest, customer_id: int, payload: MergeIn
                   ) -> dict[str, object]:
    scope = request_scope(request)
    if not scope.can_write_everywhere:
        raise PermissionDenied("merging customers needs a writing role over the whole "
                               "organisation")
    survivor = selectors.customer_get(scope=scope, customer_id=customer_id)
    absorbed = selectors.customer_get(scope=scope, customer_id=payload.absorbed)
    merge = services.customers_merge(survivor=survivor, absorbed=absorbed,
                                     actor=api_user(request), reason=payload.reason)
    return {"survivor": merge.survivor_id, "absorbed": merge.absorbed_id,
            "moved": merge.details["moved"]}


class CustomerFilters(Schema):
    q: str = ""
    unit: str | None = None
    cursor: str | None = None
    limit: int = 50


@router.get("/customers", response=CustomerPage,
            summary="Customers in scope; q matches an identity exactly or a name in part")
def customer_list(request: HttpRequest, filters: Query[CustomerFilters]) -> dict[str, object]:
    page = selectors.customer_search(scope=request_scope(request), query=filters.q,
                                     unit_id=_unit_id(filters.unit), cursor=filters.cursor,
                                     limit=filters.limit)
    return {"items": [customer_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.get("/customers/{customer_id}", response=CustomerOut,
            summary="One customer (a merged-away id answers with the surviving record)")
def customer_detail(request: HttpRequest, customer_id: int) -> dict[str, object]:
    return customer_out(selectors.customer_get(scope=request_scope(request),
                                               customer_id=customer_id))


@router.get("/customers/{customer_id}/timeline", response=TimelineOut,
            summary="Everything that happened with the customer, newest first")
def customer_timeline(request: HttpRequest, customer_id: int, cursor: str | None = None,
                      limit: int = 50) -> dict[str, object]:
    scope = request_scope(request)
    customer = selectors.customer_get(scope=scope, customer_id=customer_id)
    page = timeline.customer_timeline(customer_ids=[customer.pk], scope=scope, cursor=cursor,
                                      limit=limit)
    return {"customer_id": customer.pk, "entries": page.entries, "next_cursor": page.next_cursor}


@router.post("/interactions", response={200: InteractionOut, 201: InteractionOut},
             summary="Record one interaction (idempotent on source + external_id)")
def interaction_create(request: HttpRequest, payload: InteractionIn
                       ) -> Status[dict[str, object]]:
    (result,) = services.interactions_ingest(items=[payload.to_input()],
                                             scope=request_scope(request), actor=api_user(request),
                                             loc_prefix=None)
    return Status(201 if result.created else 200,
                  interaction_out(result.interaction, payload.unit if result.created else None))


@router.post("/interactions/batch", response=BatchOut,
             summary="Record up to 1,000 interactions, all or nothing")
def interaction_batch(request: HttpRequest, payload: InteractionBatchIn) -> dict[str, object]:
    results = services.interactions_ingest(items=[i.to_input() for i in payload.items],
                                           scope=request_scope(request), actor=api_user(request))
    created = sum(r.created for r in results)
    return {"created": created, "existing": len(results) - created,
            "results": [{"index": i, "id": r.interaction.pk, "created": r.created}
                        for i, r in enumerate(results)]}


class ExportFilters(Schema):
    since: datetime | None = None
    until: datetime | None = None


@router.get("/interactions/export.csv", summary="Interactions in scope as CSV (streamed)")
def interaction_export(request: HttpRequest, filters: Query[ExportFilters]) -> HttpResponseBase:
    return exports.interactions_csv(scope=request_scope(request), since=filters.since,
                                    until=filters.until)


class InteractionFilters(Schema):
    customer: int | None = None
    unit: str | None = None
    channel: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = 50


@router.get("/interactions", response=InteractionPage, summary="Interactions in scope")
def interaction_list(request: HttpRequest, filters: Query[InteractionFilters]
                     ) -> dict[str, object]:
    page = selectors.interaction_list(
        scope=request_scope(request), customer_id=filters.customer,
        unit_id=_unit_id(filters.unit), channel=filters.channel, kind=filters.kind,
        since=filters.since, until=filters.until, cursor=filters.cursor, limit=filters.limit)
    return {"items": [interaction_out(i) for i in page.items], "next_cursor": page.next_cursor}
