"""Calendar months and working days: the date arithmetic billing, coverage, reminders and the dashboard share.

A month is represented by the date of its first day. Pure functions over dates (apart from ``local_today``,
which reads the clock in the service's time zone); rules such as due dates and which month to bill live with
billing, names of months with the text formatting.
"""

import calendar
import datetime as dt
from collections.abc import Container

from django.utils import timezone


def local_today() -> dt.date:
    """Today in the service's time zone (Asia/Jakarta), not the server's or UTC."""
    return timezone.localdate()


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def add_months(month: dt.date, n: int) -> dt.date:
    """The first day of the month `n` months after (or before, n < 0) `month`'s."""
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(a: dt.date, b: dt.date) -> int:
    """How many months `b`'s month is after `a`'s (negative when before)."""
    return (b.year - a.year) * 12 + b.month - a.month


def last_months(today: dt.date, n: int = 12) -> list[dt.date]:
    """The `n` months up to and including `today`'s, oldest first."""
    current = month_start(today)
    return [add_months(current, -i) for i in range(n - 1, -1, -1)]


def next_working_day(day: dt.date, holidays: Container[dt.date]) -> dt.date:
    """`day`, or the first day after it that is neither a Saturday, a Sunday nor one of `holidays`."""
    while day.weekday() >= 5 or day in holidays:
        day += dt.timedelta(days=1)
    return day
