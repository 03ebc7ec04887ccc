"""Who gets payday reminders: one selector, so a payment rail that needs none can take its payers out.

Card/e-wallet payers (Midtrans) are reminded on the regency's paydays. A sponsor whose premium is deducted from
their salary (payroll deduction, built beside this) must not be told to pay again: that rail registers an
exclusion here (`register_payday_exclusion`) and every payday reminder and prepay suggestion follows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db.models import QuerySet

from sponsorship.billing.models import Holiday
from sponsorship.people.models import Sponsor, Sponsorship
from sponsorship.regions import workdays

PaydayExclusion = Callable[[QuerySet], QuerySet]
_EXCLUSIONS: list[PaydayExclusion] = []


def register_payday_exclusion(exclude: PaydayExclusion) -> None:
    """`exclude(sponsors)` returns the queryset without the sponsors another rail collects from."""
    if exclude not in _EXCLUSIONS:
        _EXCLUSIONS.append(exclude)


def payday_reminder_sponsors(*, regency_id: int) -> QuerySet[Sponsor]:
    """Active sponsors of the regency with an account and at least one active sponsorship, minus the excluded."""
    qs = Sponsor.objects.filter(
        status=Sponsor.Status.ACTIVE,
        user__isnull=False,
        agency__regency_id=regency_id,
        sponsorships__status=Sponsorship.Status.ACTIVE,
    ).distinct()
    for exclude in _EXCLUSIONS:
        qs = exclude(qs)
    return qs


def closed_days(regency_id: int | None, start: dt.date, end: dt.date) -> frozenset[dt.date]:
    """National holidays (Holiday) and the regency's own (RegencyHoliday) from start to end: no payday on them."""
    national = Holiday.objects.filter(date__gte=start, date__lte=end).values_list("date", flat=True)
    return frozenset(national) | workdays.holidays_between(regency_id, start, end)


def working_day_on_or_before(regency_id: int, day: dt.date) -> dt.date:
    """An office deadline (the payroll list day, the cut-off) that falls on a closed day comes the working day
    before."""
    holidays = closed_days(regency_id, day - dt.timedelta(days=31), day)
    return workdays.shift_to_working_day(day, direction=workdays.BACKWARD, holidays=holidays)
