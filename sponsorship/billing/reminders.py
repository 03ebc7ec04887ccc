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
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from backend.formats import period_label
from notifications.services import NotifyRequest, batched_sends, notify_bulk, timezones_for
from sponsorship.billing.models import Invoice
from sponsorship.billing.selectors.coverage import worker_coverage_status
from sponsorship.people.models import Profile, Role, Sponsorship, Worker

logger = logging.getLogger(__name__)

DUE_SOON_DAYS = 3
OVERDUE_DAYS = (3, 7)
NEW_SPONSOR_LOOKBACK_DAYS = 7


def _end_of_day(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)


def invoice_reminder_requests(*, today: dt.date) -> list[NotifyRequest]:
    """Due in 3 days, due today, overdue by 3 and 7 days, for every unpaid invoice."""
    targets = {
        today + dt.timedelta(days=DUE_SOON_DAYS): ("invoice_due_soon", DUE_SOON_DAYS),
        today: ("invoice_due_today", 0),
    }
    for days in OVERDUE_DAYS:
        targets[today - dt.timedelta(days=days)] = ("invoice_overdue", days)
    invoices = list(
        Invoice.objects.filter(status=Invoice.Status.ISSUED, due_date__in=list(targets), sponsor__user__isnull=False)
        .select_related("sponsor")
        .annotate(workers=Count("lines__worker", distinct=True))
    )
    zones = timezones_for({i.sponsor.user_id for i in invoices if i.sponsor is not None})
    requests = []
    for invoice in invoices:
        kind, days = targets[invoice.due_date]
        sponsor = invoice.sponsor
        assert sponsor is not None  # filtered on sponsor__user__isnull=False: self-pay links are not reminded here
        user_id = sponsor.user_id
        assert user_id is not None  # filtered on sponsor__user__isnull=False
        tz = zones[user_id]
        # Lifetime ends with the due date (an undelivered "due in 3 days" is useless after it);
        # an overdue notice lives until the end of the day it was written for.
        expires = _end_of_day(max(invoice.due_date, today), tz)
        requests.append(
            NotifyRequest(
                user_id=user_id,
                kind=kind,
                dedupe_key=f"invoice:{invoice.pk}:reminder:{today}",
                context={
                    "sponsor_name": sponsor.full_name,
                    "amount_idr": invoice.amount_idr,
                    "due_date": invoice.due_date,
                    "invoice_id": invoice.pk,
                    "invoice_number": invoice.number,
                    "days": days,
                    "workers": invoice.workers,
                    "period_label": period_label(invoice.period),
                },
                data={"invoice_id": str(invoice.pk), "due_date": invoice.due_date.isoformat()},
                collapse_key=f"invoice-{invoice.pk}",
                expires_at=expires,
            )
        )
    return requests


def coverage_requests(*, today: dt.date) -> list[NotifyRequest]:
    """Workers' protection: at risk / lapsing (to worker and sponsor), lapsed, protected until."""
    sponsor_user_of = dict(
        Sponsorship.objects.filter(status=Sponsorship.Status.ACTIVE, sponsor__user__isnull=False).values_list(
            "worker_id", "sponsor__user_id"
        )
    )
    workers = Worker.objects.filter(anonymized_at__isnull=True).filter(
        pk__in=set(sponsor_user_of)
    ) | Worker.objects.filter(anonymized_at__isnull=True, user__isnull=False)
    requests = []
    week = dt.timedelta(days=7)
    for worker in workers.distinct().select_related("occupation").iterator(chunk_size=500):
        status = worker_coverage_status(worker, today=today)
        ctx = {
            "worker_name": worker.full_name,
            "protected_until": status.protected_until,
            "due_date": status.next_due_date,
            "amount_idr": status.arrears_idr,
        }
        sponsor_user = sponsor_user_of.get(worker.pk)
        if status.state == "grace" and status.arrears_months >= 1:
            if sponsor_user:
                requests.append(
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
                requests.append(
                    NotifyRequest(
                        user_id=worker.user_id,
                        kind="worker_at_risk",
                        context=ctx,
                        dedupe_key=f"worker:{worker.pk}:at_risk:{status.next_due_date}",
                        collapse_key="status-kepesertaan",
                        expires_at=timezone.now() + week,
                    )
                )
        elif worker.user_id and status.state == "lapsed":
            requests.append(
                NotifyRequest(
                    user_id=worker.user_id,
                    kind="worker_lapsed",
                    context=ctx,
                    dedupe_key=f"worker:{worker.pk}:lapsed:{status.protected_until}",
                    collapse_key="status-kepesertaan",
                    expires_at=timezone.now() + week,
                )
            )
        elif worker.user_id and status.state == "protected":
            requests.append(
                NotifyRequest(
                    user_id=worker.user_id,
                    kind="worker_protected",
                    context=ctx,
                    dedupe_key=f"worker:{worker.pk}:protected:{status.protected_until}",
                    collapse_key="status-kepesertaan",
                    expires_at=timezone.now() + week,
                )
            )
    return requests


def new_sponsor_requests(*, now: dt.datetime) -> list[NotifyRequest]:
    recent = Sponsorship.objects.filter(
        status=Sponsorship.Status.ACTIVE,
        worker__user__isnull=False,
        started_at__gte=now - dt.timedelta(days=NEW_SPONSOR_LOOKBACK_DAYS),
    ).select_related("sponsor", "worker")
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


def reminders_scan(*, today: dt.date | None = None, now: dt.datetime | None = None) -> dict:
    """One pass over everything that may need a reminder; safe to run any number of times."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    counts: dict[str, int | str] = {}
    for name, build in (
        ("invoices", lambda: invoice_reminder_requests(today=today)),
        ("coverage", lambda: coverage_requests(today=today)),
        ("new_sponsor", lambda: new_sponsor_requests(now=now)),
    ):
        try:
            requests = build()
        except Exception:  # one broken part must not stop the others
            logger.exception("reminder scan part %s failed", name)
            counts[name] = "error"
            continue
        with transaction.atomic(), batched_sends():
            counts[name] = len(notify_bulk(requests, now=now))
    logger.info("reminder scan for %s: %s", today, counts)
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
        agg = overdue.aggregate(n=Count("pk"), total=Sum("amount_idr"), workers=Count("lines__worker", distinct=True))
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
