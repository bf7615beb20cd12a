"""The weekly digest email: content, scope, anonymity, opt-out and once a week."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.conf import settings
from django.core import mail

from opencem.accounts.services import unit_create
from opencem.conftest import Org, Persona
from opencem.dashboards import services
from opencem.dashboards.models import DigestSent
from opencem.dashboards.tests.factories import make_survey, respond

pytestmark = pytest.mark.django_db

# A Monday after eight o'clock: the digest of the week of 3 March 2025 is due.
MONDAY = datetime(2025, 3, 10, 8, tzinfo=UTC)
LAST_WEEK = datetime(2025, 3, 5, 12, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def week(org: Org) -> Org:
    """Last week: 30 answers at Store A with comments; 3 at Store B (under k); 6 at Store C."""
    store_c = unit_create(code="STORE-C", name="Store C", parent=org.north)
    _, version = make_survey(org.company)
    respond(version, org.store_a, count=30, nps=9, csat=5, at=LAST_WEEK,
            comment=f"Lovely shop {SCRIPT}")
    respond(version, org.store_b, count=3, nps=1, csat=1, at=LAST_WEEK, comment="Only B knows")
    respond(version, store_c, count=6, nps=10, csat=4, at=LAST_WEEK, comment="C was fine")
    return org


def digest_to(persona: Persona) -> mail.EmailMultiAlternatives:
    found = [m for m in mail.outbox if m.to == [persona.user.email]]
    assert len(found) == 1, [m.to for m in mail.outbox]
    message = found[0]
    assert isinstance(message, mail.EmailMultiAlternatives)
    return message


def html_of(message: mail.EmailMultiAlternatives) -> str:
    return str(next(body for body, kind in message.alternatives if kind == "text/html"))


def test_each_user_gets_their_scopes_scores_and_comments(
        week: Org, admin: Persona, manager_a: Persona) -> None:
    assert services.digests_send(now=MONDAY) == 2
    mine = digest_to(manager_a)
    assert "3 Mar" in mine.subject
    assert "9 Mar 2025" in mine.subject
    assert "Store A" in mine.body
    assert "NPS: +100.0" in mine.body
    assert "Lovely shop" in mine.body
    assert "Only B knows" not in mine.body
    assert "C was fine" not in mine.body
    everything = digest_to(admin)
    assert "Acme Retail" in everything.body
    assert "C was fine" in everything.body  # Store C has k respondents
    assert "Only B knows" not in everything.body  # Store B has not
    assert f"{settings.SITE_URL}/dashboards/settings/#digest" in everything.body


def test_the_html_digest_escapes_comments(week: Org, manager_a: Persona) -> None:
    services.digests_send(now=MONDAY)
    html = html_of(digest_to(manager_a))
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_group_under_k_shows_no_figure_in_the_digest(week: Org, manager_b: Persona) -> None:
    services.digests_send(now=MONDAY)
    message = digest_to(manager_b)
    assert "NPS: fewer than 5 responses" in message.body
    assert "-100.0" not in message.body
    assert "n=3" not in message.body
    assert "Only B knows" not in message.body


def test_a_week_is_mailed_once(week: Org, admin: Persona, manager_a: Persona) -> None:
    assert services.digests_send(now=MONDAY) == 2
    assert services.digests_send(now=MONDAY.replace(hour=9)) == 0
    assert len(mail.outbox) == 2
    assert DigestSent.objects.filter(week=date(2025, 3, 3)).count() == 2


def test_before_monday_morning_the_week_before_is_due(week: Org, admin: Persona) -> None:
    early = MONDAY.replace(hour=6)
    assert services.digest_due_week(early) == date(2025, 2, 24)
    assert services.digest_due_week(MONDAY) == date(2025, 3, 3)


def test_an_opted_out_user_gets_no_digest(week: Org, admin: Persona,
                                          manager_a: Persona) -> None:
    services.digest_preference_set(user=manager_a.user, weekly=False)
    assert services.digests_send(now=MONDAY) == 1
    assert [m.to for m in mail.outbox] == [[admin.user.email]]


def test_users_without_a_role_or_an_email_get_none(week: Org, outsider: Persona,
                                                   agent_a: Persona) -> None:
    agent_a.user.email = ""
    agent_a.user.save()
    assert services.digests_send(now=MONDAY) == 0
    assert mail.outbox == []


def test_a_quiet_week_is_passed_over_without_a_mail(org: Org, manager_a: Persona) -> None:
    assert services.digests_send(now=MONDAY) == 0
    assert mail.outbox == []
    assert DigestSent.objects.get(user=manager_a.user).mailed is False


def test_a_failed_mail_is_tried_again_at_the_next_run(
        week: Org, manager_a: Persona, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: object, fail_silently: bool = False) -> int:
        raise OSError("the mail server is down")

    monkeypatch.setattr(mail.EmailMultiAlternatives, "send", refuse)
    assert services.digests_send(now=MONDAY) == 0
    assert not DigestSent.objects.exists()
    monkeypatch.undo()
    assert services.digests_send(now=MONDAY) == 1


def test_the_digest_is_scheduled(settings: object) -> None:
    from opencem.dashboards.tasks import send_weekly_digests  # noqa: PLC0415

    tasks = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]  # type: ignore[attr-defined]
    assert send_weekly_digests.name in tasks
