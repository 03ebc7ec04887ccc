"""Per-regency scheduling: each regency's daily jobs at its own local hour, spread over slots, claimed once a day.

Beat fires one dispatcher per job every hour (billing/schedule.py). The dispatcher asks `regencies_due` which
regencies have reached their local hour (RegencyConfig.billing_hour / reminder_hour in the regency's zone,
WIB/WITA/WIT) and have not run the job on their local date yet, and enqueues one task per regency with a delay:
a stable slot from a hash of the regency code, so 500 regencies that share a zone and an hour start spread over
`SPREAD_SECONDS` instead of at the same second, and a regency always gets the same slot (no drift day to day).
The per-regency task claims (job, regency, local date) with `job_claim` before it works, so a duplicate
enqueue (the next hourly tick, a second beat, a retry) is a no-op, and a dispatcher that was down catches up
at its next tick (the hour is a "from", not an "at"). A claim whose task died unfinished is taken again after
`STALE_AFTER`.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from .models import RegencyConfig, RegencyJobRun, Region

SPREAD_SECONDS = 50 * 60  # the slots fill the first 50 minutes of the hour; the dispatcher runs at most hourly
SLOT_SECONDS = 30
STALE_AFTER = dt.timedelta(hours=2)

BILLING = "billing"
PAYDAY_REMINDERS = "payday_reminders"
JOB_HOURS = {BILLING: "billing_hour", PAYDAY_REMINDERS: "reminder_hour"}


@dataclass(frozen=True)
class RegencySlot:
    regency_id: int
    code: str
    zone: str
    local_date: dt.date
    delay_s: int


def slot_delay(code: str) -> int:
    """A stable delay for a regency within the hour: crc32 of its code over SPREAD_SECONDS / SLOT_SECONDS slots."""
    slots = SPREAD_SECONDS // SLOT_SECONDS
    return (zlib.crc32(code.encode()) % slots) * SLOT_SECONDS


def config_for(regency_id: int) -> RegencyConfig:
    """The regency's saved settings, or the defaults (an unsaved config) when it has none."""
    return RegencyConfig.objects.filter(regency_id=regency_id).first() or RegencyConfig(regency_id=regency_id)


def configs_for(regency_ids: Iterable[int]) -> dict[int, RegencyConfig]:
    ids = set(regency_ids)
    saved = {c.regency_id: c for c in RegencyConfig.objects.filter(regency_id__in=ids)}
    return {rid: saved.get(rid) or RegencyConfig(regency_id=rid) for rid in ids}


def local_now(config: RegencyConfig, now: dt.datetime) -> dt.datetime:
    return now.astimezone(ZoneInfo(config.timezone))


def regencies_due(job: str, regency_ids: Iterable[int], *, now: dt.datetime | None = None) -> list[RegencySlot]:
    """The regencies (of `regency_ids`) whose local hour for `job` has come today and that have not claimed it."""
    now = now or timezone.now()
    hour_field = JOB_HOURS[job]
    configs = configs_for(regency_ids)
    codes = dict(Region.objects.filter(pk__in=configs).values_list("pk", "code"))
    candidates = []
    for rid, config in configs.items():
        local = local_now(config, now)
        if local.hour >= getattr(config, hour_field):
            candidates.append((rid, config.timezone, local.date()))
    done = set(
        RegencyJobRun.objects.filter(job=job, regency_id__in=[c[0] for c in candidates])
        .filter(finished_at__isnull=False)
        .values_list("regency_id", "local_date")
    )
    return sorted(
        (
            RegencySlot(rid, codes.get(rid, str(rid)), zone, day, slot_delay(codes.get(rid, str(rid))))
            for rid, zone, day in candidates
            if (rid, day) not in done
        ),
        key=lambda s: (s.delay_s, s.regency_id),
    )


_CLAIM_SQL = """
INSERT INTO {table} (job, regency_id, local_date, started_at, finished_at, result)
VALUES (%(job)s, %(regency)s, %(day)s, %(now)s, NULL, '{{}}')
ON CONFLICT (job, regency_id, local_date) DO UPDATE SET started_at = EXCLUDED.started_at
    WHERE {table}.finished_at IS NULL AND {table}.started_at < %(stale)s
RETURNING id
"""


def job_claim(*, job: str, regency_id: int, local_date: dt.date, now: dt.datetime | None = None) -> int | None:
    """Claim the regency's job for its local date: the run's id, or None when it is done or running elsewhere."""
    now = now or timezone.now()
    table = connection.ops.quote_name(RegencyJobRun._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL.format(table=table),
            {"job": job, "regency": regency_id, "day": local_date, "now": now, "stale": now - STALE_AFTER},
        )
        row = cursor.fetchone()
    return row[0] if row else None


def job_finish(*, run_id: int, result: dict, now: dt.datetime | None = None) -> None:
    RegencyJobRun.objects.filter(pk=run_id).update(finished_at=now or timezone.now(), result=result)


def job_release(*, run_id: int) -> None:
    """A failed job gives its claim back so the next tick retries it."""
    RegencyJobRun.objects.filter(pk=run_id, finished_at__isnull=True).delete()
