from __future__ import annotations

from datetime import date

import pytest

from opencem.metrics.series import _previous_period
from opencem.metrics.sources import Dimension, bucket, previous_bucket, shift_months


@pytest.mark.parametrize(("start", "end", "before"), [
    # Whole months are compared with as many whole months before them.
    (date(2025, 3, 1), date(2025, 3, 31), (date(2025, 2, 1), date(2025, 2, 28))),
    (date(2025, 1, 1), date(2025, 12, 31), (date(2024, 1, 1), date(2024, 12, 31))),
    (date(2024, 3, 1), date(2024, 5, 31), (date(2023, 12, 1), date(2024, 2, 29))),
    # Any other range with as many days just before it.
    (date(2025, 3, 10), date(2025, 3, 16), (date(2025, 3, 3), date(2025, 3, 9))),
    (date(2025, 3, 1), date(2025, 3, 15), (date(2025, 2, 14), date(2025, 2, 28))),
])
def test_the_previous_period_has_the_same_length_just_before(start, end, before):
    assert _previous_period(start, end) == before


def test_months_are_shifted_to_the_last_day_when_the_day_does_not_exist():
    assert shift_months(date(2025, 3, 31), -1) == date(2025, 2, 28)
    assert shift_months(date(2024, 12, 31), 2) == date(2025, 2, 28)


@pytest.mark.parametrize(("dim", "day", "first", "previous"), [
    (Dimension.DAY, date(2025, 3, 1), date(2025, 3, 1), date(2025, 2, 28)),
    (Dimension.WEEK, date(2025, 1, 1), date(2024, 12, 30), date(2024, 12, 23)),
    (Dimension.MONTH, date(2025, 3, 31), date(2025, 3, 1), date(2025, 2, 1)),
    (Dimension.QUARTER, date(2025, 2, 14), date(2025, 1, 1), date(2024, 10, 1)),
])
def test_a_day_falls_in_a_period_that_starts_on_its_first_day(dim, day, first, previous):
    assert bucket(day, dim) == first
    assert previous_bucket(first, dim) == previous
