"""The shared month and working-day arithmetic (sponsorship.core.periods)."""

import datetime as dt

from sponsorship.core.periods import add_months, last_months, month_end, month_start, months_between, next_working_day

D = dt.date


def test_month_start_and_end():
    assert month_start(D(2026, 2, 17)) == D(2026, 2, 1)
    assert month_end(D(2026, 2, 1)) == D(2026, 2, 28)
    assert month_end(D(2028, 2, 1)) == D(2028, 2, 29)
    assert month_end(D(2026, 12, 1)) == D(2026, 12, 31)


def test_add_months_crosses_years_both_ways():
    assert add_months(D(2026, 11, 1), 1) == D(2026, 12, 1)
    assert add_months(D(2026, 12, 1), 1) == D(2027, 1, 1)
    assert add_months(D(2026, 1, 1), -1) == D(2025, 12, 1)
    assert add_months(D(2026, 3, 1), -15) == D(2024, 12, 1)
    assert add_months(D(2026, 3, 1), 0) == D(2026, 3, 1)


def test_months_between_is_the_inverse_of_add_months():
    start = D(2025, 10, 1)
    for n in range(-14, 15):
        assert months_between(start, add_months(start, n)) == n
    assert months_between(D(2026, 1, 31), D(2026, 2, 1)) == 1  # months, not days


def test_last_months_ends_with_the_current_month():
    assert last_months(D(2026, 2, 10), 3) == [D(2025, 12, 1), D(2026, 1, 1), D(2026, 2, 1)]
    assert len(last_months(D(2026, 2, 10))) == 12 and last_months(D(2026, 2, 10))[0] == D(2025, 3, 1)


def test_next_working_day_skips_weekends_and_holidays():
    assert next_working_day(D(2026, 12, 15), set()) == D(2026, 12, 15)  # a Tuesday
    assert next_working_day(D(2026, 8, 15), set()) == D(2026, 8, 17)  # Saturday -> Monday
    assert next_working_day(D(2026, 8, 15), {D(2026, 8, 17)}) == D(2026, 8, 18)  # ... Independence Day -> Tuesday
