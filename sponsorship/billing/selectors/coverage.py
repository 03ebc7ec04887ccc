"""A worker's protection, derived from the coverage ledger (never stored, so it cannot drift).

- protected: the current month is paid; protected_until = end of the last month of the unbroken
  paid run that contains it.
- grace: not paid now, at most BILLING_LAPSE_AFTER_MONTHS consecutive unpaid months (arrears may
  still be paid).
- lapsed: more than that many consecutive unpaid months; membership restarts from zero.
- not_enrolled: never paid.
The current month counts as unpaid only once its due date has passed.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, QuerySet, Subquery

from sponsorship.billing.models import CoverageMonth, Holiday
from sponsorship.billing.services.billing import due_date_for
from sponsorship.billing.services.rates import RateBook, RateMissing, sector_of
from sponsorship.core.periods import add_months, local_today, month_end, month_start, months_between
from sponsorship.people.models import Sponsorship, Worker


@dataclass(frozen=True)
class CoverageStatus:
    state: str  # "protected" | "grace" | "lapsed" | "not_enrolled"
    protected_until: dt.date | None
    next_due_date: dt.date | None
    months_paid: int
    months_of_membership: int
    arrears_months: int
    arrears_idr: int
    sponsor_first_name: str | None


_UNSET = object()


def sponsor_first_name_of(worker: Worker) -> str | None:
    """The active sponsor's first name when the sponsor agreed to show it to workers, else None."""
    sponsorship = (
        Sponsorship.objects.filter(worker=worker, status=Sponsorship.Status.ACTIVE).select_related("sponsor").first()
    )
    return (
        sponsorship.sponsor.full_name.split(" ")[0]
        if sponsorship and sponsorship.sponsor.show_name_to_workers
        else None
    )


def worker_coverage_status(
    worker: Worker,
    *,
    today: dt.date | None = None,
    months: list[dt.date] | None = None,
    sponsor_first_name=_UNSET,
    holidays: set[dt.date] | None = None,
    rates: RateBook | None = None,
) -> CoverageStatus:
    """`months` (the worker's paid coverage months), `sponsor_first_name`, `holidays` (at least those from
    status_holidays_from(today) on) and `rates` may be passed when the caller already loaded them (the status
    API reads everything in one query); otherwise they are queried here."""
    today = today or local_today()
    current = month_start(today)
    paid = sorted(
        set(
            months
            if months is not None
            else CoverageMonth.objects.filter(worker=worker).values_list("month", flat=True)
        )
    )
    sponsor_name = sponsor_first_name_of(worker) if sponsor_first_name is _UNSET else sponsor_first_name
    if not paid:
        return CoverageStatus("not_enrolled", None, None, 0, 0, 0, 0, sponsor_name)
    paid_set = set(paid)
    lapse = settings.BILLING_LAPSE_AFTER_MONTHS
    # Membership: months since the first paid month after the last gap longer than the lapse limit.
    start = paid[0]
    for prev, nxt in zip(paid, paid[1:], strict=False):
        if months_between(prev, nxt) - 1 > lapse:
            start = nxt
    last_paid_past = max((m for m in paid if m <= current), default=None)

    if current in paid_set:
        end = current
        while add_months(end, 1) in paid_set:
            end = add_months(end, 1)
        return CoverageStatus(
            "protected",
            month_end(end),
            due_date_for(add_months(end, 1), holidays),
            len(paid),
            months_between(start, current) + 1,
            0,
            0,
            sponsor_name,
        )

    unpaid_from = add_months(last_paid_past, 1) if last_paid_past else current
    arrears = months_between(unpaid_from, current) + (1 if today > due_date_for(current, holidays) else 0)
    arrears = max(arrears, 0)
    if last_paid_past is None:
        # Only future months are paid (prepaid from next month): enrolled, waiting.
        return CoverageStatus("grace", None, due_date_for(current, holidays), len(paid), 0, 0, 0, sponsor_name)
    if arrears > lapse:
        return CoverageStatus(
            "lapsed",
            month_end(last_paid_past),
            None,
            len(paid),
            0,
            arrears,
            _arrears_idr(worker, unpaid_from, lapse, rates),
            sponsor_name,
        )
    arrears_idr = _arrears_idr(worker, unpaid_from, arrears, rates)
    return CoverageStatus(
        "grace",
        month_end(last_paid_past),
        due_date_for(unpaid_from, holidays),
        len(paid),
        months_between(start, last_paid_past) + 1,
        arrears,
        arrears_idr,
        sponsor_name,
    )


def status_inputs(today: dt.date) -> tuple[set[dt.date], RateBook]:
    """What every status computed on `today` shares: the holidays that can move its due dates and the rate book
    (two queries, once per scan rather than once per worker)."""
    holidays = set(Holiday.objects.filter(date__gte=status_holidays_from(today)).values_list("date", flat=True))
    return holidays, RateBook.load()


@dataclass(frozen=True)
class ScanWorker:
    """What a scan needs of a worker, read as plain values (no model instances: at national scale building them
    cost more than the status itself)."""

    pk: int
    full_name: str
    user_id: int | None
    sponsor_user_id: int | None  # the active sponsor's account, if any
    occupation: SimpleNamespace  # .is_transport: the sector the arrears amount depends on


def coverage_statuses(
    workers: QuerySet[Worker], *, today: dt.date, chunk: int = 2000
) -> Iterator[tuple[ScanWorker, CoverageStatus]]:
    """worker_coverage_status() of every worker in `workers`, in ONE statement streamed `chunk` rows at a time
    (a server-side cursor): each row carries the worker's paid months (an array) and their active sponsor's
    user; the holidays and rates are read once (status_inputs). The sponsor's first name is not looked up
    (None): the scans do not show it."""
    holidays, rates = status_inputs(today)
    rows = (
        workers.order_by()
        .annotate(
            scan_months=ArraySubquery(
                CoverageMonth.objects.filter(worker_id=OuterRef("pk")).order_by().values("month")
            ),
            scan_sponsor_user=Subquery(
                Sponsorship.objects.filter(worker_id=OuterRef("pk"), status=Sponsorship.Status.ACTIVE)
                .order_by()
                .values("sponsor__user_id")[:1]
            ),
        )
        .values_list("pk", "full_name", "user_id", "scan_sponsor_user", "occupation__is_transport", "scan_months")
        .iterator(chunk_size=chunk)
    )
    for pk, full_name, user_id, sponsor_user_id, transport, months in rows:
        worker = ScanWorker(pk, full_name, user_id, sponsor_user_id, SimpleNamespace(is_transport=transport))
        status = worker_coverage_status(
            worker,  # type: ignore[arg-type]  # duck-typed: only .occupation.is_transport is read
            today=today,
            months=months or [],
            sponsor_first_name=None,
            holidays=holidays,
            rates=rates,
        )
        yield worker, status


def status_holidays_from(today: dt.date) -> dt.date:
    """The earliest holiday a status computed on `today` can look at: due dates are computed only for months
    from the current one minus the lapse limit (grace) onwards."""
    return add_months(month_start(today), -(settings.BILLING_LAPSE_AFTER_MONTHS + 1))


def _arrears_idr(worker: Worker, first: dt.date, count: int, rates: RateBook | None = None) -> int:
    if count <= 0:
        return 0
    book = rates or RateBook.load()
    try:
        return sum(
            book.premium(add_months(first, i), sector=sector_of(worker.occupation.is_transport)).amount_idr
            for i in range(count)
        )
    except RateMissing:
        return 0
