"""Working days of a regency: Monday to Friday, minus the regency's holidays (RegencyHoliday).

National holidays (billing.Holiday) are added by the billing side (billing/selectors/payday.py: closed_days).
A payday (salary, TPP) that falls on a weekend or holiday is paid on the next working day (the ASN salary rule),
or the previous one where the regency says so (RegencyConfig.payday_shift). The payroll list day and cut-off are
office deadlines: on a closed day they come on the working day before.
"""

import calendar
import datetime as dt

from .models import RegencyConfig, RegencyHoliday

FORWARD = RegencyConfig.PaydayShift.FORWARD
BACKWARD = RegencyConfig.PaydayShift.BACKWARD
NONE = RegencyConfig.PaydayShift.NONE
_MAX_SHIFT = 31  # a month of closed days would be a data error: stop there rather than loop


def holidays_between(regency_id: int | None, start: dt.date, end: dt.date) -> frozenset[dt.date]:
    """The regency's holidays from start to end (inclusive); none for an unsaved config (no regency)."""
    if regency_id is None:
        return frozenset()
    return frozenset(
        RegencyHoliday.objects.filter(regency_id=regency_id, date__gte=start, date__lte=end).values_list(
            "date", flat=True
        )
    )


def is_working_day(day: dt.date, holidays: frozenset[dt.date] = frozenset()) -> bool:
    return day.weekday() < 5 and day not in holidays


def shift_to_working_day(day: dt.date, *, direction: str, holidays: frozenset[dt.date] = frozenset()) -> dt.date:
    """`day` itself when it is a working day, else the next (forward) or previous (backward) one."""
    if direction == NONE:
        return day
    step = dt.timedelta(days=1 if direction == FORWARD else -1)
    for _ in range(_MAX_SHIFT):
        if is_working_day(day, holidays):
            return day
        day += step
    return day


def day_in_month(day_of_month: int, year: int, month: int) -> dt.date:
    """The `day_of_month` of that month; a day past the month's end (a TPP on the 31st) is its last day."""
    return dt.date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))
