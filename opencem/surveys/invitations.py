"""Single-use invitation links: made, looked up by token, and completed exactly once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from opencem.core.errors import ApplicationError, NotFound
from opencem.surveys.models import Invitation, InvitationChannel, InvitationStatus, Survey

if TYPE_CHECKING:
    from opencem.accounts.models import Unit

TOKEN_BYTES = 24  # 192 bits: far beyond guessing, and short enough for a link
DEFAULT_VALID_DAYS = 30


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    token: str  # only ever returned here; the database keeps its hash


def invitation_create(*, survey: Survey, unit: Unit, customer_id: int | None = None,
                      interaction_id: int | None = None,
                      channel: str = InvitationChannel.EMAIL, language: str = "",
                      touchpoint: str = "", hidden: dict[str, Any] | None = None,
                      email: str = "", valid_days: int = DEFAULT_VALID_DAYS,
                      status: str = InvitationStatus.SCHEDULED,
                      suppressed_reason: str = "") -> NewInvitation:
    """Make an invitation with a fresh random token (≥ 128 bits)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation = Invitation.objects.create(
        survey=survey, unit=unit, customer_id=customer_id, interaction_id=interaction_id,
        channel=channel, language=language, touchpoint=touchpoint, hidden=hidden or {},
        email=email, token_hash=hash_token(token), status=status,
        suppressed_reason=suppressed_reason,
        expires_at=timezone.now() + timedelta(days=valid_days))
    return NewInvitation(invitation, token)


def invitation_by_token(token: str) -> Invitation:
    """The live invitation behind a link; expired, suppressed or unknown links are NotFound."""
    if not token or len(token) > 100:
        raise NotFound("This survey link is not valid.")
    invitation = (Invitation.objects.select_related("survey", "survey__unit")
                  .filter(token_hash=hash_token(token)).first())
    if invitation is None or invitation.status in (InvitationStatus.SUPPRESSED,
                                                   InvitationStatus.FAILED):
        raise NotFound("This survey link is not valid.")
    if invitation.expires_at <= timezone.now() and invitation.response_id is None:
        raise ApplicationError("This survey link has expired.", status=410, code="expired")
    return invitation


def invitation_mark_opened(invitation: Invitation) -> None:
    if invitation.opened_at is None:
        Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(
            opened_at=timezone.now(), status=InvitationStatus.OPENED)


def invitation_lock_for_answer(invitation_id: int) -> Invitation:
    """Lock the invitation row for the rest of the caller's transaction (call it inside
    ``transaction.atomic()``); refuse if it was already answered.

    Concurrent submissions of one link queue on this lock, and all but the first find the
    response already set.
    """
    invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
    if invitation.response_id is not None and invitation.completed_at is not None:
        raise ApplicationError("This survey was already answered. Thank you!", status=409,
                               code="already_answered")
    return invitation


def invitation_attach_response(*, invitation: Invitation, response_id: int,
                               completed: bool) -> None:
    """Record the response on the (locked) invitation; call inside the same transaction."""
    invitation.response_id = response_id
    if completed:
        invitation.completed_at = timezone.now()
        invitation.status = InvitationStatus.COMPLETED
    invitation.save(update_fields=["response", "completed_at", "status"])
