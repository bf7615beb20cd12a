"""Outbound webhooks against a local receiver that checks every signature with the
independent ``standardwebhooks`` implementation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from opencem.closedloop.tests.factories import make_rule, make_survey, relay, respond
from opencem.integrations.models import Delivery, WebhookEndpoint
from opencem.integrations.services import RETRY_SCHEDULE, deliveries_send_due

pytestmark = pytest.mark.django_db


class Receiver:
    """A local HTTP server that keeps what it gets and answers with the statuses queued."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body})
                status = receiver.answers.pop(0) if receiver.answers else 204
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("location", "/elsewhere")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks?team=cx"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every request's JSON, each verified against ``secret`` (raises when one fails)."""
        hook = Webhook(secret)
        return [hook.verify(r["body"], {k.lower(): v for k, v in r["headers"].items()})
                for r in self.requests]


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.OPENCEM_WEBHOOKS_ALLOW_LOOPBACK = True
    found = Receiver()
    yield found
    found.server.shutdown()


def _endpoint(admin, url: str, topics: list[str]) -> dict[str, Any]:
    answer = admin.api().post_json("/api/v1/webhooks", {"name": "Chat", "url": url,
                                                       "topics": topics})
    assert answer.status_code == 201, answer.content
    return dict(answer.json())


def test_a_detractor_is_announced_signed_to_a_subscribed_endpoint(org, admin, manager_a,
                                                                 receiver):
    endpoint = _endpoint(admin, receiver.url, ["response.completed", "case.created",
                                               "alert.fired"])
    make_rule(unit=org.company, actions=("case", "webhook"))
    survey = make_survey(unit=org.company)
    respond(admin.api(), survey.pk, nps=2)
    relay()
    deliveries_send_due()
    bodies = receiver.verified(endpoint["secret"])
    assert sorted(b["type"] for b in bodies) == ["alert.fired", "case.created",
                                                 "response.completed"]
    assert {r["path"] for r in receiver.requests} == {"/hooks?team=cx"}
    case = next(b for b in bodies if b["type"] == "case.created")["data"]
    assert case["owner_id"] == manager_a.user.pk
    assert Delivery.objects.filter(status="succeeded").count() == 3
    # Sent once: the sweeper finds nothing more to do.
    assert deliveries_send_due() == 0
    assert len(receiver.requests) == 3
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(receiver.requests[0]["body"],
                                            {k.lower(): v for k, v in
                                             receiver.requests[0]["headers"].items()})


def test_failures_back_off_and_give_up_after_at_least_72_hours(org, admin, receiver):
    _endpoint(admin, receiver.url, ["response.completed"])
    survey = make_survey(unit=org.company)
    receiver.answers = [500] * 20
    respond(admin.api(), survey.pk, nps=9)
    relay()
    now = timezone.now()
    deliveries_send_due(now=now)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at == now + timedelta(seconds=RETRY_SCHEDULE[0])
    assert deliveries_send_due(now=now) == 0  # not due yet
    at = now
    while delivery.status == "pending":
        at = delivery.next_attempt_at
        deliveries_send_due(now=at)
        delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert at - now >= timedelta(hours=72)
    assert len(receiver.requests) == len(RETRY_SCHEDULE) + 1


def test_410_turns_the_endpoint_off(org, admin, receiver):
    endpoint = _endpoint(admin, receiver.url, ["response.completed"])
    survey = make_survey(unit=org.company)
    receiver.answers = [410]
    respond(admin.api(), survey.pk, nps=9)
    relay()
    deliveries_send_due()
    found = WebhookEndpoint.objects.get(pk=endpoint["id"])
    assert not found.active
    assert "410" in found.disabled_reason
    assert Delivery.objects.get().status == "failed"
    respond(admin.api(), survey.pk, nps=9, email="b@x.test")
    relay()
    assert Delivery.objects.count() == 1  # nothing more for a disabled endpoint


def test_redirects_are_not_followed(org, admin, receiver):
    _endpoint(admin, receiver.url, ["response.completed"])
    receiver.answers = [302]
    respond(admin.api(), make_survey(unit=org.company).pk, nps=9)
    relay()
    deliveries_send_due()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert "redirects are not followed" in delivery.last_error
    assert [r["path"] for r in receiver.requests] == ["/hooks?team=cx"]


def test_a_rotated_secret_signs_alongside_the_old_one_for_a_day(org, admin, receiver):
    endpoint = _endpoint(admin, receiver.url, ["response.completed"])
    rotated = admin.api().post_json(f"/api/v1/webhooks/{endpoint['id']}/rotate-secret", {})
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint["secret"]
    respond(admin.api(), make_survey(unit=org.company).pk, nps=9)
    relay()
    deliveries_send_due()
    assert len(receiver.verified(endpoint["secret"])) == 1
    assert len(receiver.verified(new_secret)) == 1
    assert len(receiver.requests[0]["headers"]["webhook-signature"].split(" ")) == 2


def test_redelivery_by_hand_sends_the_same_message_again(org, admin, receiver, client):
    endpoint = _endpoint(admin, receiver.url, ["response.completed"])
    respond(admin.api(), make_survey(unit=org.company).pk, nps=9)
    relay()
    deliveries_send_due()
    delivery = Delivery.objects.get()
    client.force_login(admin.user)
    page = client.get(f"/integrations/webhooks/{endpoint['id']}/")
    assert page.status_code == 200
    assert delivery.message_id in page.content.decode()
    assert client.post(f"/integrations/deliveries/{delivery.pk}/redeliver").status_code == 302
    assert len(receiver.requests) == 2
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert ids == {delivery.message_id}
    log = admin.api().get(f"/api/v1/webhooks/{endpoint['id']}/deliveries").json()
    assert [t["manual"] for t in log[0]["tries"]] == [True, False]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/x", "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/",
    "http://127.1/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://10.0.0.1/",
    "http://192.168.1.1/", "http://172.16.0.1/", "http://100.64.0.1/", "http://0.0.0.0/",
    "http://localhost:8000/", "http://224.0.0.1/", "ftp://example.com/", "http://u:p@8.8.8.8/",
])
def test_internal_addresses_are_refused_in_every_notation(admin, url):
    answer = admin.api().post_json("/api/v1/webhooks", {"name": "x", "url": url,
                                                       "topics": ["case.created"]})
    assert answer.status_code == 422, (url, answer.content)
    assert answer.json()["error"]["errors"][0]["field"] == "url"
    assert WebhookEndpoint.objects.count() == 0


def test_an_address_that_turned_internal_is_refused_when_sent(org, admin, receiver, settings):
    _endpoint(admin, receiver.url, ["response.completed"])
    settings.OPENCEM_WEBHOOKS_ALLOW_LOOPBACK = False
    respond(admin.api(), make_survey(unit=org.company).pk, nps=9)
    relay()
    deliveries_send_due()
    delivery = Delivery.objects.get()
    assert delivery.status == "pending"
    assert "public internet address" in delivery.last_error
    assert receiver.requests == []


def test_only_organisation_admins_manage_webhooks(manager_a, client):
    assert manager_a.api().get("/api/v1/webhooks").status_code == 403
    client.force_login(manager_a.user)
    assert client.get("/integrations/webhooks/").status_code == 403


def test_the_webhook_page_adds_an_endpoint_and_refuses_a_private_one(admin, client, receiver):
    client.force_login(admin.user)
    refused = client.post("/integrations/webhooks/", {"name": "x", "url": "http://10.1.2.3/",
                                                      "topics": ["case.created"],
                                                      "active": "on"})
    assert refused.status_code == 422
    assert "public internet address" in refused.content.decode()
    made = client.post("/integrations/webhooks/", {"name": "Chat <b>", "url": receiver.url,
                                                   "topics": ["case.created"], "active": "on"})
    assert made.status_code == 302
    page = client.get(made["Location"]).content.decode()
    assert "Chat &lt;b&gt;" in page
    assert WebhookEndpoint.objects.get().secret in page
