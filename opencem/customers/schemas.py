"""The customer hub's wire format, shared by the API and the bulk importer."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, model_validator

from opencem.core.text import CleanStr, check_json_object
from opencem.customers.choices import IdentityKind
from opencem.customers.services import CustomerInput, InteractionInput

CENTS = Decimal("0.01")
CENTS = Decimal("0.01")
Attributes = Annotated[dict[str, Any], AfterValidator(check_json_object)]


class StrictSchema(Schema):
    """Unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class IdentityIn(StrictSchema):
    kind: IdentityKind
    value: CleanStr = Field(max_length=320)


class CustomerRef(StrictSchema):
    """A customer named by any of their identities; several identities link records."""

    email: CleanStr | None = Field(None, max_length=320)
    phone: CleanStr | None = Field(None, max_length=64)
    crm_id: CleanStr | None = Field(None, max_length=320)
    loyalty_id: CleanStr | None = Field(None, max_length=320)
    account_id: CleanStr | None = Field(None, max_length=320)
    social_handle: CleanStr | None = Field(None, max_length=320)
    device_id: CleanStr | None = Field(None, max_length=320)
    identities: list[IdentityIn] = Field(default_factory=list, max_length=20)
    name: CleanStr | None = Field(None, max_length=200)
    attributes: Attributes | None = None

    @model_validator(mode="after")
    def _needs_identity(self) -> CustomerRef:
        if not self.pairs():
            raise ValueError("name at least one identity: email, phone, crm_id, loyalty_id, "
                             "account_id, social_handle, device_id or identities[]")
        return self

    def pairs(self) -> tuple[tuple[str, str], ...]:
        named = [(k, getattr(self, k)) for k in IdentityKind.values if getattr(self, k)]
        return tuple(named + [(i.kind.value, i.value) for i in self.identities])

    def to_input(self) -> CustomerInput:
        return CustomerInput(identities=self.pairs(), name=self.name,
                             attributes=self.attributes)


class CustomerUpsertIn(CustomerRef):
    unit: CleanStr | None = Field(None, max_length=64,
                                  description="Unit code; required for keys scoped to part of "
                                              "the organisation.")


class InteractionIn(StrictSchema):
    source: CleanStr = Field(max_length=64, examples=["pos"])
    external_id: CleanStr = Field(max_length=200, examples=["T-1001"])
    customer: CustomerRef | None = None
    channel: CleanStr = Field(max_length=20, examples=["store"])
    kind: CleanStr = Field(max_length=50, examples=["purchase"])
    occurred_at: datetime
    unit: CleanStr = Field(max_length=64, description="The code of the unit it happened at.")
    touchpoint: CleanStr = Field("", max_length=64)
    value: Annotated[Decimal, Field(max_digits=14, decimal_places=2, allow_inf_nan=False)] | None \
        = None
    attributes: Attributes = Field(default_factory=dict)

    def to_input(self) -> InteractionInput:
        return InteractionInput(
            source=self.source, external_id=self.external_id, channel=self.channel,
            kind=self.kind, occurred_at=self.occurred_at, unit=self.unit,
            customer=self.customer.to_input() if self.customer else None,
            touchpoint=self.touchpoint, attributes=self.attributes,
            value=None if self.value is None else self.value.quantize(CENTS))


class InteractionBatchIn(StrictSchema):
    items: list[InteractionIn] = Field(min_length=1, max_length=1000)


class MergeIn(StrictSchema):
    absorbed: int = Field(description="The id of the record that is the same person.")
    reason: CleanStr = Field(min_length=1, max_length=300)


class MergeOut(Schema):
    survivor: int
    absorbed: int
    moved: dict[str, int]


class IdentityOut(Schema):
    kind: str
    value: str


class CustomerOut(Schema):
    id: int
    name: str
    attributes: dict[str, Any]
    identities: list[IdentityOut]
    created_at: datetime
    updated_at: datetime


class InteractionOut(Schema):
    id: int
    customer_id: int | None
    unit: str
    channel: str
    kind: str
    occurred_at: datetime
    touchpoint: str
    value: Decimal | None
    attributes: dict[str, Any]
    source: str
    external_id: str
    created_at: datetime


class BatchItemOut(Schema):
    index: int
    id: int
    created: bool


class BatchOut(Schema):
    created: int
    existing: int
    results: list[BatchItemOut]


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class InteractionPage(Schema):
    items: list[InteractionOut]
    next_cursor: str | None


class TimelineEntryOut(Schema):
    kind: str
    id: int
    occurred_at: datetime
    title: str
    channel: str
    unit: str
    detail: dict[str, Any]


class TimelineOut(Schema):
    customer_id: int
    entries: list[TimelineEntryOut]
    next_cursor: str | None
