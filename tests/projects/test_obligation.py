"""The obligation window's end, worked out by calendar arithmetic, is relativedelta's answer."""

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from projects.obligation import obligation_end


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)), st.integers(1, 600))
def test_the_last_funded_day_is_the_day_before_the_same_day_months_later(launch, months):
    assert obligation_end(launch, months) == launch + relativedelta(months=months) - timedelta(1)


def test_a_launch_on_a_day_the_last_month_lacks_ends_the_day_before_its_last_day():
    assert obligation_end(date(2026, 1, 31), 1) == date(2026, 2, 27)
    assert obligation_end(date(2027, 12, 31), 2) == date(2028, 2, 28)  # 29 February 2028


def test_a_window_is_at_least_a_month():
    with pytest.raises(ValueError, match="at least 1"):
        obligation_end(date(2026, 1, 1), 0)
