"""What Kestrel Lane's customers write: a phrase bank by theme, in praise and in complaint.

Comments are put together from sentences about the themes an experience really had (a long
queue, a late parcel, a slow refund), so text analytics has true answers to find. A few
customers write in French, German or Spanish, and now and then someone leaves an email
address or a phone number in the text, as real customers do, for redaction to catch.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

# Themes customers talk about; the same names are used for the experiences in ``voice``.
WAIT = "wait"          # queues, waiting on the phone or for a reply
STAFF = "staff"        # friendliness and helpfulness of people
STOCK = "stock"        # availability, orders not ready
DELIVERY = "delivery"  # on time or late
DAMAGE = "damage"      # the state the parcel arrived in
REFUND = "refund"      # returns and how fast the money comes back
DIGITAL = "digital"    # website and app usability
PRICE = "price"        # price and value
QUALITY = "quality"    # product quality
THEMES = (WAIT, STAFF, STOCK, DELIVERY, DAMAGE, REFUND, DIGITAL, PRICE, QUALITY)

ITEMS = ("sofa", "rug", "table lamp", "duvet", "set of cushions", "bookcase", "mirror",
         "bed frame", "pair of curtains", "set of dining chairs", "kettle", "towel bale",
         "wardrobe", "coffee table", "bedside table", "dinner set", "desk chair", "throw")
STAFF_NAMES = ("Hannah", "Josh", "Priya", "Mark", "Leanne", "Tom", "Aisha", "Gary", "Sophie",
               "Daniel", "Megan", "Kwame", "Beth", "Ollie")

# Where the customer met the company: a sentence tagged "S|" fits only a store visit, "P|"
# only a phone call, "W|" only a chat or email ("PW|" both); untagged ones fit anywhere.
STORE, PHONE, WRITING = "S", "P", "W"

# English sentences by theme and tone (True praises, False complains). Slots: {town},
# {minutes}, {days}, {partner}, {item}, {staff}, {order}, {email}, {phone}.
EN: dict[str, dict[bool, tuple[str, ...]]] = {
    WAIT: {
        True: (
            "S|No queue at all, in and out in five minutes.",
            "S|Tills were quick even though the shop was busy.",
            "S|They opened another till as soon as a queue formed.",
            "P|Got through to someone almost straight away.",
            "Didn't have to wait, which made a nice change.",
            "Quick and painless, no hanging about.",
            "P|Answered within a minute, brilliant.",
            "W|Got a reply within the hour.",
        ),
        False: (
            "S|Queued for {minutes} minutes with only one till open.",
            "S|The queue was out the door and nobody opened another till.",
            "P|Waited {minutes} minutes on hold before anyone picked up.",
            "S|Far too long a wait, I nearly left my basket and walked out.",
            "S|Only one member of staff on the tills on a Saturday, ridiculous.",
            "P|The hold music is all I heard for {minutes} minutes.",
            "S|Waited ages to be served.",
            "S|Self-checkouts broken again so everyone queued for the one open till.",
            "P|I was on hold so long I gave up and tried the chat instead.",
            "W|It took {days} days to get a reply to a simple question.",
            "W|Sat in the chat queue for ages before anyone answered.",
        ),
    },
    STAFF: {
        True: (
            "S|{staff} on the shop floor was really helpful and found exactly what I needed.",
            "S|Staff were friendly and knew the products.",
            "S|The lady at the till was lovely.",
            "{staff} went out of their way to help, please pass on my thanks.",
            "P|Really polite and patient on the phone.",
            "PW|The agent sorted everything in one go, great service.",
            "S|Helpful advice on which {item} would fit our room.",
            "S|Friendly team in the {town} store, always a pleasure.",
            "W|{staff} in the chat was quick and clear.",
        ),
        False: (
            "S|Staff were more interested in chatting to each other than helping customers.",
            "S|Couldn't find anyone to ask for help.",
            "P|The person on the phone was rude and kept talking over me.",
            "S|Nobody seemed to know anything about the products.",
            "PW|I was passed between three different people and had to explain everything "
            "again.",
            "S|The assistant rolled her eyes when I asked about a return.",
            "Felt like I was an inconvenience to them.",
            "P|Nobody called me back as promised.",
            "W|Got a copy-and-paste answer that didn't address my question.",
            "PW|Nothing was actually sorted out, I'll have to contact you again.",
        ),
    },
    STOCK: {
        True: (
            "S|Everything on my list was in stock.",
            "S|Good range and the shelves were well stocked.",
            "My order was ready and waiting when I arrived.",
            "S|Found the {item} I wanted straight away.",
        ),
        False: (
            "The {item} I came for was out of stock again.",
            "Website said it was in stock in {town} but the shelf was empty.",
            "S|Half the shelves were empty.",
            "My click and collect order wasn't ready when the email said it was.",
            "Third time I've come in for the {item} and it's still not in.",
            "They couldn't tell me when it would be back in stock.",
        ),
    },
    DELIVERY: {
        True: (
            "Delivered on time and the driver was very friendly.",
            "Arrived the next day as promised.",
            "The tracking was accurate and the delivery slot was kept.",
            "Delivery was quick and the driver put it exactly where I asked.",
            "Came earlier than expected, great.",
            "The driver carried the {item} inside for us, very helpful.",
        ),
        False: (
            "My parcel arrived {days} days late with no explanation.",
            "{partner} said delivered but nothing came, it turned up two days later.",
            "Took a day off work to wait in and the delivery never came.",
            "Tracking said out for delivery for three days running.",
            "The courier left a card without even knocking.",
            "Still waiting for my {item}, {days} days after the promised date.",
            "Delivery date kept moving and nobody could tell me why.",
            "Late again. Why do you still use {partner}?",
        ),
    },
    DAMAGE: {
        True: (
            "Well packed and arrived in perfect condition.",
            "Not a scratch on it, really careful packaging.",
        ),
        False: (
            "The {item} arrived damaged, the box was crushed.",
            "Box was soaking wet and the {item} inside was scratched.",
            "Arrived broken. Had to send it straight back.",
            "The parcel looked like it had been kicked down the street.",
            "Part of the {item} snapped off in transit.",
        ),
    },
    REFUND: {
        True: (
            "Refund was processed the same day.",
            "The return was easy and the money was back in two days.",
            "No quibbles at all about the return.",
            "Exchanged without any fuss.",
        ),
        False: (
            "Still waiting for my refund after {days} days.",
            "Returned the {item} weeks ago and the refund hasn't appeared.",
            "The returns team keep promising to chase it and nothing happens.",
            "I had to contact you three times about the same refund.",
            "It shouldn't take this long to give people their money back.",
            "Refund took forever and I had to keep chasing.",
        ),
    },
    DIGITAL: {
        True: (
            "The app is easy to use and checkout was quick.",
            "Website was easy to find my way around.",
            "Love being able to check stock in the app before going in.",
            "Ordering online took two minutes.",
        ),
        False: (
            "The website kept logging me out at checkout.",
            "The app crashed twice while I was paying.",
            "Couldn't apply my discount code on the website.",
            "Search on the website is useless, it never finds what I type.",
            "Had to reset my password three times to get into my account.",
            "The app says items are available when they're not.",
            "W|The chatbot went round in circles and never passed me to a person.",
        ),
    },
    PRICE: {
        True: (
            "Good value for money.",
            "Prices are fair and the sale was genuinely good.",
            "Great prices compared to other shops.",
            "Loyalty points make it worth it.",
        ),
        False: (
            "Prices have gone up a lot this year.",
            "Too expensive for what you get.",
            "S|The promotion price didn't go through at the till.",
            "Charged full price even though it was on offer.",
        ),
    },
    QUALITY: {
        True: (
            "The {item} is lovely quality.",
            "Really happy with the quality of the {item}.",
            "Good quality products that last.",
            "The {item} looks even better than in the pictures.",
        ),
        False: (
            "The {item} fell apart after a few weeks.",
            "Poor quality, the {item} was faulty out of the box.",
            "Stitching on the {item} came undone within a month.",
            "Quality has really gone downhill.",
            "The {item} looked nothing like the photos.",
        ),
    },
}

# A smaller bank for the customers who write in French, German or Spanish. Themes missing
# here fall back to the language's general sentences.
OTHER: dict[str, dict[str, dict[bool, tuple[str, ...]]]] = {
    "fr": {
        WAIT: {True: ("Aucune attente en caisse, très rapide.",),
               False: ("J'ai attendu {minutes} minutes à la caisse, une seule caisse ouverte.",
                       "Beaucoup trop d'attente au téléphone.")},
        STAFF: {True: ("Le personnel était très aimable et serviable.",),
                False: ("Personne pour nous renseigner dans le magasin.",
                        "Le conseiller au téléphone était désagréable.")},
        STOCK: {False: ("Le produit que je voulais était encore en rupture de stock.",)},
        DELIVERY: {True: ("Livraison à l'heure, rien à redire.",),
                   False: ("Mon colis est arrivé avec {days} jours de retard.",
                           "Le livreur {partner} n'est jamais passé.")},
        DAMAGE: {False: ("Le colis est arrivé abîmé.",)},
        REFUND: {False: ("J'attends toujours mon remboursement.",)},
        QUALITY: {True: ("Très bonne qualité.",), False: ("Produit de mauvaise qualité.",)},
        PRICE: {True: ("Bon rapport qualité-prix.",), False: ("Trop cher pour ce que c'est.",)},
        "": {True: ("Très bonne expérience, merci.",),
             False: ("Très déçu, je ne reviendrai pas.",)},
    },
    "de": {
        WAIT: {True: ("Keine Wartezeit an der Kasse.",),
               False: ("Ich habe {minutes} Minuten an der Kasse gewartet.",
                       "Viel zu lange Warteschleife am Telefon.")},
        STAFF: {True: ("Sehr freundliches und hilfsbereites Personal.",),
                False: ("Das Personal war unfreundlich und desinteressiert.",)},
        STOCK: {False: ("Der Artikel war schon wieder nicht vorrätig.",)},
        DELIVERY: {True: ("Pünktlich geliefert, sehr zufrieden.",),
                   False: ("Das Paket kam {days} Tage zu spät.",
                           "{partner} hat das Paket als zugestellt markiert, es kam aber nie an.")},
        DAMAGE: {False: ("Die Ware kam beschädigt an.",)},
        REFUND: {False: ("Ich warte immer noch auf meine Rückerstattung.",)},
        QUALITY: {True: ("Die Qualität ist sehr gut.",),
                  False: ("Schlechte Qualität, nach kurzer Zeit kaputt.",)},
        PRICE: {True: ("Gutes Preis-Leistungs-Verhältnis.",), False: ("Zu teuer.",)},
        "": {True: ("Alles bestens, vielen Dank.",), False: ("Sehr enttäuscht.",)},
    },
    "es": {
        WAIT: {True: ("No tuve que esperar nada.",),
               False: ("Esperé {minutes} minutos en la cola.",
                       "Demasiado tiempo de espera al teléfono.")},
        STAFF: {True: ("El personal fue muy amable.",),
                False: ("Nadie me atendió en la tienda.",)},
        STOCK: {False: ("El producto estaba agotado otra vez.",)},
        DELIVERY: {True: ("Entrega puntual, todo perfecto.",),
                   False: ("El pedido llegó con {days} días de retraso.",
                           "El repartidor de {partner} nunca vino.")},
        DAMAGE: {False: ("El paquete llegó dañado.",)},
        REFUND: {False: ("Todavía estoy esperando el reembolso.",)},
        QUALITY: {True: ("Muy buena calidad.",), False: ("La calidad es muy mala.",)},
        PRICE: {True: ("Buena relación calidad-precio.",), False: ("Demasiado caro.",)},
        "": {True: ("Muy buena experiencia, gracias.",), False: ("Muy decepcionado.",)},
    },
}
LANGUAGES = ("fr", "de", "es")

OPENERS = {True: ("", "", "", "", "Really pleased. ", "Great experience. ", "Lovely. "),
           False: ("", "", "", "", "Not happy. ", "Disappointed. ", "Again! ",
                   "Not for the first time. ")}
CLOSERS = {True: ("", "", "", " Thank you!", " Will be back.", " Keep it up.",
                  " Would recommend."),
           False: ("", "", "", " Sort it out.", " Not good enough.",
                   " Thinking of shopping elsewhere.", " Really poor.")}
# Short review titles.
TITLES = {
    WAIT: {True: "Quick and easy", False: "Queues every time"},
    STAFF: {True: "Lovely staff", False: "Unhelpful staff"},
    STOCK: {True: "Well stocked", False: "Nothing in stock"},
    DELIVERY: {True: "Fast delivery", False: "Late delivery"},
    DAMAGE: {True: "Well packed", False: "Arrived damaged"},
    REFUND: {True: "Easy return", False: "Still waiting for refund"},
    DIGITAL: {True: "Easy to use app", False: "App keeps crashing"},
    PRICE: {True: "Good value", False: "Overpriced"},
    QUALITY: {True: "Great quality", False: "Poor quality"},
}
PII = (
    " You can reach me on {phone}.",
    " My email is {email} if you need it.",
    " Call me on {phone} please.",
    " Please reply to {email}.",
    " My number is {phone}, I am in most evenings.",
)


# Social posts by topic and tone; the delivery ones name the partner when it was theirs.
POSTS = {
    ("delivery", "negative"): (
        "@KestrelLane ordered a {item} {days} days ago and it's still not here. {partner} "
        "tracking hasn't moved since Tuesday",
        "Thanks @KestrelLane and {partner} for losing my parcel. Again.",
        "Is anyone else's @KestrelLane order stuck with {partner}? Mine is {days} days late",
        "Took a day off for a @KestrelLane delivery. {partner} never turned up. Brilliant.",
        "{partner} left my @KestrelLane parcel on the doorstep in the rain. {item} soaked.",
        "@KestrelLane your delivery partner is a joke. {days} days late and no updates #fail",
    ),
    ("product", "positive"): (
        "Love my new {item} from @KestrelLane, looks amazing in the lounge",
        "@KestrelLane sale haul! So happy with the {item}",
        "Shout out to {staff} at @KestrelLane {town}, so helpful today",
        "New {item} from @KestrelLane arrived and it's gorgeous",
    ),
    ("product", "neutral"): (
        "Anyone tried the {item} from @KestrelLane? Worth the money?",
        "Popped into @KestrelLane {town} for a browse",
        "@KestrelLane when is the {item} back in stock?",
        "Deciding between two rugs from @KestrelLane, help",
    ),
    ("product", "negative"): (
        "@KestrelLane {item} broke after a month. Not impressed.",
        "Empty shelves at @KestrelLane {town} again. What's going on?",
        "Queued {minutes} minutes at @KestrelLane {town} with one till open. Never again",
        "@KestrelLane prices have gone right up this year",
    ),
}
# Complaints: what went wrong, in the formal register people use when they complain.
COMPLAINT_OPENINGS = {
    WAIT: "I am writing to complain about how long it takes to get any help from you.",
    STAFF: "I want to complain about the way I was treated by your staff.",
    STOCK: "I am unhappy that my order was not available as promised.",
    DELIVERY: "I am writing to complain about the delivery of my order {order}.",
    DAMAGE: "My order {order} arrived damaged and I want this resolved.",
    REFUND: "I am complaining about the refund for my return, which still has not arrived.",
    DIGITAL: "Your website and app have made it impossible to sort out my account.",
    PRICE: "I was charged the wrong price and want the difference back.",
    QUALITY: "The {item} I bought from you is faulty and I am very disappointed.",
}
COMPLAINT_IN_STORE = {
    WAIT: "I want to complain about the queues in your {town} store.",
    STAFF: "I want to complain about the way I was treated in your {town} store.",
    STOCK: "I am fed up with your {town} store never having what I need.",
}
COMPLAINT_ASKS = (
    "I expect a full refund.",
    "Please call me back, nobody has so far.",
    "I would like a replacement delivered this week.",
    "I want to know what you will do about this.",
    "This is the second time I have had to write.",
)
# Chat transcripts by contact reason: (speaker, line). "bot" lines come from the assistant.
CHATS: dict[str, tuple[tuple[str, str], ...]] = {
    "where_is_my_order": (
        ("customer", "Hi, my order {order} should have come {days} days ago. Where is it?"),
        ("agent", "I'm sorry about that. I can see it is with {partner}; let me chase it."),
        ("customer", "This is the second time this has happened."),
        ("agent", "I understand. I've raised it with the courier and you'll get an update "
                  "by tomorrow."),
    ),
    "order_change": (
        ("customer", "Can I change the delivery address on order {order}?"),
        ("agent", "Yes, as long as it hasn't been dispatched. What's the new address?"),
        ("customer", "Same street, number 14 instead of 41. Typo, sorry!"),
        ("agent", "Done, that's updated for you."),
    ),
    "product_question": (
        ("customer", "Does the {item} come assembled?"),
        ("agent", "It comes flat-packed with instructions; assembly takes about an hour."),
        ("customer", "OK thanks, and is it in stock in {town}?"),
        ("agent", "Yes, there are three in {town} at the moment."),
    ),
    "return_request": (
        ("customer", "I'd like to return a {item}, it isn't what I expected."),
        ("agent", "No problem. You can bring it to any store or book a collection."),
        ("customer", "How long does the refund take?"),
        ("agent", "Usually 3 to 5 working days once we receive it."),
    ),
    "refund_status": (
        ("customer", "I returned my {item} {days} days ago and still no refund."),
        ("agent", "Sorry for the wait. The returns team is behind at the moment."),
        ("customer", "That's not really good enough."),
        ("agent", "I've escalated it and marked it urgent."),
    ),
    "complaint": (
        ("customer", "I want to make a complaint about my order {order}."),
        ("agent", "I'm sorry to hear that. Can you tell me what happened?"),
        ("customer", "It arrived damaged and nobody has replied to my emails."),
        ("agent", "I'll log this as a complaint and a manager will call you within two days."),
    ),
    "points_query": (
        ("customer", "My points from last week's purchase haven't appeared."),
        ("agent", "They can take up to 48 hours. I can add them manually now."),
        ("customer", "Great, thanks."),
    ),
    "account_access": (
        ("customer", "I can't log in, the reset email never arrives."),
        ("agent", "Let me check the address on your account."),
        ("customer", "It's {email}"),
        ("agent", "I've sent a new link; please check your spam folder too."),
    ),
}
BOT_LINES = (
    "Hi! I'm the Kestrel Lane assistant. How can I help?",
    "I can help with orders, returns and your account. What do you need?",
)


def _format(template: str, slots: Mapping[str, str]) -> str:
    return template.format_map(dict(slots))


def _fits(template: str, context: str, slots: Mapping[str, str]) -> bool:
    tags, bar, _ = template.partition("|")
    if bar and context and context not in tags:
        return False
    return "{partner}" not in template or bool(slots.get("partner"))  # the own fleet: no name


def sentences(rng: random.Random, themes: list[tuple[str, bool]], slots: Mapping[str, str],
              language: str = "en", context: str = "") -> list[str]:
    """One sentence per theme, in the language asked for (English where it has none),
    fitting where the contact happened (``STORE``, ``PHONE``, ``WRITING``; "" anywhere)."""
    out: list[str] = []
    for theme, praise in themes:
        if language in OTHER:
            bank = OTHER[language]
            options = bank.get(theme, {}).get(praise) or bank[""][praise]
        else:
            options = EN[theme][praise]
        options = tuple(o for o in options if _fits(o, context, slots)) or options
        template = rng.choice(options)
        _, bar, text = template.partition("|")
        sentence = _format(text if bar else template, slots)
        if sentence not in out:
            out.append(sentence)
    return out


def comment(rng: random.Random, themes: list[tuple[str, bool]], slots: Mapping[str, str], *,
            language: str = "en", context: str = "", pii: bool = False) -> str:
    """A free-text comment about ``themes``; the first theme sets the tone of the framing."""
    body = sentences(rng, themes, slots, language, context)
    praise = themes[0][1] if themes else True
    if language == "en":
        text = rng.choice(OPENERS[praise]) + " ".join(body) + rng.choice(CLOSERS[praise])
        roll = rng.random()
        if roll < 0.06:
            text = text.lower()  # typed on a phone
        elif roll < 0.1:
            text = text.rstrip(".") + ("!!" if not praise else "!")
    else:
        text = " ".join(body)
    if pii:
        text += _format(rng.choice(PII), slots)
    return text.strip()


def title(theme: str, praise: bool) -> str:
    return TITLES[theme][praise]


def phone_as_written(e164: str) -> str:
    """A UK number the way people type it: ``07700 900123``."""
    return "0" + e164[3:7] + " " + e164[7:] if e164.startswith("+44") else e164


def post(rng: random.Random, topic: str, tone: str, slots: Mapping[str, str]) -> str:
    """A social post about the company."""
    options = POSTS.get((topic, tone)) or POSTS[("product", tone)]
    if not slots.get("partner"):
        options = tuple(o for o in options if "{partner}" not in o) or POSTS[("product", tone)]
    return _format(rng.choice(options), slots)


def complaint(rng: random.Random, theme: str, slots: Mapping[str, str], *,
              language: str = "en", context: str = "", pii: bool = False) -> str:
    """A written complaint: what went wrong, what followed, what the customer wants."""
    if language != "en":
        return comment(rng, [(theme, False)], slots, language=language, pii=pii)
    opening = (context == STORE and COMPLAINT_IN_STORE.get(theme)) or COMPLAINT_OPENINGS[theme]
    parts = [_format(opening, slots), *sentences(rng, [(theme, False)], slots, context=context),
             rng.choice(COMPLAINT_ASKS)]
    if pii:
        parts.append(_format(rng.choice(PII), slots).strip())
    return " ".join(parts)


def transcript(rng: random.Random, reason: str, slots: Mapping[str, str], *,
               bot: bool) -> str:
    """A chat transcript, one ``Speaker: line`` per message."""
    slots = {**slots, "partner": slots.get("partner") or "our delivery team"}
    lines = [f"Assistant: {rng.choice(BOT_LINES)}"] if bot else []
    for speaker, line in CHATS.get(reason, CHATS["product_question"]):
        who = "Customer" if speaker == "customer" else ("Assistant" if bot else "Agent")
        lines.append(f"{who}: {_format(line, slots)}")
    return "\n".join(lines)
