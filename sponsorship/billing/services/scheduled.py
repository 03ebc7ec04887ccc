"""Billing runs and payday reminder waves per regency, at the regency's local hour, spread over the hour.

Beat fires the two dispatchers hourly (billing/schedule.py). Each asks `regions.scheduling.regencies_due` which
regencies (those with an agency, i.e. with sponsors to bill) have reached their local hour and not yet run the
job on their local date, and enqueues one task per regency, delayed by the regency's stable slot. The task
claims (job, regency, local date) first, so duplicates are no-ops, then runs the same services as before with
`regency_id`: the set-based billing run limited to the regency, the payday wave of billing/reminders.py.
Without a broker (dev, `run_scheduler`) the task runs in-process at once.

The reminder scan (invoice due/overdue, coverage, new sponsor: billing/reminders.py) is per regency too, but not
claimed once a day: `reminder_scan_dispatch` enqueues every regency (with an agency or a worker) every hour, with
the same stable slot as countdown, and each task evaluates the regency's local date when it runs. The scan is
idempotent through its outbox keys, and the hourly re-runs are what deliver a "protected" or "new sponsor"
message within the hour of a payment or a match, as the whole-deployment scan did; a once-a-day claim would
suppress them. A regency whose scan fails (or cannot be enqueued and then fails in-process) is logged and the
others go on.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Exists, OuterRef
from django.utils import timezone

from sponsorship.billing.reminders import payday_reminders_send, reminders_scan
from sponsorship.billing.services.billing import billing_run, periods_to_bill
from sponsorship.people.models import Agency, Worker
from sponsorship.regions import scheduling
from sponsorship.regions.models import Region

logger = logging.getLogger(__name__)


def regencies_with_agencies() -> list[int]:
    return list(Agency.objects.order_by().values_list("regency_id", flat=True).distinct())


def _dispatch(job: str, task, run_inline, *, now: dt.datetime | None) -> list[scheduling.RegencySlot]:
    slots = scheduling.regencies_due(job, regencies_with_agencies(), now=now)
    for slot in slots:
        args = [slot.regency_id, slot.local_date.isoformat()]
        try:
            task.apply_async(args=args, countdown=slot.delay_s)
        except Exception:  # noqa: BLE001 - broker down: the claim makes running it here safe
            logger.exception("could not enqueue %s for regency %s; running it now", job, slot.regency_id)
            run_inline(regency_id=slot.regency_id, local_date=slot.local_date)
    logger.info("%s dispatch: %s regencies due", job, len(slots))
    return slots


def billing_dispatch(*, now: dt.datetime | None = None) -> list[scheduling.RegencySlot]:
    from sponsorship.billing import tasks  # tasks imports this module

    return _dispatch(scheduling.BILLING, tasks.run_billing_regency, billing_run_for_regency, now=now)


def payday_dispatch(*, now: dt.datetime | None = None) -> list[scheduling.RegencySlot]:
    from sponsorship.billing import tasks  # tasks imports this module

    return _dispatch(scheduling.PAYDAY_REMINDERS, tasks.send_payday_reminders, payday_wave_for_regency, now=now)


def _claimed(job: str, regency_id: int, local_date: dt.date, work, now: dt.datetime | None) -> dict | None:
    now = now or timezone.now()
    run_id = scheduling.job_claim(job=job, regency_id=regency_id, local_date=local_date, now=now)
    if run_id is None:
        return None  # done today, or running elsewhere
    try:
        result = work()
    except Exception:
        scheduling.job_release(run_id=run_id)  # the next dispatcher tick tries again
        raise
    scheduling.job_finish(run_id=run_id, result=result)
    return result


def billing_run_for_regency(*, regency_id: int, local_date: dt.date, now: dt.datetime | None = None) -> dict | None:
    """The regency's daily billing run on its local date (this month's late additions; next month in the window)."""

    def work() -> dict:
        results = [billing_run(period=period, regency_id=regency_id, now=now) for period in periods_to_bill(local_date)]
        return {r.period.isoformat(): {"invoices": r.invoices, "amount_idr": r.amount_idr} for r in results}

    return _claimed(scheduling.BILLING, regency_id, local_date, work, now)


def payday_wave_for_regency(*, regency_id: int, local_date: dt.date, now: dt.datetime | None = None) -> dict | None:
    def work() -> dict:
        return {"sent": payday_reminders_send(regency_id=regency_id, today=local_date, now=now)}

    return _claimed(scheduling.PAYDAY_REMINDERS, regency_id, local_date, work, now)


# ---- the hourly reminder scan, one task per regency ----------------------------------------------------------
def regencies_with_people() -> list[int]:
    """Regencies that own reminder rows: those with an agency (invoices) or a worker (coverage, new sponsor)."""
    workers = Worker.objects.filter(village__parent__parent_id=OuterRef("pk"))
    with_workers = (
        Region.objects.filter(level=Region.Level.REGENCY).filter(Exists(workers)).values_list("pk", flat=True)
    )
    return sorted(set(regencies_with_agencies()) | set(with_workers))


def reminder_scan_dispatch(*, now: dt.datetime | None = None) -> list[scheduling.RegencySlot]:
    """Enqueue one reminder scan per regency, delayed by its slot; every hour, whatever the local hour."""
    from sponsorship.billing import tasks  # tasks imports this module

    now = now or timezone.now()
    configs = scheduling.configs_for(regencies_with_people())
    codes = dict(Region.objects.filter(pk__in=configs).values_list("pk", "code"))
    slots = []
    for rid, config in configs.items():
        code = codes.get(rid, str(rid))
        try:
            local_date = scheduling.local_now(config, now).date()
        except Exception:  # noqa: BLE001 - a broken zone: the regency's own scan fails and logs it
            local_date = timezone.localdate(now)
        slots.append(scheduling.RegencySlot(rid, code, config.timezone, local_date, scheduling.slot_delay(code)))
    slots.sort(key=lambda s: (s.delay_s, s.regency_id))
    failed = 0
    for slot in slots:
        try:
            tasks.scan_reminders_regency.apply_async(args=[slot.regency_id], countdown=slot.delay_s)
        except Exception:  # noqa: BLE001 - broker down: run it here (idempotent), and go on with the others
            logger.exception("could not enqueue the reminder scan of regency %s; running it now", slot.regency_id)
            try:
                reminders_scan(regency_id=slot.regency_id, now=now)
            except Exception:  # noqa: BLE001 - one regency's failure must not stop the others
                failed += 1
                logger.exception("reminder scan of regency %s failed", slot.regency_id)
    logger.info("reminder scan dispatch: %s regencies (%s failed in-process)", len(slots), failed)
    return slots
