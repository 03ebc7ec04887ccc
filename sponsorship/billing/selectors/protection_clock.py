"""Days of protection left: how long a worker stays protected if nobody pays anything more.

Protection holds only for paid periods (docs/money-rules.md): the clock runs to the last day of the unbroken run of
paid coverage months that contains today, or to a budget cohort's funding end date when the regency budget (APBD) or
DBHCHT protects the worker now (people.Cohort: paid to BPJS outside this ledger), continued by any paid months right
after it. `days_left` counts whole days from today to that last day (0 on the last day itself and for a worker whose
protection has already ended); None for a worker never protected.

One implementation (`clock_from`) over plain data: the worker status, the sponsor overview, the reminder scan and the
at-risk dashboard all call it, with the paid months and the cohort end loaded their own way.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Max, OuterRef, Subquery

from sponsorship.billing.models import CoverageMonth
from sponsorship.core.periods import month_end, month_start
from sponsorship.people.models import CohortMember


@dataclass(frozen=True)
class Clock:
    protected: bool  # protected today (by paid months or a budget cohort)
    ends_on: dt.date | None  # last protected day; for an ended protection the last day it held; None: never
    days_left: int | None  # (ends_on - today) while protected, 0 once ended, None when never protected
    by_cohort: bool  # the budget cohort is what protects the worker today
    paid_ahead: bool  # a coverage month after ends_on is already paid (a gap, then protection again)


def clock_from(paid: Iterable[dt.date], cohort_until: dt.date | None, today: dt.date) -> Clock:
    """`paid`: the worker's paid coverage months (first days); `cohort_until`: the funding end date of a budget
    cohort protecting the worker on `today` (started, not ended), else None."""
    months = set(paid)
    current = month_start(today)
    end: dt.date | None = None
    by_cohort = False
    if current in months:
        end = month_end(current)
    if cohort_until is not None and cohort_until >= today and (end is None or cohort_until > end):
        end, by_cohort = cohort_until, True
    if end is not None:
        while True:  # paid months right after the end carry the protection on
            nxt = end + dt.timedelta(days=1)
            if nxt.day != 1 or nxt not in months:
                break
            end = month_end(nxt)
        ahead = any(m > end for m in months)
        return Clock(True, end, (end - today).days, by_cohort, ahead)
    past = [m for m in months if m < current]
    ahead = any(m > current for m in months)
    if past:
        return Clock(False, month_end(max(past)), 0, False, ahead)
    return Clock(False, None, None, False, ahead)


def active_cohort_until(today: dt.date, outer: str = "pk") -> Subquery:
    """Subquery over the worker at OuterRef(outer): the latest funding end of a cohort protecting them today."""
    return Subquery(
        CohortMember.objects.filter(
            worker_id=OuterRef(outer), cohort__starts_on__lte=today, cohort__funded_until__gte=today
        )
        .order_by()
        .values("worker_id")
        .annotate(until=Max("cohort__funded_until"))
        .values("until")[:1]
    )


def cohort_until_for(worker_ids: Iterable[int], today: dt.date) -> dict[int, dt.date]:
    rows = (
        CohortMember.objects.filter(
            worker_id__in=list(worker_ids), cohort__starts_on__lte=today, cohort__funded_until__gte=today
        )
        .values("worker_id")
        .annotate(until=Max("cohort__funded_until"))
        .values_list("worker_id", "until")
    )
    return dict(rows)


def paid_months_for(worker_ids: Iterable[int]) -> dict[int, list[dt.date]]:
    """Each worker's paid coverage months, in one query (workers with none are absent)."""
    paid: dict[int, list[dt.date]] = defaultdict(list)
    for worker_id, month in CoverageMonth.objects.filter(worker_id__in=list(worker_ids)).values_list(
        "worker_id", "month"
    ):
        paid[worker_id].append(month)
    return paid


def clocks_for(worker_ids: Iterable[int], today: dt.date) -> dict[int, Clock]:
    """The clock of each worker in two queries (paid months, cohort ends), whatever the number of workers."""
    ids = list(worker_ids)
    paid = paid_months_for(ids)
    cohorts = cohort_until_for(ids, today)
    return {pk: clock_from(paid.get(pk, ()), cohorts.get(pk), today) for pk in ids}


def worker_clock(worker_id: int, today: dt.date) -> Clock:
    return clocks_for([worker_id], today)[worker_id]
