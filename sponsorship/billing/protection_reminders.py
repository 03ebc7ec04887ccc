"""Reminders by days of protection left, and budget cohorts offered to ASN sponsors before their funding ends.

Both scans run hourly (billing/schedule.py) and reason in each regency's own calendar day (RegencyConfig.timezone),
so a WIT regency gets its reminders on its own day. Both are safe to run any number of times:

- a reminder is due when a protected worker's days left (selectors/protection_clock.py) reach a threshold
  (settings.PROTECTION_REMINDER_DAYS, default 14, 7 and 2): the sponsor hears which worker, until when and which bill
  to pay, the worker hears it in plain words. A scan that was down sends the nearest threshold not yet passed, once.
  Outbox keys `clock:{worker}:{threshold}:{ends_on}:sponsor|worker` make each reminder unique per worker, threshold
  and end date (a payment that moves the end date starts a new round); each reminder written adds a
  ProtectionAction (reminded_sponsor / reminded_worker) in the same transaction.
- a cohort member is offered to sponsors (MatchPriority "cohort_ending" until the funding end, ProtectionAction
  "offered") once the end is settings.COHORT_OFFER_DAYS_BEFORE (default 45) days away: a cohort funded to
  31 December is offered from 16 November. `CohortMember.offered_at` is set in a compare-and-swap update, so two
  scans never both offer.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from notifications.models import Notification
from notifications.services import NotifyRequest, batched_sends, notify_bulk
from sponsorship.billing.models import Invoice, InvoiceLine
from sponsorship.billing.selectors.protection_clock import clocks_for
from sponsorship.billing.services.protection_log import record_protection_action
from sponsorship.core.periods import month_start
from sponsorship.people.models import CohortMember, Sponsorship, Worker
from sponsorship.people.services.match_priority import flag_for_matching
from sponsorship.regions.models import RegencyConfig, Region

logger = logging.getLogger(__name__)

DEFAULT_REMINDER_DAYS = (14, 7, 2)
DEFAULT_COHORT_OFFER_DAYS = 45


def reminder_days() -> tuple[int, ...]:
    return tuple(sorted({int(d) for d in getattr(settings, "PROTECTION_REMINDER_DAYS", DEFAULT_REMINDER_DAYS)}))


def cohort_offer_days() -> int:
    return int(getattr(settings, "COHORT_OFFER_DAYS_BEFORE", DEFAULT_COHORT_OFFER_DAYS))


def threshold_for(days_left: int, thresholds: tuple[int, ...]) -> int | None:
    """The reminder due at `days_left`: the smallest threshold at or above it (None when beyond the largest)."""
    return next((t for t in thresholds if t >= days_left), None)


def regency_todays(now: dt.datetime) -> dict[int, dt.date]:
    """Today's date in each regency that has workers, in the regency's own time zone (WIB when not configured)."""
    zones = dict(RegencyConfig.objects.values_list("regency_id", "timezone"))
    regencies = Region.objects.filter(level=Region.Level.REGENCY, children__children__workers__isnull=False).distinct()
    return {
        pk: now.astimezone(ZoneInfo(zones.get(pk) or RegencyConfig.Zone.WIB)).date()
        for pk in regencies.values_list("pk", flat=True)
    }


def _open_invoices(worker_ids: list[int]) -> dict[tuple[int, int], dict]:
    """(worker, sponsor) -> the earliest unpaid bill with a line for the worker: what the sponsor should pay."""
    out: dict[tuple[int, int], dict] = {}
    rows = (
        InvoiceLine.objects.filter(worker_id__in=worker_ids, invoice__status=Invoice.Status.ISSUED)
        .order_by("invoice__due_date", "invoice_id")
        .values_list(
            "worker_id",
            "invoice__sponsor_id",
            "invoice_id",
            "invoice__number",
            "invoice__amount_idr",
            "invoice__due_date",
        )
    )
    for worker_id, sponsor_id, invoice_id, number, amount, due in rows:
        out.setdefault(
            (worker_id, sponsor_id),
            {"invoice_id": invoice_id, "invoice_number": number, "amount_idr": amount, "due_date": due},
        )
    return out


def clock_reminder_requests(
    regency_id: int, today: dt.date, thresholds: tuple[int, ...]
) -> list[tuple[NotifyRequest, int, str, dict]]:
    """(request, worker id, ProtectionAction kind, detail) for every reminder due in the regency on `today`."""
    if not thresholds:
        return []
    horizon = today + dt.timedelta(days=max(thresholds))
    # Only workers whose protection can end within the horizon: paid this month, or in a cohort ending by then.
    candidates = Worker.objects.filter(
        village__parent__parent_id=regency_id, status=Worker.Status.ACTIVE, anonymized_at__isnull=True
    ).filter(
        Q(coverage_months__month=month_start(today))
        | Q(
            cohort_memberships__cohort__starts_on__lte=today,
            cohort_memberships__cohort__funded_until__gte=today,
            cohort_memberships__cohort__funded_until__lte=horizon,
        )
    )
    ids = list(candidates.values_list("pk", flat=True).distinct())
    clocks = clocks_for(ids, today)
    due = {
        pk: c for pk, c in clocks.items() if c.protected and c.days_left is not None and c.days_left <= max(thresholds)
    }
    if not due:
        return []
    sponsors = dict(
        Sponsorship.objects.filter(
            worker_id__in=list(due), status=Sponsorship.Status.ACTIVE, sponsor__user__isnull=False
        ).values_list("worker_id", "sponsor_id")
    )
    sponsor_users = dict(
        Sponsorship.objects.filter(worker_id__in=list(due), status=Sponsorship.Status.ACTIVE).values_list(
            "sponsor_id", "sponsor__user_id"
        )
    )
    invoices = _open_invoices(list(due))
    out = []
    for worker in Worker.objects.filter(pk__in=list(due)).only("pk", "full_name", "user_id"):
        clock = due[worker.pk]
        assert clock.days_left is not None and clock.ends_on is not None
        threshold = threshold_for(clock.days_left, thresholds)
        if threshold is None:
            continue
        detail = {
            "days_left": clock.days_left,
            "threshold": threshold,
            "ends_on": clock.ends_on.isoformat(),
            "by_cohort": clock.by_cohort,
        }
        key = f"clock:{worker.pk}:{threshold}:{clock.ends_on.isoformat()}"
        ctx = {"worker_name": worker.full_name, "days": clock.days_left, "protected_until": clock.ends_on}
        sponsor_id = sponsors.get(worker.pk)
        if sponsor_id is not None:
            invoice = invoices.get((worker.pk, sponsor_id))
            kind = "protection_ending_sponsor" if invoice else "protection_ending_no_bill"
            out.append(
                (
                    NotifyRequest(
                        user_id=sponsor_users[sponsor_id],
                        kind=kind,
                        context={**ctx, **(invoice or {})},
                        dedupe_key=f"{key}:sponsor",
                        data={
                            "worker_id": str(worker.pk),
                            **({"invoice_id": str(invoice["invoice_id"])} if invoice else {}),
                        },
                        collapse_key=f"worker-{worker.pk}",
                    ),
                    worker.pk,
                    "reminded_sponsor",
                    {**detail, **({"invoice_id": invoice["invoice_id"]} if invoice else {})},
                )
            )
        if worker.user_id:
            out.append(
                (
                    NotifyRequest(
                        user_id=worker.user_id,
                        kind="protection_ending_worker",
                        context=ctx,
                        dedupe_key=f"{key}:worker",
                        collapse_key="status-kepesertaan",
                    ),
                    worker.pk,
                    "reminded_worker",
                    detail,
                )
            )
    return out


def protection_reminders_send(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Write every reminder due now; one transaction per regency (outbox rows and their ProtectionActions)."""
    now = now or timezone.now()
    thresholds = reminder_days()
    counts = {"reminded_sponsor": 0, "reminded_worker": 0}
    for regency_id, today in regency_todays(now).items():
        planned = clock_reminder_requests(regency_id, today, thresholds)
        if not planned:
            continue
        by_key = {request.dedupe_key: (worker_id, kind, detail) for request, worker_id, kind, detail in planned}
        with transaction.atomic(), batched_sends():
            created = notify_bulk([p[0] for p in planned], now=now)
            keys = Notification.objects.filter(pk__in=created).values_list("dedupe_key", flat=True)
            for key in keys:
                worker_id, kind, detail = by_key[key]
                record_protection_action(worker_id, kind, detail=detail, at=now)
                counts[kind] += 1
    return counts


def cohort_offers_send(*, now: dt.datetime | None = None) -> int:
    """Offer to ASN sponsors every member of a cohort whose funding ends within the offer window. Returns how many."""
    now = now or timezone.now()
    window = dt.timedelta(days=cohort_offer_days())
    offered = 0
    for regency_id, today in regency_todays(now).items():
        members = (
            CohortMember.objects.filter(
                offered_at__isnull=True,
                cohort__regency_id=regency_id,
                cohort__funded_until__gte=today,
                cohort__funded_until__lte=today + window,
                worker__status=Worker.Status.ACTIVE,
                worker__anonymized_at__isnull=True,
            )
            .exclude(worker__sponsorships__status=Sponsorship.Status.ACTIVE)
            .select_related("cohort")
        )
        for member in members:
            with transaction.atomic():
                # Compare-and-swap: only the scan that sets offered_at goes on.
                if not CohortMember.objects.filter(pk=member.pk, offered_at__isnull=True).update(offered_at=now):
                    continue
                until = member.cohort.funded_until
                flag_for_matching(
                    member.worker_id, "cohort_ending", until=until, detail={"cohort_id": member.cohort_id}
                )
                record_protection_action(
                    member.worker_id,
                    "offered",
                    detail={
                        "reason": "cohort_ending",
                        "cohort_id": member.cohort_id,
                        "funder": member.cohort.funder,
                        "ends_on": until.isoformat(),
                        "days_left": (until - today).days,
                    },
                    at=now,
                )
                offered += 1
    return offered


def protection_clock_scan(*, now: dt.datetime | None = None) -> dict:
    """The scheduled entry point: cohort offers, then reminders; one failing part does not stop the other."""
    now = now or timezone.now()
    result: dict[str, object] = {}
    try:
        result["offered"] = cohort_offers_send(now=now)
    except Exception:
        logger.exception("cohort offers failed")
        result["offered"] = "error"
    try:
        result.update(protection_reminders_send(now=now))
    except Exception:
        logger.exception("protection reminders failed")
        result["reminders"] = "error"
    logger.info("protection clock scan: %s", result)
    return result
