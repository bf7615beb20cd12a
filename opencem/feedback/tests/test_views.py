"""The feedback stream page and its CSV export through the Django test client: scope,
filters, escaping and formula-safe exports."""

from __future__ import annotations

import csv
import io
import itertools

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opencem.customers.models import Customer
from opencem.feedback.models import FeedbackItem

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
_ids = itertools.count(1)


def signed_in(persona):
    client = Client()
    client.force_login(persona.user)
    return client


def voice(admin, *, text, kind="review", source="google_reviews", unit="STORE-A",
          rating=None, rating_max=None, email=None, url="", title="",
          occurred_at="2026-03-10T10:00:00Z"):
    body = {"kind": kind, "text": text, "source": source, "unit": unit, "title": title,
            "occurred_at": occurred_at, "external_id": f"F-{next(_ids)}", "url": url}
    if rating is not None:
        body.update(rating=rating, rating_max=rating_max or 5)
    if email:
        body["customer"] = {"email": email, "name": email.split("@")[0].title()}
    response = admin.api().post_json("/api/v1/feedback", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def page(persona, **params):
    return signed_in(persona).get(reverse("feedback_list"), params)


def export(persona, **params):
    response = signed_in(persona).get(reverse("feedback_export"), params)
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_page_lists_feedback_newest_first_linked_to_the_customer(admin):
    voice(admin, text="Parcel arrived broken", kind="complaint", source="crm",
          email="ann@example.com", occurred_at="2026-03-01T10:00:00Z")
    voice(admin, text="Great staff", rating=5, title="Five stars",
          occurred_at="2026-03-02T10:00:00Z")
    response = page(admin)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Great staff") < html.index("Parcel arrived broken")
    assert "5/5" in html
    assert "<strong>Five stars</strong>" in html
    ann = Customer.objects.get()
    assert f'href="{reverse("customer_detail", args=[ann.pk])}"' in html


def test_a_manager_never_sees_another_stores_feedback_on_the_page_or_in_the_export(
        admin, manager_a):
    voice(admin, text="Store A review", unit="STORE-A")
    voice(admin, text="Store B review", unit="STORE-B")
    html = page(manager_a).content.decode()
    assert "Store A review" in html
    assert "Store B review" not in html
    assert [r["text"] for r in export(manager_a)] == ["Store A review"]
    assert {r["unit"] for r in export(admin)} == {"STORE-A", "STORE-B"}
    refused = page(manager_a, unit="STORE-B")
    assert refused.status_code == 422
    assert "Store B review" not in refused.content.decode()


@pytest.mark.parametrize(("params", "expected"), [
    ({"kind": "complaint"}, {"complaint"}),
    ({"source": "crm"}, {"complaint"}),
    ({"rating_from": "4"}, {"good review"}),
    ({"rating_to": "2"}, {"bad review"}),
    ({"rating_from": "2", "rating_to": "4"}, {"bad review"}),
    ({"unit": "WEB"}, {"web comment"}),
    ({"unit": "NORTH"}, {"good review", "bad review", "complaint"}),
    ({"since": "2026-03-03", "until": "2026-03-03"}, {"complaint"}),
])
def test_the_filters_narrow_the_page_and_the_export_alike(admin, params, expected):
    voice(admin, text="good review", rating=5, occurred_at="2026-03-01T10:00:00Z")
    voice(admin, text="bad review", rating=2, unit="STORE-B",
          occurred_at="2026-03-02T10:00:00Z")
    voice(admin, text="complaint", kind="complaint", source="crm",
          occurred_at="2026-03-03T10:00:00Z")
    voice(admin, text="web comment", kind="web_comment", source="site", unit="WEB",
          occurred_at="2026-03-04T10:00:00Z")
    assert {r["text"] for r in export(admin, **params)} == expected
    html = page(admin, **params).content.decode()
    for text in ("good review", "bad review", "complaint", "web comment"):
        assert (f"{text}</blockquote>" in html) == (text in expected), text


@pytest.mark.parametrize(("params", "field"), [
    ({"kind": "rumour"}, "kind"),
    ({"rating_from": "high"}, "rating_from"),
    ({"rating_from": "4", "rating_to": "2"}, "rating_to"),
    ({"since": "2026-13-01"}, "since"),
    ({"since": "2026-03-05", "until": "2026-03-01"}, "until"),
    ({"unit": "NOWHERE"}, "unit"),
])
def test_bad_filters_are_named_on_the_page_and_refuse_the_export(admin, params, field):
    voice(admin, text="anything")
    response = page(admin, **params)
    assert response.status_code == 422
    assert response.context["form"].errors[field]
    assert "anything</blockquote>" not in response.content.decode()
    refused = signed_in(admin).get(reverse("feedback_export"), params)
    assert refused.status_code == 422


def test_customer_text_is_escaped_and_only_web_addresses_become_links(admin):
    voice(admin, text=f"{SCRIPT} <img src=x onerror=alert(2)>", title=SCRIPT,
          url="https://reviews.example/1", email="mallory@example.com")
    voice(admin, text="sneaky")
    Customer.objects.update(name=SCRIPT)
    # Stored directly: whatever an import path lets through, the page must not make it a link.
    FeedbackItem.objects.filter(text="sneaky").update(url="javascript:alert(3)")
    html = page(admin).content.decode()
    assert SCRIPT not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="https://reviews.example/1"' in html
    assert "javascript:" not in html


def test_the_export_neutralises_spreadsheet_formulas(admin):
    voice(admin, text="=cmd|' /C calc'!A0", title="+SUM(1)", rating=1)
    (row,) = export(admin)
    assert row["text"] == "'=cmd|' /C calc'!A0"
    assert row["title"] == "'+SUM(1)"
    assert row["rating"] == "1"


def test_feedback_comes_a_page_at_a_time_and_htmx_gets_only_the_next_rows(admin):
    for day in range(1, 28):
        voice(admin, text=f"day {day:02d}", occurred_at=f"2026-03-{day:02d}T10:00:00Z")
    client = signed_in(admin)
    first = client.get(reverse("feedback_list"), {"kind": "review"})
    assert "day 27" in first.content.decode()
    assert "day 02" not in first.content.decode()
    cursor = first.context["page"].next_cursor
    rest = client.get(reverse("feedback_list"), {"kind": "review", "cursor": cursor},
                      HTTP_HX_REQUEST="true")
    rows = rest.content.decode()
    assert "<h1" not in rows
    assert "day 01" in rows
    assert "day 03" not in rows


def test_the_nav_links_responses_and_feedback(manager_a):
    html = signed_in(manager_a).get(reverse("home")).content.decode()
    assert f'href="{reverse("feedback_list")}"' in html
    assert f'href="{reverse("response_list")}"' in html


def test_the_number_of_queries_does_not_grow_with_the_rows(admin):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert page(admin).status_code == 200
        return len(captured)

    voice(admin, text="first", email="a@example.com")
    few = queries()
    for i in range(8):
        voice(admin, text=f"more {i}", email=f"m{i}@example.com")
    assert queries() == few
