"""The responses page and its CSV export through the Django test client: scope, filters,
escaping and formula-safe exports."""

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

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
_ids = itertools.count(1)


def signed_in(persona):
    client = Client()
    client.force_login(persona.user)
    return client


@pytest.fixture
def survey(admin):
    api = admin.api()
    created = api.post_json("/api/v1/surveys", {"name": "Relationship NPS", "unit": "ACME",
                                                "template": "relational_nps"}).json()
    api.post_json(f"/api/v1/surveys/{created['id']}/publish", {})
    return created["id"]


def respond(admin, survey, *, unit="STORE-A", nps=9, reason="", email=None, complete=True,
            started_at="2026-03-10T10:00:00Z"):
    answers = {"nps": nps, **({"reason": reason} if reason else {})}
    body = {"survey": survey, "answers": answers, "unit": unit, "complete": complete,
            "started_at": started_at, "source": "test", "external_id": f"R-{next(_ids)}"}
    if email:
        body["customer"] = {"email": email, "name": email.split("@")[0].title()}
    response = admin.api().post_json("/api/v1/responses", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def page(persona, **params):
    return signed_in(persona).get(reverse("response_list"), params)


def export(persona, **params):
    response = signed_in(persona).get(reverse("response_export"), params)
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_page_lists_responses_newest_first_with_scores_comments_and_customers(admin,
                                                                                  survey):
    respond(admin, survey, nps=3, reason="The queue was long", email="ann@example.com",
            started_at="2026-03-01T10:00:00Z")
    respond(admin, survey, nps=10, reason="Lovely staff", started_at="2026-03-02T10:00:00Z")
    response = page(admin)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Lovely staff") < html.index("The queue was long")
    assert "NPS 3" in html
    assert "NPS 10" in html
    ann = Customer.objects.get()
    assert f'href="{reverse("customer_detail", args=[ann.pk])}"' in html
    assert "anonymous" in html


def test_a_manager_never_sees_another_stores_responses_on_the_page_or_in_the_export(
        admin, manager_a, survey):
    respond(admin, survey, unit="STORE-A", reason="Store A was fine")
    respond(admin, survey, unit="STORE-B", reason="Store B was awful")
    html = page(manager_a).content.decode()
    assert "Store A was fine" in html
    assert "Store B was awful" not in html
    rows = export(manager_a)
    assert [r["comments"] for r in rows] == ["Store A was fine"]
    assert {r["unit"] for r in export(admin)} == {"STORE-A", "STORE-B"}


def test_a_manager_may_not_filter_by_another_stores_unit(admin, manager_a, survey):
    respond(admin, survey, unit="STORE-B", reason="Store B was awful")
    response = page(manager_a, unit="STORE-B")
    assert response.status_code == 422
    assert response.context["form"].errors["unit"]
    assert "Store B was awful" not in response.content.decode()
    denied = signed_in(manager_a).get(reverse("response_export"), {"unit": "STORE-B"})
    assert denied.status_code == 422
    assert denied["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(("params", "expected"), [
    ({"band": "nps_detractor"}, {"detractor"}),
    ({"band": "nps_promoter"}, {"promoter", "unfinished promoter", "store B promoter"}),
    ({"band": "nps_passive"}, {"passive"}),
    ({"completed": "no"}, {"unfinished promoter"}),
    ({"completed": "yes"}, {"detractor", "passive", "promoter", "store B promoter"}),
    ({"unit": "STORE-B"}, {"store B promoter"}),
    ({"unit": "NORTH"}, {"detractor", "passive", "promoter", "unfinished promoter",
                         "store B promoter"}),
    ({"since": "2026-03-02", "until": "2026-03-03"}, {"passive", "promoter"}),
])
def test_the_filters_narrow_the_page_and_the_export_alike(admin, survey, params, expected):
    respond(admin, survey, nps=2, reason="detractor", started_at="2026-03-01T10:00:00Z")
    respond(admin, survey, nps=7, reason="passive", started_at="2026-03-02T00:00:00Z")
    respond(admin, survey, nps=9, reason="promoter", started_at="2026-03-03T23:59:00Z")
    respond(admin, survey, nps=10, reason="unfinished promoter", complete=False,
            started_at="2026-03-05T10:00:00Z")
    respond(admin, survey, nps=10, reason="store B promoter", unit="STORE-B",
            started_at="2026-03-06T10:00:00Z")
    assert {r["comments"] for r in export(admin, **params)} == expected
    html = page(admin, **params).content.decode()
    for reason in ("detractor", "passive", "unfinished promoter", "store B promoter"):
        assert (f">{reason}</blockquote>" in html) == (reason in expected), reason


def test_filtering_by_survey_offers_only_surveys_the_viewer_may_read(admin, manager_a, survey,
                                                                    org):
    other = admin.api().post_json("/api/v1/surveys", {
        "name": "Web CES", "unit": "WEB", "template": "support_ces"}).json()["id"]
    respond(admin, survey, reason="company survey at store A")
    offered = dict(page(manager_a).context["form"].fields["survey"].choices)
    assert offered[survey] == "Relationship NPS"
    assert other not in offered
    assert page(manager_a, survey=other).status_code == 422
    assert {r["comments"] for r in export(admin, survey=survey)} == {"company survey at store A"}


def test_customer_text_is_escaped_on_the_page(admin, survey):
    respond(admin, survey, nps=1, reason=f"{SCRIPT} <img src=x onerror=alert(2)>",
            email="mallory@example.com")
    Customer.objects.update(name=SCRIPT)
    html = page(admin).content.decode()
    assert SCRIPT not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_export_neutralises_spreadsheet_formulas(admin, survey):
    respond(admin, survey, nps=1, reason="=HYPERLINK(\"http://evil.example\",\"click\")")
    (row,) = export(admin)
    assert row["comments"].startswith("'=HYPERLINK")
    assert row["nps"] == "1"
    assert row["survey"] == "Relationship NPS"


def test_responses_come_a_page_at_a_time_and_htmx_gets_only_the_next_rows(admin, survey):
    for day in range(1, 28):
        respond(admin, survey, reason=f"day {day:02d}", started_at=f"2026-03-{day:02d}T10:00Z")
    client = signed_in(admin)
    first = client.get(reverse("response_list"), {"band": "nps_promoter"})
    html = first.content.decode()
    assert "day 27" in html
    assert "day 02" not in html
    cursor = first.context["page"].next_cursor
    assert f"band=nps_promoter&amp;cursor={cursor}" in html  # the filters travel along
    rest = client.get(reverse("response_list"), {"band": "nps_promoter", "cursor": cursor},
                      HTTP_HX_REQUEST="true")
    rows = rest.content.decode()
    assert "<h1" not in rows
    assert "day 01" in rows
    assert "day 03" not in rows


def test_visitors_must_sign_in(org):
    for name in ("response_list", "response_export"):
        response = Client().get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_number_of_queries_does_not_grow_with_the_rows(admin, survey):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert page(admin).status_code == 200
        return len(captured)

    respond(admin, survey, reason="first", email="a@example.com")
    few = queries()
    for i in range(8):
        respond(admin, survey, reason=f"more {i}", email=f"m{i}@example.com")
    assert queries() == few
