"""Personal links: invitations handed out as a CSV for another channel (SMS, print, a CRM
mailing), one single-use link per customer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from opencem.accounts.selectors import Scope
from opencem.surveys.distribution.common import check_range
from opencem.surveys.distribution.inviting import (
    check_choice,
    customers_chosen,
    invite,
    require_live,
    sending_unit,
)
from opencem.surveys.distribution.sending import survey_link
from opencem.surveys.invitations import DEFAULT_VALID_DAYS
from opencem.surveys.models import InvitationChannel, InvitationStatus, Survey

if TYPE_CHECKING:
    from opencem.accounts.models import Unit

MAX_PERSONAL_LINKS = 5000
PERSONAL_LINK_COLUMNS = ["customer_id", "name", "email", "link", "status", "reason"]


@dataclass(frozen=True)
class PersonalLink:
    """One row of a personal-links export; ``link`` is empty when suppressed."""

    customer_id: int
    name: str
    email: str
    link: str
    status: str
    reason: str

    def as_row(self) -> list[object]:
        return [self.customer_id, self.name, self.email, self.link, self.status, self.reason]


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
    check_choice(customer_ids, segment)
    check_range("valid_days", valid_days, 1, 365)
    chosen = sending_unit(scope, survey, unit)
    require_live(survey)
    customers = customers_chosen(scope=scope, customer_ids=customer_ids, segment=segment,
                                 limit=MAX_PERSONAL_LINKS)
    rows: list[PersonalLink] = []
    with transaction.atomic():
        for customer in customers:
            invitation, token = invite(
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
