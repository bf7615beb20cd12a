"""The retail/service starter taxonomy that ships with the product (category > theme), with
phrase rules and exclusions. Loaded into the database by the app's first data migration and
used as is by ``opencem analyze`` when no database is involved."""

from __future__ import annotations

from opencem.textanalytics.nlp.themes import ThemeSpec

# category code, category label, [(theme code, label, phrases, exclusions)]
STARTER: list[tuple[str, str, list[tuple[str, str, list[str], list[str]]]]] = [
    ("staff", "Staff", [
        ("staff.friendliness", "Friendly, helpful staff",
         ["friendly", "helpful", "polite", "lovely staff", "welcoming", "rude", "unfriendly",
          "attitude", "courteous"], []),
        ("staff.knowledge", "Staff knowledge and advice",
         ["knowledgeable", "knew what", "advice", "expert*", "didn't know", "no idea",
          "clueless", "recommendation*"], []),
        ("staff.availability", "Staff availability",
         ["no staff", "no one around", "nobody around", "couldn't find anyone",
          "understaffed", "short staffed", "short-staffed"], []),
    ]),
    ("store", "Store", [
        ("store.queues", "Queues at the till",
         ["queue*", "till*", "checkout*", "self-checkout", "self checkout", "line was"],
         ["phone queue", "on hold"]),
        ("store.cleanliness", "Cleanliness and tidiness",
         ["clean", "dirty", "messy", "tidy", "untidy", "filthy", "smell*"], []),
        ("store.availability", "Product availability",
         ["out of stock", "in stock", "sold out", "empty shelves", "shelves", "availability",
          "didn't have", "couldn't find"], []),
        ("store.layout", "Store layout and parking",
         ["layout", "parking", "car park", "signage", "hard to find", "aisle*"], []),
    ]),
    ("delivery", "Delivery", [
        ("delivery.timeliness", "Delivery on time",
         ["late", "delay*", "on time", "arrived early", "arrived quickly", "never arrived",
          "hasn't arrived", "still waiting for", "delivery date", "slot"],
         ["late night", "late opening"]),
        ("delivery.damage", "Damaged or wrong items",
         ["damaged", "broken", "dented", "scratched", "wrong item", "missing item*",
          "missing part*", "faulty"], []),
        ("delivery.driver", "Delivery driver",
         ["driver", "courier", "left outside", "left at", "safe place", "doorstep"], []),
        ("delivery.tracking", "Tracking and updates",
         ["tracking", "track my", "updates", "kept me informed", "no update*", "notification*"],
         []),
    ]),
    ("service", "Customer service", [
        ("service.waiting", "Waiting to get through",
         ["on hold", "hold music", "phone queue", "get through", "waited ages", "waited for ages",
          "no answer", "couldn't get through"], []),
        ("service.resolution", "Problem solved",
         ["resolved", "sorted", "fixed", "solved", "not resolved", "still not sorted",
          "first time", "unresolved"], []),
        ("service.callback", "Call backs and follow-up",
         ["call back", "called back", "callback", "call me back", "never called",
          "follow up", "followed up", "chase*"], []),
        ("service.chat", "Chat and online help",
         ["chat", "chatbot", "bot", "live agent", "online help"], []),
    ]),
    ("returns", "Returns and refunds", [
        ("returns.refund", "Refunds",
         ["refund*", "money back", "reimburse*", "credit note"], []),
        ("returns.process", "Returns process",
         ["return*", "exchange*", "send it back", "returns label", "collection"],
         ["return visit", "return customer", "will return", "would return", "returning customer"]),
    ]),
    ("product", "Product", [
        ("product.quality", "Product quality",
         ["quality", "well made", "poorly made", "cheap", "flimsy", "sturdy", "fell apart",
          "durable", "comfortable", "uncomfortable"], ["cheaper", "cheap price"]),
        ("product.range", "Range and choice",
         ["range", "choice", "selection", "variety"], []),
    ]),
    ("price", "Price and value", [
        ("price.value", "Value for money",
         ["price*", "expensive", "value for money", "overpriced", "good value", "affordable",
          "cheaper", "cost*"], []),
        ("price.promotions", "Offers and promotions",
         ["offer*", "discount*", "promotion*", "voucher*", "coupon*", "sale", "loyalty points"],
         []),
        ("price.billing", "Billing and charges",
         ["charged", "charge*", "overcharged", "double charged", "invoice", "bill", "payment"],
         ["free of charge"]),
    ]),
    ("digital", "Website and app", [
        ("digital.usability", "Website and app ease of use",
         ["website", "web site", "app", "online", "log in", "login", "password", "crash*",
          "glitch*", "easy to use", "navigate"], []),
        ("digital.checkout", "Online checkout",
         ["basket", "checkout online", "payment failed", "promo code", "place an order",
          "order online"], []),
    ]),
]


def starter_themes() -> list[ThemeSpec]:
    """The starter taxonomy as matcher specs."""
    return [ThemeSpec(code, label, category_label, tuple(phrases), tuple(exclusions))
            for _, category_label, themes in STARTER
            for code, label, phrases, exclusions in themes]
