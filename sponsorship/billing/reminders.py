"""Reminder scans: read the money area's invoices and coverage, write outbox rows through notify_bulk.

Every key is derived from the event and the day, so a scan that runs twice (or hourly, or on two
machines) writes each reminder once:

    invoice:{id}:reminder:{date}            at most one reminder per invoice per day (all reminder kinds)
    worker:{id}:lapsing:{next_due}          the sponsor, once per missed due date
    worker:{id}:at_risk:{next_due}          the worker, once per missed due date
    worker:{id}:lapsed:{protected_until}    the worker, once per lapse
    worker:{id}:protected:{protected_until} the worker, each time a payment extends protection
    sponsorship:{id}:new_sponsor            the worker, once per sponsorship
    admin_digest:{user}:{date}              each regency admin, daily (NOTIFICATIONS_ADMIN_DIGEST)
    invoice:{id}:reminder:{date}            also the payday reminder (never a due-soon and a payday one a day)
    sponsor:{id}:prepay:{kind}:{year}       the prepay suggestion, once per bonus (13th salary, THR) a year

Which regency's scan owns a row (reminders_scan(regency_id=...), one task per regency every hour, services/
scheduled.py: reminder_scan_dispatch): an invoice belongs to its sponsor's agency's regency (the regency that
billed it, whose zone is the sponsor's); a worker's coverage reminders and the new-sponsor message belong to the
worker's village's regency, also the lapsing notice to a sponsor in another regency. Sponsor.agency, Agency.regency
and Worker.village are required, so every row has exactly one owner: the per-regency scans together write what
the whole scan (no regency) writes when all regencies share its zone, and each evaluates "today" in its own zone.

Payday reminders run per regency at its local hour (regions/scheduling.py, billing/services/scheduled.py): on
the regency's salary day and TPP day (RegencyConfig), card/e-wallet payers (selectors/payday.py) with an unpaid
bill are reminded; in the 13th-salary and THR months, on the salary day, prepaying 12 months is suggested.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from backend.formats import period_label
from notifications.services import NotifyRequest, batched_sends, notify_bulk, timezones_for
from sponsorship.billing.models import CoverageMonth, Invoice, InvoiceLine
from sponsorship.billing.selectors.coverage import CoverageStatus, ScanWorker, coverage_statuses
from sponsorship.billing.selectors.payday import closed_days, payday_reminder_sponsors
from sponsorship.billing.services.rates import RateBook, RateMissing, sector_of
from sponsorship.core.periods import add_months, month_start
from sponsorship.people.models import Profile, Role, Sponsorship, Worker
from sponsorship.regions import workdays
from sponsorship.regions.models import RegencyConfig
from sponsorship.regions.scheduling import config_for

logger = logging.getLogger(__name__)

DUE_SOON_DAYS = 3
OVERDUE_DAYS = (3, 7)
NEW_SPONSOR_LOOKBACK_DAYS = 7


def _end_of_day(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)


def invoice_reminder_requests(
    *, today: dt.date, regency_id: int | None = None, tz: ZoneInfo | None = None
) -> list[NotifyRequest]:
    """Due in 3 days, due today, overdue by 3 and 7 days, for every unpaid invoice (of the regency: its sponsor's
    agency's). Lifetimes end in `tz` (the regency's zone), else in each recipient's zone."""
    targets = {
        today + dt.timedelta(days=DUE_SOON_DAYS): ("invoice_due_soon", DUE_SOON_DAYS),
        today: ("invoice_due_today", 0),
    }
    for days in OVERDUE_DAYS:
        targets[today - dt.timedelta(days=days)] = ("invoice_overdue", days)
    # plain values, not model instances: at 100,000 invoices building Invoice and Sponsor objects cost most of the scan
    invoices = Invoice.objects.filter(
        status=Invoice.Status.ISSUED, due_date__in=list(targets), sponsor__user__isnull=False
    )
    if regency_id is not None:
        invoices = invoices.filter(sponsor__agency__regency_id=regency_id)
    rows = list(
        invoices.order_by()
        .values_list("pk", "due_date", "amount_idr", "number", "period", "sponsor__user_id", "sponsor__full_name")
        .annotate(workers=Count("lines__worker", distinct=True))
    )
    zones = {} if tz else timezones_for({row[5] for row in rows})
    requests = []
    for pk, due_date, amount_idr, number, period, user_id, sponsor_name, workers in rows:
        kind, days = targets[due_date]
        # Lifetime ends with the due date (an undelivered "due in 3 days" is useless after it);
        # an overdue notice lives until the end of the day it was written for.
        expires = _end_of_day(max(due_date, today), tz or zones[user_id])
        requests.append(
            NotifyRequest(
                user_id=user_id,
                kind=kind,
                dedupe_key=f"invoice:{pk}:reminder:{today}",
                context={
                    "sponsor_name": sponsor_name,
                    "amount_idr": amount_idr,
                    "due_date": due_date,
                    "invoice_id": pk,
                    "invoice_number": number,
                    "days": days,
                    "workers": workers,
                    "period_label": period_label(period),
                },
                data={"invoice_id": str(pk), "due_date": due_date.isoformat()},
                collapse_key=f"invoice-{pk}",
                expires_at=expires,
            )
        )
    return requests


COVERAGE_CHUNK = 2000  # rows per fetch of the coverage scan's one streamed statement


def coverage_requests(
    *, today: dt.date, chunk: int = COVERAGE_CHUNK, regency_id: int | None = None, now: dt.datetime | None = None
) -> list[NotifyRequest]:
    """Workers' protection: at risk / lapsing (to worker and sponsor), lapsed, protected until; with `regency_id`
    only the workers whose village is in that regency.

    Set-based: the workers with an app account or an active sponsor with an account, each with their paid months
    and sponsor's user, in one statement streamed in chunks (billing/selectors/coverage.py: coverage_statuses);
    holidays and rates once per scan."""
    expires = (now or timezone.now()) + dt.timedelta(days=7)  # the scan's `now`: every part of a scan agrees
    sponsored = Sponsorship.objects.filter(status=Sponsorship.Status.ACTIVE, sponsor__user__isnull=False)
    workers = Worker.objects.filter(anonymized_at__isnull=True).filter(
        Q(user__isnull=False) | Q(pk__in=sponsored.values("worker_id"))
    )
    if regency_id is not None:
        workers = workers.filter(village__parent__parent_id=regency_id)
    requests: list[NotifyRequest] = []
    for worker, status in coverage_statuses(workers, today=today, chunk=chunk):
        requests += _coverage_worker_requests(worker, status, expires)
    return requests


def _coverage_worker_requests(worker: ScanWorker, status: CoverageStatus, expires: dt.datetime) -> list[NotifyRequest]:
    sponsor_user = worker.sponsor_user_id
    ctx = {
        "worker_name": worker.full_name,
        "protected_until": status.protected_until,
        "due_date": status.next_due_date,
        "amount_idr": status.arrears_idr,
    }
    out = []
    if status.state == "grace" and status.arrears_months >= 1:
        if sponsor_user:
            out.append(
                NotifyRequest(
                    user_id=sponsor_user,
                    kind="coverage_lapsing",
                    context=ctx,
                    dedupe_key=f"worker:{worker.pk}:lapsing:{status.next_due_date}",
                    data={"worker_id": str(worker.pk)},
                    collapse_key=f"worker-{worker.pk}",
                )
            )
        if worker.user_id:
            out.append(
                NotifyRequest(
                    user_id=worker.user_id,
                    kind="worker_at_risk",
                    context=ctx,
                    dedupe_key=f"worker:{worker.pk}:at_risk:{status.next_due_date}",
                    collapse_key="status-kepesertaan",
                    expires_at=expires,
                )
            )
    elif worker.user_id and status.state in ("lapsed", "protected"):
        out.append(
            NotifyRequest(
                user_id=worker.user_id,
                kind=f"worker_{status.state}",
                context=ctx,
                dedupe_key=f"worker:{worker.pk}:{status.state}:{status.protected_until}",
                collapse_key="status-kepesertaan",
                expires_at=expires,
            )
        )
    return out


def new_sponsor_requests(*, now: dt.datetime, regency_id: int | None = None) -> list[NotifyRequest]:
    recent = Sponsorship.objects.filter(
        status=Sponsorship.Status.ACTIVE,
        worker__user__isnull=False,
        started_at__gte=now - dt.timedelta(days=NEW_SPONSOR_LOOKBACK_DAYS),
    ).select_related("sponsor", "worker")
    if regency_id is not None:
        recent = recent.filter(worker__village__parent__parent_id=regency_id)
    out = []
    for s in recent:
        name = s.sponsor.full_name.split(" ")[0] if s.sponsor.show_name_to_workers else None
        assert s.worker.user_id is not None  # filtered on worker__user__isnull=False
        out.append(
            NotifyRequest(
                user_id=s.worker.user_id,
                kind="worker_new_sponsor",
                dedupe_key=f"sponsorship:{s.pk}:new_sponsor",
                context={"sponsor_name": name or "Seorang ASN", "worker_name": s.worker.full_name},
            )
        )
    return out


def reminders_scan(
    *, regency_id: int | None = None, today: dt.date | None = None, now: dt.datetime | None = None
) -> dict:
    """One pass over everything that may need a reminder; safe to run any number of times.

    With `regency_id`: only the regency's rows (see the module's docstring for who owns a row), and `today`
    defaults to the regency's local date (RegencyConfig.timezone), invoice lifetimes end in its zone. Without: the
    whole deployment on the deployment's date (TIME_ZONE), as before the per-regency schedule (an operator's
    catch-up, a single-regency deployment)."""
    now = now or timezone.now()
    tz = ZoneInfo(config_for(regency_id).timezone) if regency_id is not None else None
    today = today or (now.astimezone(tz).date() if tz else timezone.localdate(now))
    counts: dict[str, int | str] = {}
    for name, build in (
        ("invoices", lambda: invoice_reminder_requests(today=today, regency_id=regency_id, tz=tz)),
        ("coverage", lambda: coverage_requests(today=today, regency_id=regency_id, now=now)),
        ("new_sponsor", lambda: new_sponsor_requests(now=now, regency_id=regency_id)),
    ):
        try:
            requests = build()
        except Exception:  # one broken part must not stop the others
            logger.exception("reminder scan part %s failed", name)
            counts[name] = "error"
            continue
        with transaction.atomic(), batched_sends():
            counts[name] = len(notify_bulk(requests, now=now))
    logger.info("reminder scan for %s (regency %s): %s", today, regency_id or "all", counts)
    return counts


def admin_digests_send(*, today: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """The optional daily digest for regency admins (overdue invoices in their regency)."""
    if not getattr(settings, "NOTIFICATIONS_ADMIN_DIGEST", False):
        return 0
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    requests = []
    for profile in Profile.objects.filter(role=Role.REGENCY_ADMIN).select_related("user"):
        overdue = Invoice.objects.filter(
            status=Invoice.Status.ISSUED, due_date__lt=today, sponsor__agency__regency_id=profile.regency_id
        )
        # two aggregates: summed over the join with lines, a bill of three workers counted three times
        agg = overdue.aggregate(n=Count("pk"), total=Sum("amount_idr"))
        agg["workers"] = overdue.aggregate(workers=Count("lines__worker", distinct=True))["workers"]
        requests.append(
            NotifyRequest(
                user_id=profile.user_id,
                kind="admin_digest",
                dedupe_key=f"admin_digest:{profile.user_id}:{today}",
                context={"workers": agg["workers"] or 0, "days": agg["n"] or 0, "amount_idr": agg["total"] or 0},
            )
        )
    with transaction.atomic(), batched_sends():
        return len(notify_bulk(requests, now=now))


# ---- payday-aware reminders (issue 17) ----------------------------------------------------------------------
PREPAY_MONTHS = 12
# A sponsor whose workers are all paid or billed this many months ahead already prepaid: no suggestion.
PREPAID_AHEAD_MONTHS = 6
SALARY, TPP, THIRTEENTH, THR = "salary", "tpp", "thirteenth", "thr"


def paydays_on(config: RegencyConfig, day: dt.date) -> list[str]:
    """What the regency pays its ASN on `day` (local): salary, TPP, and on the salary day of the 13th-salary or
    THR month that bonus too. A payday on a weekend or one of the regency's holidays moves to the next working
    day (or the previous one: RegencyConfig.payday_shift), possibly into another month (regions/workdays.py)."""
    holidays = closed_days(config.regency_id, day - dt.timedelta(days=40), day + dt.timedelta(days=40))
    direction = config.payday_shift or RegencyConfig.PaydayShift.FORWARD
    months = [add_months(month_start(day), n) for n in (-1, 0, 1)]

    def paid_on(day_of_month: int, month: dt.date) -> dt.date:
        nominal = workdays.day_in_month(day_of_month, month.year, month.month)
        return workdays.shift_to_working_day(nominal, direction=direction, holidays=holidays)

    kinds = []
    for month in months:
        if paid_on(config.salary_day, month) == day:
            kinds.append(SALARY)
            if config.thirteenth_month == month.month:
                kinds.append(THIRTEENTH)
            if config.thr_month == month.month:
                kinds.append(THR)
    if config.tpp_day and SALARY not in kinds and any(paid_on(config.tpp_day, m) == day for m in months):
        kinds.append(TPP)
    return kinds


def payday_requests(*, regency_id: int, today: dt.date, now: dt.datetime | None = None) -> list[NotifyRequest]:
    """The payday wave of one regency on its local date `today` (empty on other days)."""
    config = config_for(regency_id)
    kinds = paydays_on(config, today) if config.payday_reminders else []
    if not kinds:
        return []
    tz = ZoneInfo(config.timezone)
    sponsors = payday_reminder_sponsors(regency_id=regency_id)
    requests = _payday_bill_requests(sponsors, today=today, tz=tz)
    for bonus in (k for k in kinds if k in (THIRTEENTH, THR)):
        requests += _prepay_requests(sponsors, bonus=bonus, today=today, regency_id=regency_id, now=now)
    return requests


def _payday_bill_requests(sponsors, *, today: dt.date, tz: ZoneInfo) -> list[NotifyRequest]:
    """Each sponsor's earliest unpaid bill: pay it while the pay is in."""
    invoices = (
        Invoice.objects.filter(status=Invoice.Status.ISSUED, sponsor__in=sponsors)
        .select_related("sponsor")
        .annotate(workers=Count("lines__worker", distinct=True))
        .order_by("sponsor_id", "due_date", "pk")
    )
    earliest: dict = {}  # sponsor id → their earliest unpaid invoice (annotated with workers)
    for invoice in invoices:
        earliest.setdefault(invoice.sponsor_id, invoice)
    requests = []
    for invoice in earliest.values():
        user_id = invoice.sponsor.user_id
        assert user_id is not None  # payday_reminder_sponsors: sponsors with an account
        requests.append(
            NotifyRequest(
                user_id=user_id,
                kind="payday_reminder",
                # shares the invoice's daily reminder key: never a due-soon and a payday reminder the same day
                dedupe_key=f"invoice:{invoice.pk}:reminder:{today}",
                context={
                    "sponsor_name": invoice.sponsor.full_name,
                    "amount_idr": invoice.amount_idr,
                    "due_date": invoice.due_date,
                    "invoice_id": invoice.pk,
                    "invoice_number": invoice.number,
                    "workers": invoice.workers,
                    "period_label": period_label(invoice.period),
                },
                data={"invoice_id": str(invoice.pk), "due_date": invoice.due_date.isoformat()},
                collapse_key=f"invoice-{invoice.pk}",
                expires_at=_end_of_day(today, tz),
            )
        )
    return requests


def _prepay_requests(
    sponsors, *, bonus: str, today: dt.date, regency_id: int, now: dt.datetime | None
) -> list[NotifyRequest]:
    """Suggest prepaying 12 months to sponsors who have not prepaid; the amount is what 12 months would cost."""
    rows = list(
        Sponsorship.objects.filter(status=Sponsorship.Status.ACTIVE, sponsor__in=sponsors).values_list(
            "sponsor_id", "sponsor__user_id", "worker_id", "worker__occupation__is_transport"
        )
    )
    worker_ids = [r[2] for r in rows]
    paid_through: dict[int, dt.date] = {}
    for worker_id, month in CoverageMonth.objects.filter(worker_id__in=worker_ids).values_list("worker_id", "month"):
        paid_through[worker_id] = max(month, paid_through.get(worker_id, month))
    for worker_id, month in InvoiceLine.objects.filter(
        worker_id__in=worker_ids, invoice__status__in=(Invoice.Status.ISSUED, Invoice.Status.PAID)
    ).values_list("worker_id", "month"):
        paid_through[worker_id] = max(month, paid_through.get(worker_id, month))
    horizon = add_months(month_start(today), PREPAID_AHEAD_MONTHS)
    book = RateBook.load()
    by_sponsor: dict[int, dict] = {}
    for sponsor_id, user_id, worker_id, transport in rows:
        entry = by_sponsor.setdefault(sponsor_id, {"user_id": user_id, "workers": 0, "amount": 0, "prepaid": True})
        entry["workers"] += 1
        entry["prepaid"] &= paid_through.get(worker_id, dt.date.min) >= horizon
        try:
            monthly = book.premium(month_start(today), sector=sector_of(bool(transport)), regency_id=regency_id)
            entry["amount"] += monthly.amount_idr * PREPAY_MONTHS
        except RateMissing:
            pass
    requests = []
    for sponsor_id, entry in by_sponsor.items():
        if entry["prepaid"] or not entry["amount"]:
            continue
        requests.append(
            NotifyRequest(
                user_id=entry["user_id"],
                kind=f"prepay_{bonus}",
                dedupe_key=f"sponsor:{sponsor_id}:prepay:{bonus}:{today.year}",
                context={"months": PREPAY_MONTHS, "workers": entry["workers"], "amount_idr": entry["amount"]},
                data={"action": "prepay", "months": str(PREPAY_MONTHS)},
                collapse_key="prepay-suggestion",
                expires_at=(now or timezone.now()) + dt.timedelta(days=7),
            )
        )
    return requests


def payday_reminders_send(*, regency_id: int, today: dt.date, now: dt.datetime | None = None) -> int:
    """Write one regency's payday wave to the outbox (deduped, so a second run writes nothing)."""
    now = now or timezone.now()
    requests = payday_requests(regency_id=regency_id, today=today, now=now)
    if not requests:
        return 0
    with transaction.atomic(), batched_sends():
        return len(notify_bulk(requests, now=now))
