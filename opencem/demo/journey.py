"""The demo company's retail journey map, mapped onto the interactions and surveys the demo
loads: from a campaign or a browse to buying in store or online, delivery or collection,
help when something goes wrong, and the relationship that brings customers back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User

from opencem.accounts.selectors import scope_for_user
from opencem.demo import company as co
from opencem.journeys.schemas import JourneyDoc
from opencem.journeys.selectors import journeys_visible
from opencem.journeys.services import journey_import

if TYPE_CHECKING:
    from opencem.journeys.models import Journey

NAME = "Home shopper"


def _tp(name: str, owner: str, rule: dict[str, Any], *, metric: str = "csat",
        target: float = 80, desired: str, importance: float = 1,
        channel: str | None = None) -> dict[str, Any]:
    return {"name": name, "channel": channel, "owner_unit": owner, "rule": rule,
            "metric": metric, "target": target, "desired": desired, "importance": importance}


JOURNEY: dict[str, Any] = {
    "name": NAME, "unit": co.COMPANY_CODE, "persona": "Home-and-living shopper",
    "description": "How a retail customer finds, buys, receives and gets help with what they "
                   "bought from Kestrel Lane, and whether they come back.",
    "stages": [
        {"name": "Discover", "touchpoints": [
            _tp("Campaign", co.MARKETING, {"channels": ["campaign"]}, channel="campaign",
                desired="An offer that fits what I need, not spam"),
            _tp("Browse web and app", co.WEB, {"kinds": ["session"]}, channel="web",
                desired="I find the product and whether it is in stock quickly"),
            _tp("Store visit", co.COMPANY_CODE, {"kinds": ["visit"], "channels": ["store"]},
                channel="store", desired="Inspiring stores with staff at hand"),
        ]},
        {"name": "Buy", "touchpoints": [
            _tp("Store checkout", co.COMPANY_CODE,
                {"kinds": ["purchase"], "channels": ["store"]}, channel="store", target=80,
                importance=3, desired="Everything in stock and paid for without queueing"),
            _tp("Online order", co.WEB, {"kinds": ["order"]}, channel="web", importance=2,
                desired="Checkout in a minute with a clear delivery date"),
        ]},
        {"name": "Receive", "touchpoints": [
            _tp("Home delivery", co.FLEET, {"kinds": ["delivery"]}, channel="delivery",
                target=85, importance=3,
                desired="Arrives undamaged on the day promised, first time"),
            _tp("Click and collect", co.COMPANY_CODE, {"kinds": ["click_collect"]},
                channel="store", target=85, importance=2,
                desired="Ready when promised and handed over in minutes"),
        ]},
        {"name": "Use", "touchpoints": [
            _tp("Social mention", co.SOCIAL, {"kinds": ["mention", "direct_message"]},
                channel="social", desired="Proud to show what I bought"),
        ]},
        {"name": "Get help", "touchpoints": [
            _tp("Support call", co.CALL_CENTRE, {"kinds": ["call"]}, channel="call_centre",
                target=75, importance=2, desired="Solved in one call without a long wait"),
            _tp("Chat or email", co.CALL_CENTRE, {"kinds": ["chat", "email"]}, channel="chat",
                metric="ces", target=5.5, importance=2,
                desired="Easy: one answer, no chasing"),
            _tp("Store refund", co.COMPANY_CODE, {"kinds": ["refund"], "channels": ["store"]},
                channel="store", target=75, importance=2,
                desired="Refunded on the spot without arguing"),
        ]},
        {"name": "Renew", "touchpoints": [
            _tp("Relationship", co.COMPANY_CODE, {"touchpoints": ["relationship"]},
                metric="nps", target=20, importance=2,
                desired="I would recommend Kestrel Lane to a friend"),
            _tp("Loyalty sign-up", co.COMPANY_CODE, {"kinds": ["loyalty_signup"]},
                channel="store", desired="Joining is worth it from the first visit"),
        ]},
    ],
}


def journey_ensure(*, designer: User) -> Journey:
    """The demo's retail journey map, imported by the designer when it is not there yet."""
    scope = scope_for_user(designer)
    found = journeys_visible(scope=scope).filter(name=NAME, unit__code=co.COMPANY_CODE).first()
    if found is not None:
        return found
    return journey_import(scope=scope, document=JourneyDoc.model_validate(JOURNEY))
