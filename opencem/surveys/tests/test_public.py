"""The respondent's side with Django's test client: the single-use link, the anonymous link,
display logic without JavaScript, save and resume, validation, abuse guards, the widget API."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from opencem.conftest import Org, Persona
from opencem.core.models import OutboxEvent
from opencem.customers.services import CustomerInput, customer_upsert
from opencem.feedback.models import FeedbackItem, Response
from opencem.surveys.distribution import SYSTEM_SCOPE
from opencem.surveys.invitations import invitation_create
from opencem.surveys.models import Invitation, InvitationStatus, Survey
from opencem.surveys.services import survey_create, survey_publish

pytestmark = pytest.mark.django_db

NPS_TEXT = {"en": "{{customer.name}}, how likely are you to recommend us?",
            "de": "{{customer.name}}, wie wahrscheinlich empfehlen Sie uns weiter?"}


def definition(**changes: Any) -> dict[str, Any]:
    """A two-page survey: the score and why on page one; what to improve (only for scores
    up to 6) and consent on page two, because its display logic looks at page one."""
    base: dict[str, Any] = {
        "title": {"en": "Your visit to {{hidden.store}}", "de": "Ihr Besuch in {{hidden.store}}"},
        "intro": {"en": "Two short pages."},
        "thank_you": {"en": "Thanks, {{customer.name}}! We read every answer.",
                      "de": "Danke, {{customer.name}}!"},
        "questions": [
            {"id": "nps", "type": "nps", "required": True, "text": NPS_TEXT,
             "low_label": {"en": "Not at all likely"}, "high_label": {"en": "Extremely likely"}},
            {"id": "reason", "type": "long_text", "max_length": 200,
             "text": {"en": "What is the main reason for your score?"}},
            {"id": "improve", "type": "multiple_choice", "randomize": True,
             "text": {"en": "What should we improve?"},
             "show_if": {"conditions": [{"question": "nps", "op": "lte", "value": 6}]},
             "choices": [{"id": c, "label": {"en": c.title()}}
                         for c in ("price", "range", "staff", "delivery", "website", "queue")]},
            {"id": "contact_ok", "type": "consent",
             "text": {"en": "You may contact me about my answers."}},
            {"id": "store", "type": "hidden"},
        ],
        "branding": {"accent_colour": "#0b6e4f", "logo_text": "Acme <Retail>"},
    }
    base.update(changes)
    return base


def published_survey(org: Org, *, name: str = "Store NPS", anonymous: bool = False,
                     data: dict[str, Any] | None = None) -> Survey:
    survey = survey_create(name=name, unit=org.store_a, definition=data or definition(),
                           scope=SYSTEM_SCOPE, actor=None)
    survey_publish(survey=survey, scope=SYSTEM_SCOPE, actor=None)
    if anonymous:
        Survey.objects.filter(pk=survey.pk).update(anonymous_link=True)
        survey.refresh_from_db()
    return survey


@dataclass
class Link:
    invitation: Invitation
    url: str


def invite(org: Org, survey: Survey, *, name: str = "Ann <b>Example</b>",
           language: str = "", valid_days: int = 30) -> Link:
    customer = customer_upsert(data=CustomerInput(identities=(("email", "ann@example.com"),),
                                                  name=name, attributes={"tier": "gold"}),
                               scope=SYSTEM_SCOPE).customer
    made = invitation_create(survey=survey, unit=org.store_a, customer_id=customer.pk,
                             language=language, hidden={"store": "Leeds"},
                             valid_days=valid_days, status=InvitationStatus.SENT)
    return Link(made.invitation, f"/s/{made.token}")


@pytest.fixture
def survey(org: Org) -> Survey:
    return published_survey(org)


@pytest.fixture
def link(org: Org, survey: Survey) -> Link:
    return invite(org, survey)


def html(response: Any) -> str:
    return response.content.decode()


def page_number(response: Any) -> int:
    found = re.search(r'name="page" value="(\d+)"', html(response))
    assert found, html(response)
    return int(found.group(1))


# The single-use link --------------------------------------------------------------------

def test_an_invitation_link_shows_the_first_page_piped_and_escaped(client, link):
    response = client.get(link.url)
    assert response.status_code == 200
    body = html(response)
    assert '<html lang="en">' in body
    assert "Your visit to Leeds" in body
    assert "Ann &lt;b&gt;Example&lt;/b&gt;, how likely are you to recommend us?" in body
    assert "<b>Example</b>" not in body
    assert "Acme &lt;Retail&gt;" in body
    assert "Step 1 of 2" in body
    assert 'name="q-nps"' in body
    assert 'name="q-improve"' not in body
    link.invitation.refresh_from_db()
    assert link.invitation.opened_at is not None


def test_a_respondent_answers_both_pages_and_the_response_is_stored_once(client, link):
    first = client.post(link.url, {"page": "0", "q-nps": "3", "q-reason": "Slow queue"})
    assert first.status_code == 302
    assert first["Location"].endswith("?page=1")
    second_page = client.get(first["Location"])
    assert 'name="q-improve"' in html(second_page)  # display logic: 3 <= 6
    done = client.post(link.url, {"page": "1", "q-improve": ["queue", "staff"],
                                  "q-contact_ok": "yes"})
    assert done.status_code == 302
    assert done["Location"].endswith("/thanks")
    thanks = client.get(done["Location"])
    assert "Thanks, Ann &lt;b&gt;Example&lt;/b&gt;! We read every answer." in html(thanks)
    response = Response.objects.get()
    assert response.completed
    assert response.nps == 3
    assert response.answers == {"nps": 3, "reason": "Slow queue", "improve": ["queue", "staff"],
                                "contact_ok": True, "store": "Leeds"}
    assert response.customer_id == link.invitation.customer_id
    assert response.source == "survey_invitation"
    link.invitation.refresh_from_db()
    assert link.invitation.response_id == response.pk
    assert link.invitation.status == InvitationStatus.COMPLETED
    topics = list(OutboxEvent.objects.values_list("topic", flat=True))
    assert topics.count("response.completed") == 1
    assert topics.count("feedback.created") == 1
    assert FeedbackItem.objects.get().text == "Slow queue"


def test_display_logic_hides_the_follow_up_for_promoters_without_javascript(client, link):
    client.post(link.url, {"page": "0", "q-nps": "10"})
    second = client.get(f"{link.url}?page=1")
    body = html(second)
    assert 'name="q-improve"' not in body
    assert 'name="q-contact_ok"' in body


def test_going_back_and_changing_the_score_prunes_the_hidden_answer(org, client):
    survey = published_survey(org, name="Three pages", data=definition(questions=[
        *definition()["questions"][:4],
        {"id": "extra", "type": "short_text", "text": {"en": "Anything else?"},
         "show_if": {"conditions": [{"question": "improve", "op": "answered"}]}}]))
    link = invite(org, survey)
    client.post(link.url, {"page": "0", "q-nps": "2"})
    client.post(link.url, {"page": "1", "q-improve": ["price"]})
    assert Response.objects.get().answers["improve"] == ["price"]
    client.post(link.url, {"page": "0", "q-nps": "9"})
    assert "improve" not in Response.objects.get().answers


def test_save_and_resume_from_the_same_link(client, link):
    client.post(link.url, {"page": "0", "q-nps": "4", "q-reason": "Half done"})
    partial = Response.objects.get()
    assert not partial.completed
    assert partial.submitted_at is None
    assert OutboxEvent.objects.filter(topic="response.completed").count() == 0
    assert FeedbackItem.objects.count() == 0  # comments join the stream on completion only
    later = Client().get(link.url)  # another day, another browser: the link is enough
    assert page_number(later) == 1
    back = Client().get(f"{link.url}?page=0")
    assert "Half done</textarea>" in html(back)
    assert 'value="4" checked' in html(back)


def test_language_comes_from_the_invitation_then_the_browser(org, survey, client):
    german = invite(org, survey, language="de")
    body = html(client.get(german.url))
    assert '<html lang="de">' in body
    assert "wie wahrscheinlich" in body
    plain = invite(org, survey)
    assert '<html lang="de">' in html(client.get(plain.url, HTTP_ACCEPT_LANGUAGE="fr, de;q=0.8"))
    assert '<html lang="en">' in html(client.get(plain.url, HTTP_ACCEPT_LANGUAGE="fr, it"))


def test_randomised_options_keep_one_order_per_respondent(org, survey, client):
    orders = []
    for name in ("Bob", "Cy", "Di", "Ed", "Flo", "Gus"):
        link = invite(org, survey, name=name)
        client.post(link.url, {"page": "0", "q-nps": "1"})
        seen = {tuple(re.findall(r'id="q-improve-(\w+)"', html(client.get(f"{link.url}?page=1"))))
                for _ in range(3)}
        assert len(seen) == 1  # reloading never reshuffles
        orders.append(seen.pop())
    assert sorted(orders[0]) == ["delivery", "price", "queue", "range", "staff", "website"]
    assert len(set(orders)) > 1  # but respondents do not all see one order


# Bad input -------------------------------------------------------------------------------

def test_a_missing_required_answer_re_renders_with_a_linked_message(client, link):
    response = client.post(link.url, {"page": "0", "q-reason": "no score"})
    assert response.status_code == 422
    body = html(response)
    assert 'role="alert"' in body
    assert 'href="#q-nps-0"' in body
    assert "Please answer this question." in body
    assert 'aria-invalid="true"' in body
    assert "no score</textarea>" in body  # what they typed is kept
    assert Response.objects.count() == 0


@pytest.mark.parametrize(("field", "value", "message"), [
    ("q-nps", "11", "This answer must be between 0 and 10."),
    ("q-nps", "ten", "Choose a number from 0 to 10."),
    ("q-reason", "x" * 201, "This answer must be at most 200 characters."),
])
def test_wrong_or_over_long_answers_are_refused_per_field(client, link, field, value, message):
    data = {"page": "0", "q-nps": "5", field: value}
    response = client.post(link.url, data)
    assert response.status_code == 422
    assert message in html(response)
    assert Response.objects.count() == 0


def test_an_unknown_link_is_not_found(client):
    response = client.get("/s/not-a-token")
    assert response.status_code == 404
    assert "We could not find this survey" in html(response)


def test_an_expired_link_is_gone(org, survey, client):
    link = invite(org, survey)
    Invitation.objects.filter(pk=link.invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(link.url).status_code == 410
    response = client.post(link.url, {"page": "0", "q-nps": "5"})
    assert response.status_code == 410
    assert "no longer open" in html(response)
    assert Response.objects.count() == 0


def test_an_answered_link_says_so_kindly_and_takes_nothing_more(client, link):
    client.post(link.url, {"page": "0", "q-nps": "9"})
    client.post(link.url, {"page": "1"})
    assert Response.objects.get().completed
    again = client.get(link.url)
    assert again.status_code == 200
    assert "already answered" in html(again)
    posted = client.post(link.url, {"page": "0", "q-nps": "0"})
    assert "already answered" in html(posted)
    assert Response.objects.get().nps == 9


def test_the_honeypot_stores_nothing_but_thanks_the_bot(client, link):
    response = client.post(link.url, {"page": "0", "q-nps": "10", "website": "http://spam"})
    assert response.status_code == 200
    assert "Thank you!" in html(response)
    assert Response.objects.count() == 0
    link.invitation.refresh_from_db()
    assert link.invitation.response_id is None


def test_public_pages_are_rate_limited_per_ip(client, link, settings):
    settings.OPENCEM_PUBLIC_RATE_LIMIT = 3
    statuses = [client.get(link.url).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get(link.url)
    assert int(limited["Retry-After"]) >= 1
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.get(link.url).status_code == 200


def test_csrf_is_checked_on_the_form(link):
    strict = Client(enforce_csrf_checks=True)
    page = strict.get(link.url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html(page))
    assert token
    assert strict.post(link.url, {"page": "0", "q-nps": "5"}).status_code == 403
    ok = strict.post(link.url, {"page": "0", "q-nps": "5",
                                "csrfmiddlewaretoken": token.group(1)})
    assert ok.status_code == 302


# The anonymous link ----------------------------------------------------------------------

def test_the_anonymous_link_needs_the_survey_to_allow_it(org, survey, client):
    assert client.get(f"/s/p/{survey.slug}").status_code == 404
    Survey.objects.filter(pk=survey.pk).update(anonymous_link=True)
    assert client.get(f"/s/p/{survey.slug}").status_code == 200


def test_anonymous_answers_resume_with_the_cookie_and_carry_hidden_values(org, client):
    survey = published_survey(org, anonymous=True)
    url = f"/s/p/{survey.slug}"
    first = client.get(f"{url}?store=York")
    assert "Your visit to York" in html(first)
    client.post(url, {"page": "0", "q-nps": "8", "h-store": "York"})
    partial = Response.objects.get()
    assert not partial.completed
    assert partial.answers == {"nps": 8, "store": "York"}
    assert partial.respondent_key
    assert partial.customer_id is None
    assert page_number(client.get(url)) == 1  # resumed by the signed cookie
    client.post(url, {"page": "1"})
    assert Response.objects.get().completed
    assert Response.objects.get().flags == []


def test_repeat_answers_on_the_anonymous_link_are_stored_and_flagged(org):
    survey = published_survey(org, anonymous=True)
    url = f"/s/p/{survey.slug}"
    for _ in range(2):
        fresh = Client(HTTP_USER_AGENT="Firefox")  # no cookies: the keyed address still tells
        fresh.post(url, {"page": "0", "q-nps": "10"})
        fresh.post(url, {"page": "1"})
    first, second = Response.objects.order_by("pk")
    assert first.flags == []
    assert second.flags == ["repeat"]
    assert first.respondent_key == second.respondent_key
    assert len(first.respondent_key) == 64
    assert "127.0.0.1" not in first.respondent_key
    someone_else = Client(HTTP_USER_AGENT="Safari")
    someone_else.post(url, {"page": "0", "q-nps": "10"})
    someone_else.post(url, {"page": "1"})
    assert Response.objects.order_by("pk").last().flags == []


def test_a_repeat_from_the_same_browser_is_flagged_by_its_cookie(org, client):
    survey = published_survey(org, anonymous=True)
    url = f"/s/p/{survey.slug}"
    for agent in ("A", "B"):  # a new address/agent, but the same browser's cookie
        client.post(url, {"page": "0", "q-nps": "10"}, HTTP_USER_AGENT=agent)
        client.post(url, {"page": "1"}, HTTP_USER_AGENT=agent)
    assert [r.flags for r in Response.objects.order_by("pk")] == [[], ["repeat"]]


# The widget API --------------------------------------------------------------------------

def widget_client(origin: str = "https://shop.example") -> Client:
    return Client(HTTP_ORIGIN=origin)


def test_the_widget_gets_the_first_question_and_its_follow_up(org, settings):
    settings.OPENCEM_WIDGET_ORIGINS = ["https://shop.example"]
    survey = published_survey(org, anonymous=True)
    response = widget_client().get(f"/api/v1/public/surveys/{survey.slug}/widget",
                                   HTTP_ACCEPT_LANGUAGE="de-DE")
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "de"
    assert [q["id"] for q in body["questions"]] == ["nps", "reason"]
    assert body["questions"][0]["options"][0] == {"value": "0", "label": "0"}
    assert body["branding"]["accent_colour"] == "#0b6e4f"
    assert body["title"] == "Ihr Besuch in "  # no hidden value given: no braces either
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"


def test_the_widget_pipes_the_pages_hidden_values(org):
    survey = published_survey(org, anonymous=True)
    body = widget_client().get(f"/api/v1/public/surveys/{survey.slug}/widget",
                               {"h_store": "<Web>", "h_secret": "x"}).json()
    assert body["title"] == "Your visit to <Web>"  # JSON; the widget sets it as text


def test_cors_headers_only_for_listed_origins(org, settings):
    settings.OPENCEM_WIDGET_ORIGINS = ["https://shop.example", "https://www.example.org/"]
    survey = published_survey(org, anonymous=True)
    path = f"/api/v1/public/surveys/{survey.slug}/responses"
    allowed = widget_client("https://www.example.org").options(path)
    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == "https://www.example.org"
    assert "POST" in allowed["Access-Control-Allow-Methods"]
    other = widget_client("https://evil.example").options(path)
    assert "Access-Control-Allow-Origin" not in other
    assert "Access-Control-Allow-Origin" not in widget_client("https://evil.example").get(
        f"/api/v1/public/surveys/{survey.slug}/widget")


def post_widget(survey: Survey, body: dict[str, Any], client: Client | None = None) -> Any:
    return (client or widget_client()).post(
        f"/api/v1/public/surveys/{survey.slug}/responses", json.dumps(body),
        content_type="application/json")


def test_the_widget_posts_a_completed_response(org, settings):
    settings.OPENCEM_WIDGET_ORIGINS = ["https://shop.example"]
    survey = published_survey(org, anonymous=True)
    response = post_widget(survey, {"answers": {"nps": 6, "reason": "Too slow"},
                                    "hidden": {"store": "web"}, "visitor": "v1"})
    assert response.status_code == 201, response.content
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    stored = Response.objects.get()
    assert stored.completed
    assert stored.source == "widget"
    assert stored.channel == "web"
    assert stored.answers == {"nps": 6, "reason": "Too slow", "store": "web"}
    assert FeedbackItem.objects.get().text == "Too slow"
    again = post_widget(survey, {"answers": {"nps": 7}, "visitor": "v1"})
    assert again.status_code == 201
    assert Response.objects.order_by("pk").last().flags == ["repeat"]


@pytest.mark.parametrize(("body", "field"), [
    ({"answers": {}}, "answers.nps"),
    ({"answers": {"nps": 12}}, "answers.nps"),
    ({"answers": {"nps": 5, "improve": ["price"]}}, "answers.improve"),
    ({"answers": {"nps": 5}, "hidden": {"secret": "x"}}, "hidden.secret"),
    ({"answers": {"nps": 5, "reason": "x" * 201}}, "answers.reason"),
    ({"answers": {"nps": 5}, "extra": 1}, "extra"),
])
def test_the_widget_refuses_bad_answers_and_stores_nothing(org, settings, body, field):
    settings.OPENCEM_WIDGET_ORIGINS = ["https://shop.example"]
    survey = published_survey(org, anonymous=True)
    response = post_widget(survey, body)
    assert response.status_code == 422
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    fields = [".".join(map(str, e["loc"])) for e in response.json()["error"]["errors"]]
    assert field in fields
    assert Response.objects.count() == 0


def test_the_widget_honeypot_and_rate_limit(org, settings):
    settings.OPENCEM_PUBLIC_RATE_LIMIT = 2
    survey = published_survey(org, anonymous=True)
    bot = post_widget(survey, {"answers": {"nps": 10}, "website": "spam"})
    assert bot.status_code == 201
    assert Response.objects.count() == 0
    post_widget(survey, {"answers": {"nps": 10}})
    limited = post_widget(survey, {"answers": {"nps": 10}})
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert Response.objects.count() == 1


def test_the_widget_serves_only_surveys_open_to_anyone(org, survey):
    assert widget_client().get(f"/api/v1/public/surveys/{survey.slug}/widget").status_code \
        == 404
    assert post_widget(survey, {"answers": {"nps": 1}}).status_code == 404


def test_the_widget_script_is_served_as_a_static_file(client):
    response = client.get("/static/surveys/widget.js")
    assert response.status_code == 200
    assert b"data-survey" in b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_signed_in_staff_see_the_respondent_page_without_staff_navigation(admin: Persona, link,
                                                                         client):
    # A signed-in member of staff sees the same respondent page, without staff navigation.
    client.force_login(admin.user)
    body = html(client.get(link.url))
    assert "Sign out" not in body
    assert "Customers" not in body
