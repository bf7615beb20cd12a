"""Making invitations: who is invited, within the contact rules, and reading them back.

Every path that invites (triggers, sending now, personal links) makes its invitations here,
so a refused one is always stored as ``suppressed`` with its reason and fatigue rules can be
audited.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opencem.accounts.selectors import Scope
from opencem.core.errors import Conflict, NotFound, PermissionDenied, invalid
from opencem.core.pagination import Page, keyset_page
from opencem.customers.choices import IdentityKind
from opencem.customers.selectors import customer_get, customer_identities, customers_visible
from opencem.surveys.definition import LANG
from opencem.surveys.distribution.common import ATTRIBUTE_MESSAGE, ATTRIBUTE_RE
from opencem.surveys.distribution.contact_rules import suppression_reason
from opencem.surveys.invitations import DEFAULT_VALID_DAYS, invitation_create
from opencem.surveys.models import (
    Invitation,
    InvitationChannel,
    InvitationStatus,
    Survey,
    Trigger,
)
from opencem.surveys.selectors import live_version

if TYPE_CHECKING:
    from opencem.accounts.models import Unit
    from opencem.customers.models import Customer

LANG_RE = re.compile(LANG)
NO_EMAIL = "customer has no email address"


def email_of(customer_id: int) -> str:
    """The address to mail an invitation to ("" when the customer has none)."""
    emails = [i for i in customer_identities(customer_id) if i.kind == IdentityKind.EMAIL]
    # The address learnt most recently is the one most likely still read.
    return max(emails, key=lambda i: (i.created_at, i.pk)).value if emails else ""


def _language_of(customer: Customer) -> str:
    language = (customer.attributes or {}).get("language")
    return language if isinstance(language, str) and LANG_RE.match(language) else ""


def require_live(survey: Survey) -> None:
    """Refuse to invite anyone to an archived survey or one never published."""
    if survey.archived_at is not None:
        raise Conflict(f"Survey {survey.pk} is archived.")
    if live_version(survey) is None:
        raise Conflict(f"Survey {survey.pk} has no published version to invite anyone to.")


def invite(*, survey: Survey, customer: Customer, unit: Unit, channel: str, now: datetime,
           scheduled_for: datetime, valid_days: int = DEFAULT_VALID_DAYS,
           interaction_id: int | None = None, trigger: Trigger | None = None,
           touchpoint: str = "", hidden: dict[str, Any] | None = None
           ) -> tuple[Invitation, str]:
    """Make an invitation, or a suppressed one with the reason; returns it and its token."""
    reason = suppression_reason(survey=survey, customer=customer, now=now)
    email = email_of(customer.pk)
    if reason is None and channel == InvitationChannel.EMAIL and not email:
        reason = NO_EMAIL
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


def sending_unit(scope: Scope, survey: Survey, unit: Unit | None) -> Unit:
    """The unit an invitation made by hand is sent for: one the sender may write to."""
    chosen = unit or survey.unit
    if not scope.writes_unit(chosen.pk):
        raise PermissionDenied(f"inviting on behalf of {chosen.code!r} needs a role that may "
                               "write there", loc=["unit"])
    return chosen


def customer_in_scope(scope: Scope, customer_id: int, loc: tuple[str | int, ...]) -> Customer:
    try:
        return customer_get(scope=scope, customer_id=customer_id)
    except NotFound as exc:
        raise invalid(loc, f"no customer {customer_id} in your scope") from exc


def check_choice(customer_ids: Sequence[int], segment: tuple[str, str] | None) -> None:
    """Customers are chosen by id or by segment: one of the two, never both."""
    if bool(customer_ids) == (segment is not None):
        raise invalid(["customers"], "give either a list of customers or a segment")


def customers_chosen(*, scope: Scope, customer_ids: Sequence[int],
                     segment: tuple[str, str] | None, limit: int) -> list[Customer]:
    """The customers named by id, or those in the segment ``(attribute, value)``, all in the
    caller's scope; refused when it is both, neither, or more than ``limit``."""
    check_choice(customer_ids, segment)
    if segment is not None:
        attribute, value = segment
        if not ATTRIBUTE_RE.match(attribute):
            raise invalid(["segment", "attribute"], ATTRIBUTE_MESSAGE)
        # has_key takes the name as a parameter, whatever it is; the value is compared in
        # Python as text, exactly as contact-rule segments are.
        customers = []
        for customer in customers_visible(scope=scope).filter(
                attributes__has_key=attribute).order_by("id").iterator(chunk_size=500):
            if str(customer.attributes.get(attribute)) == value:
                customers.append(customer)
                if len(customers) > limit:
                    break
    else:
        unique = list(dict.fromkeys(customer_ids))
        customers = [customer_in_scope(scope, cid, ("customers", i))
                     for i, cid in enumerate(unique)]
    if len(customers) > limit:
        raise invalid(["segment"] if segment else ["customers"],
                      f"names more than {limit} customers; narrow it down")
    return customers


def invitation_list(*, scope: Scope, survey: Survey, status: str | None = None,
                    cursor: str | None = None, limit: int = 50) -> Page[Invitation]:
    """A survey's invitations made for units in scope, newest first."""
    qs = Invitation.objects.filter(survey=survey).select_related("unit", "trigger", "customer")
    if scope.unit_ids is not None:
        qs = qs.filter(unit_id__in=scope.unit_ids)
    if status:
        if status not in InvitationStatus.values:
            raise invalid(["status"], f"must be one of {', '.join(InvitationStatus.values)}")
        qs = qs.filter(status=status)
    return keyset_page(qs, cursor=cursor, limit=limit, time_field="created_at")
