"""Unsubscribes: a customer's wish to get no (more) invitations, from one survey or any.

Every invitation mail carries two signed links (this survey, all surveys); the wish is
honoured before any invitation is made and again just before one is mailed.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from opencem.core.errors import NotFound
from opencem.customers.selectors import customer_get
from opencem.surveys.distribution.common import SYSTEM_SCOPE
from opencem.surveys.models import Invitation, InvitationStatus, Survey, Unsubscribe

UNSUBSCRIBE_SALT = "opencem.surveys.unsubscribe"
UNSUBSCRIBED = "customer unsubscribed"


def unsubscribe_token(*, customer_id: int, survey_id: int | None) -> str:
    """A signed value naming the customer and survey; it never expires, as a link must not."""
    return signing.dumps({"c": customer_id, "s": survey_id}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(*, customer_id: int, survey_id: int | None) -> str:
    token = unsubscribe_token(customer_id=customer_id, survey_id=survey_id)
    return settings.SITE_URL + reverse("surveys:unsubscribe", args=[token])


def unsubscribe_parse(token: str) -> tuple[int, int | None]:
    """The (customer id, survey id) a link names; a forged or damaged link is NotFound."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        customer_id, survey_id = int(data["c"]), data["s"]
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise NotFound("This unsubscribe link is not valid.") from exc
    return customer_id, None if survey_id is None else int(survey_id)


def unsubscribe_create(*, customer_id: int, survey_id: int | None, source: str = "link"
                       ) -> Unsubscribe:
    """Record that the customer wants no (more) invitations; asking twice is harmless.

    Invitations still waiting to be sent are suppressed at once.
    """
    # A link mailed before a merge names the absorbed record; the survivor is the person now.
    customer_id = customer_get(scope=SYSTEM_SCOPE, customer_id=customer_id).pk
    with transaction.atomic():
        which = Q(survey__isnull=True) if survey_id is None else Q(survey_id=survey_id)
        found = Unsubscribe.objects.filter(which, customer_id=customer_id).first()
        if found is None:
            found = Unsubscribe.objects.create(customer_id=customer_id, survey_id=survey_id,
                                               source=source)
        waiting = Invitation.objects.filter(customer_id=customer_id,
                                            status=InvitationStatus.SCHEDULED)
        if survey_id is not None:
            waiting = waiting.filter(survey_id=survey_id)
        waiting.update(status=InvitationStatus.SUPPRESSED, suppressed_reason=UNSUBSCRIBED)
    return found


def is_unsubscribed(customer_id: int, survey_id: int) -> bool:
    """Whether the customer asked for no invitations to this survey (or to any)."""
    return Unsubscribe.objects.filter(Q(survey__isnull=True) | Q(survey_id=survey_id),
                                      customer_id=customer_id).exists()


def unsubscribe_survey_name(survey_id: int | None) -> str:
    """The name shown on the unsubscribe page ("" for all surveys)."""
    if survey_id is None:
        return ""
    survey = Survey.objects.filter(pk=survey_id).only("name").first()
    if survey is None:
        raise NotFound("This unsubscribe link is not valid.")
    return survey.name
