"""Who gets payday reminders: one selector, so a payment rail that needs none can take its payers out.

Card/e-wallet payers (Midtrans) are reminded on the regency's paydays. A sponsor whose premium is deducted from
their salary (payroll deduction, built beside this) must not be told to pay again: that rail registers an
exclusion here (`register_payday_exclusion`) and every payday reminder and prepay suggestion follows it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet

from sponsorship.people.models import Sponsor, Sponsorship

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
