"""CSV exports of the customer hub, limited to the viewer's scope like every other read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from django.http import StreamingHttpResponse

from opencem.accounts.selectors import Scope
from opencem.core.exports import csv_response
from opencem.customers.selectors import interactions_visible

INTERACTION_COLUMNS = ["id", "occurred_at", "unit", "channel", "kind", "touchpoint", "value",
                       "customer_id", "source", "external_id", "attributes"]


def interactions_csv(*, scope: Scope, since: datetime | None = None,
                     until: datetime | None = None) -> StreamingHttpResponse:
    qs = interactions_visible(scope=scope).order_by("occurred_at", "id")
    if since:
        qs = qs.filter(occurred_at__gte=since)
    if until:
        qs = qs.filter(occurred_at__lt=until)
    fields = ["id", "occurred_at", "unit__code", "channel", "kind", "touchpoint", "value",
              "customer_id", "source", "external_id", "attributes"]

    def rows() -> Iterator[list[object]]:
        for row in qs.values_list(*fields).iterator(chunk_size=5000):
            *head, attributes = row
            yield [*head, json.dumps(attributes, ensure_ascii=False, sort_keys=True)]

    return csv_response("interactions.csv", INTERACTION_COLUMNS, rows())
