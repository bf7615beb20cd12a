"""After a case is resolved the customer gets a one-question follow-up survey (through the
surveys app's invitations); their answer tells whether they were recovered."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from opencem.closedloop.choices import FINISHED_STATUSES, CaseEventKind
from opencem.closedloop.models import Case, CaseEvent
from opencem.core.errors import ApplicationError
from opencem.surveys.distribution import SYSTEM_SCOPE, invitation_send, invitation_send_now

log = logging.getLogger(__name__)

PASSIVE_FROM = 7  # NPS 7-8 passive, 9-10 promoter: a detractor who moved there is recovered


def case_followup_send(*, case_id: int, now: datetime | None = None) -> bool:
    """Invite the customer of a resolved case to its follow-up survey, once; returns whether
    an invitation was made now. One the contact rules hold back is noted on the case.

    The invitation is made with the case's follow-up mark and mailed once both have
    committed; should the mail wait (the process dies, the mail server is down), the
    invitation stays scheduled and the invitation scheduler sends it."""
    now = now or timezone.now()
    with transaction.atomic():
        case = (Case.objects.select_for_update(of=("self",))
                .select_related("followup_survey", "unit")
                .filter(pk=case_id, status__in=FINISHED_STATUSES, followup_sent_at__isnull=True,
                        followup_survey__isnull=False, customer__isnull=False).first())
        if case is None or case.followup_survey is None or case.customer_id is None:
            return False
        invitation = None
        try:
            invitation = invitation_send_now(survey=case.followup_survey,
                                             customer_id=case.customer_id, scope=SYSTEM_SCOPE,
                                             unit=case.unit, now=now, deliver=False)
        except ApplicationError as exc:
            note = f"No follow-up: {exc.message}"
        else:
            reason = f": {invitation.suppressed_reason}" if invitation.suppressed_reason else ""
            note = ("Follow-up survey sent" if invitation.status == "scheduled"
                    else f"Follow-up {invitation.get_status_display().lower()}{reason}")
        case.followup_sent_at = now
        case.followup_invitation_id = invitation.pk if invitation else None
        case.followup_note = note[:300]
        case.save(update_fields=["followup_sent_at", "followup_invitation_id",
                                 "followup_note"])
        CaseEvent.objects.create(case=case, kind=CaseEventKind.FOLLOWUP_SENT, text=note,
                                 data={"invitation_id": case.followup_invitation_id})
    if invitation is not None and invitation.status == "scheduled":
        invitation_send(invitation_id=invitation.pk, now=now)
    return invitation is not None


def cases_followup_send_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Send the follow-ups a lost wake-up left behind (the sweeper)."""
    due = list(Case.objects.filter(status__in=FINISHED_STATUSES, followup_sent_at__isnull=True,
                                   followup_survey__isnull=False, customer__isnull=False)
               .values_list("id", flat=True)[:limit])
    return sum(case_followup_send(case_id=pk, now=now) for pk in due)


def followup_record(*, response_id: int, survey_id: int, customer_id: int | None,
                    nps: int | None, submitted_after: datetime) -> Case | None:
    """Record a completed response as the follow-up answer of the customer's oldest case
    waiting for one on that survey; call inside a transaction. A detractor at the alert
    who answers 7 or more is recovered."""
    if customer_id is None:
        return None
    case = (Case.objects.select_for_update()
            .filter(customer_id=customer_id, followup_survey_id=survey_id,
                    followup_sent_at__isnull=False, followup_sent_at__lte=submitted_after,
                    followup_response__isnull=True, followup_invitation_id__isnull=False)
            .order_by("followup_sent_at", "id").first())
    if case is None:
        return None
    case.followup_response_id = response_id
    case.followup_nps = nps
    if case.alert_nps is not None and case.alert_nps < PASSIVE_FROM and nps is not None:
        case.recovered = nps >= PASSIVE_FROM
    case.save(update_fields=["followup_response", "followup_nps", "recovered"])
    CaseEvent.objects.create(case=case, kind=CaseEventKind.FOLLOWUP_ANSWERED,
                             text=f"Follow-up answered: NPS {nps}" if nps is not None
                             else "Follow-up answered",
                             data={"response_id": response_id, "nps": nps,
                                   "recovered": case.recovered})
    return case
