"""Analysing stored feedback: the batch task, what it stores, the event, re-analysis."""

from __future__ import annotations

import pytest

from opencem.accounts.selectors import WHOLE_ORGANISATION, scope_for_user
from opencem.core.errors import PermissionDenied
from opencem.core.models import OutboxEvent
from opencem.feedback.models import FeedbackItem
from opencem.textanalytics import selectors, services, tasks
from opencem.textanalytics.models import Analysis, Theme, ThemeMention
from opencem.textanalytics.tests.factories import feedback

pytestmark = pytest.mark.django_db

COMPLAINT = ("The sofa arrived damaged. I called three times and nobody called me back. "
             "Reach me at dee@example.com or 07700 900123.")
PRAISE = "The staff were friendly and helpful. Lovely visit, thank you!"


def test_the_task_analyses_pending_feedback_and_writes_the_redaction_back(org):
    complaint = feedback(COMPLAINT, email="dee@example.com")
    praise = feedback(PRAISE, unit="STORE-B")
    assert selectors.pending_count() == 2

    assert tasks.analyze_pending.delay().get() == 2

    analysis = Analysis.objects.get(feedback_id=complaint)
    assert (analysis.sentiment, analysis.language) == ("negative", "en")
    assert analysis.score < 0
    assert "call_back" in analysis.effort
    assert analysis.pii == ["EMAIL", "PHONE"]
    item = FeedbackItem.objects.get(pk=complaint)
    assert item.redacted_text.endswith("Reach me at [EMAIL] or [PHONE].")
    assert item.text == COMPLAINT
    assert item.language == "en"
    mention = ThemeMention.objects.get(feedback_id=complaint, theme__code="delivery.damage")
    assert item.redacted_text[mention.start:mention.end] == "The sofa arrived damaged."
    assert mention.sentiment == "negative"
    assert Analysis.objects.get(feedback_id=praise).sentiment == "positive"
    assert selectors.pending_count() == 0
    assert tasks.analyze_pending.delay().get() == 0


def test_each_new_analysis_is_announced_with_the_agreed_payload(org):
    complaint = feedback(COMPLAINT, email="dee@example.com")
    services.analysis_run_pending()
    (event,) = OutboxEvent.objects.filter(topic="feedback.analyzed")
    item = FeedbackItem.objects.get(pk=complaint)
    payload = event.payload
    assert set(payload) == {"feedback_id", "response_id", "unit_id", "customer_id", "sentiment",
                            "sentiment_score", "emotions", "themes", "pillars", "effort"}
    assert (payload["feedback_id"], payload["unit_id"], payload["customer_id"]) == (
        complaint, org.store_a.pk, item.customer_id)
    assert payload["response_id"] is None
    assert payload["sentiment"] == "negative"
    assert payload["sentiment_score"] < 0
    assert "delivery.damage" in payload["themes"]
    assert "call_back" in payload["effort"]
    assert "time_and_effort" in payload["pillars"]


def test_reanalysis_after_a_taxonomy_change_updates_in_place_without_new_events(org, admin):
    item = feedback("The chatbot kept looping and the parking was full.")
    services.analysis_run_pending()
    assert ThemeMention.objects.filter(feedback_id=item, theme__code="service.chat").exists()
    theme = Theme.objects.get(code="service.chat")
    theme.active = False
    theme.save()
    marked = services.analysis_mark_stale(scope=scope_for_user(admin.user))
    assert marked == 1
    assert services.analysis_run_pending() == 1
    assert not ThemeMention.objects.filter(feedback_id=item, theme__code="service.chat").exists()
    assert Analysis.objects.filter(feedback_id=item, stale=False).count() == 1
    assert OutboxEvent.objects.filter(topic="feedback.analyzed").count() == 1


def test_only_analysts_and_admins_may_ask_for_reanalysis(org, manager_a):
    with pytest.raises(PermissionDenied):
        services.analysis_mark_stale(scope=scope_for_user(manager_a.user))


def test_batches_stop_at_the_limit_and_resume(org):
    for i in range(5):
        feedback(f"Delivery number {i} was late again.")
    assert services.analysis_run_pending(batch_size=2, max_items=3) == 3
    assert selectors.pending_count() == 2
    assert services.analysis_run_pending(batch_size=2) == 2


def test_theme_and_sentiment_statistics_accept_a_subquery(org):
    a = feedback(COMPLAINT)
    feedback(PRAISE)
    feedback("The sofa was broken when it came.", unit="STORE-B")
    services.analysis_run_pending()
    ids = FeedbackItem.objects.filter(unit=org.store_a).values_list("id")
    summary = selectors.sentiment_summary(feedback_ids=ids)
    assert (summary.analysed, summary.positive, summary.negative) == (2, 1, 1)
    assert summary.net == 0.0
    top = selectors.themes_top(feedback_ids=[a], limit=1)
    assert len(top) == 1
    everything = {t.code: t for t in selectors.theme_stats(
        feedback_ids=FeedbackItem.objects.values_list("id"))}
    damage = everything["delivery.damage"]
    assert (damage.mentions, damage.negative, damage.net_sentiment) == (2, 2, -100.0)
    assert damage.category == "Delivery"
    empty = selectors.sentiment_summary(feedback_ids=[])
    assert (empty.analysed, empty.net, empty.mean_score) == (0, None, None)


def test_theme_choices_name_category_and_theme():
    choices = dict(selectors.theme_choices())
    assert choices["delivery.damage"] == "Delivery › Damaged or wrong items"


def test_the_whole_organisation_may_reanalyse(org):
    feedback(PRAISE)
    services.analysis_run_pending()
    assert services.analysis_mark_stale(scope=WHOLE_ORGANISATION) == 1
