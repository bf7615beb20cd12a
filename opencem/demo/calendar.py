"""When things happen: the two-year window, seasonality, weekly rhythm and hours of the day.

Retail has a strong shape: a Black Friday and Christmas peak, a summer sale, a January sale
and a quiet February; stores fill up at weekends while the call centre is busiest on Monday.
Days are sampled from cumulative weights, so one draw costs one binary search.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from itertools import accumulate
from zoneinfo import ZoneInfo

# The company trades in one country; local hours (opening times, evening browsing) are
# generated in its zone and stored as aware datetimes, independent of the server's TIME_ZONE.
ZONE = ZoneInfo("Europe/London")
WINDOW_DAYS = 730


class Pattern(Enum):
    """A weekly and seasonal rhythm shared by several kinds of contact."""

    STORE = "store"
    ONLINE = "online"
    SERVICE = "service"


# Monday first.
_WEEKDAY = {
    Pattern.STORE: (0.8, 0.8, 0.85, 0.95, 1.15, 1.6, 1.25),
    Pattern.ONLINE: (1.15, 1.0, 0.95, 0.95, 0.9, 0.9, 1.2),
    Pattern.SERVICE: (1.45, 1.2, 1.1, 1.0, 0.95, 0.45, 0.25),
}
# Relative weight of each local hour 0..23.
_HOURS = {
    Pattern.STORE: (0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 6, 8, 10, 10, 9, 9, 9, 8, 6, 4, 2, 0, 0, 0),
    Pattern.ONLINE: (2, 1, 1, 0.5, 0.5, 0.5, 1, 2, 4, 5, 5, 5, 6, 6, 5, 5, 5, 6, 7, 9, 11, 11,
                     8, 4),
    Pattern.SERVICE: (0, 0, 0, 0, 0, 0, 0, 0, 7, 10, 10, 9, 8, 8, 8, 7, 6, 5, 4, 3, 0, 0, 0, 0),
}


def black_friday(year: int) -> date:
    """The fourth Friday of November."""
    first = date(year, 11, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 21)


def _special(day: date, pattern: Pattern) -> float | None:
    """The days that break the seasonal curve: closures, Black Friday, Cyber Monday."""
    if pattern is Pattern.STORE and (day.month, day.day) in ((12, 25), (1, 1)):
        return 0.0  # stores are shut
    bf = black_friday(day.year)
    if day == bf:
        return {Pattern.STORE: 2.4, Pattern.ONLINE: 3.2, Pattern.SERVICE: 1.6}[pattern]
    if day == bf + timedelta(days=3):  # Cyber Monday
        return {Pattern.STORE: 1.2, Pattern.ONLINE: 2.4, Pattern.SERVICE: 1.8}[pattern]
    return None


def season(day: date, pattern: Pattern) -> float:
    """How busy ``day`` is relative to an ordinary day, for one rhythm."""
    special = _special(day, pattern)
    if special is not None:
        return special
    month, dom = day.month, day.day
    if pattern is Pattern.SERVICE:
        # Contacts follow orders by a week or two: the queue peaks in December and stays
        # high through the January returns.
        if month == 12 or (month == 1 and dom <= 20):
            return 1.6
        if month == 11 and dom >= 15:
            return 1.3
    if month == 12:
        if dom <= 23:
            return 1.5 + 0.5 * dom / 23
        return 0.6 if dom in (24, 25) else 1.6  # Christmas Eve, Day; then the Boxing Day sale
    if month == 11:
        return 1.1 + 0.4 * dom / 30
    if month == 1:
        return 1.3 if dom <= 14 else 0.8
    if month == 2:
        return 0.8
    if (month == 6 and dom >= 20) or month == 7:
        return 1.3  # summer sale
    if month == 8:
        return 0.9
    return 1.0


@dataclass(frozen=True)
class Window:
    """Day 0 .. WINDOW_DAYS-1 of the two years that end on ``until`` (inclusive)."""

    until: date
    start: date = field(init=False)
    _cum: dict[Pattern, list[float]] = field(init=False, repr=False, compare=False)
    _hour_cum: dict[Pattern, list[float]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        start = self.until - timedelta(days=WINDOW_DAYS - 1)
        object.__setattr__(self, "start", start)
        cum: dict[Pattern, list[float]] = {}
        for pattern in Pattern:
            weights = []
            for offset in range(WINDOW_DAYS):
                day = start + timedelta(days=offset)
                trend = 1 + 0.08 * offset / 365  # the business grows a little each year
                weights.append(season(day, pattern) * _WEEKDAY[pattern][day.weekday()] * trend)
            cum[pattern] = list(accumulate(weights))
        object.__setattr__(self, "_cum", cum)
        object.__setattr__(self, "_hour_cum",
                           {p: list(accumulate(h)) for p, h in _HOURS.items()})

    def day(self, offset: int) -> date:
        return self.start + timedelta(days=offset)

    def load(self, offset: int, pattern: Pattern) -> float:
        """How busy a day is (season x weekday), e.g. to lengthen queues on peak days."""
        day = self.day(offset)
        return season(day, pattern) * _WEEKDAY[pattern][day.weekday()]

    def sample_day(self, rng: random.Random, pattern: Pattern, lo: int, hi: int) -> int:
        """A day in ``lo..hi`` (inclusive), drawn by the rhythm's weights."""
        cum = self._cum[pattern]
        below = cum[lo - 1] if lo > 0 else 0.0
        target = below + rng.random() * (cum[hi] - below)
        return min(max(bisect_left(cum, target, lo, hi + 1), lo), hi)

    def at(self, rng: random.Random, pattern: Pattern, offset: int) -> datetime:
        """A moment on day ``offset`` at an hour typical of the rhythm."""
        hour = bisect_left(self._hour_cum[pattern], rng.random() * self._hour_cum[pattern][-1])
        moment = time(min(hour, 23), rng.randrange(60), rng.randrange(60))
        return datetime.combine(self.day(offset), moment, tzinfo=ZONE)

    def later(self, rng: random.Random, pattern: Pattern, when: datetime, days: int) -> datetime:
        """A moment ``days`` whole days after ``when``, at a typical hour of that day."""
        return self.at(rng, pattern, (when.date() - self.start).days + days)


@dataclass(frozen=True)
class Campaign:
    """A marketing send: a code, its day in the window and its channel kind."""

    code: str
    offset: int
    kind: str


_CAMPAIGNS = (
    (1, 6, "new-year-sale", "campaign_email"), (2, 10, "spring-home-refresh", "campaign_email"),
    (3, 15, "garden-living", "campaign_push"), (4, 20, "easter-offers", "campaign_email"),
    (5, 14, "loyalty-double-points", "campaign_push"), (6, 20, "summer-sale", "campaign_email"),
    (7, 15, "summer-sale-last-days", "campaign_push"), (8, 25, "back-to-uni", "campaign_email"),
    (9, 18, "autumn-collection", "campaign_email"), (10, 20, "cosy-nights-in", "campaign_push"),
    (11, 20, "black-friday-preview", "campaign_email"),
    (12, 3, "christmas-gift-guide", "campaign_email"),
    (12, 15, "last-delivery-dates", "campaign_push"),
)


def campaigns(window: Window) -> list[Campaign]:
    """Every campaign sent inside the window, in date order."""
    found: list[Campaign] = []
    for year in range(window.start.year, window.until.year + 1):
        for month, dom, name, kind in _CAMPAIGNS:
            offset = (date(year, month, dom) - window.start).days
            if 0 <= offset < WINDOW_DAYS:
                found.append(Campaign(f"{name}-{year}", offset, kind))
    return sorted(found, key=lambda c: c.offset)
