"""A regency's settings as its admin sees them: the saved values (or the defaults), when its daily jobs start in
its own zone, and the premium rates that apply to it (its own rows first, then the national ones)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from sponsorship.billing.models import PremiumRate
from sponsorship.regions import scheduling
from sponsorship.regions.models import RegencyConfig, RegencyHoliday, Region
from sponsorship.regions.services import REGENCY_CONFIG_FIELDS


def regency_settings(regency: Region) -> dict:
    config = RegencyConfig.objects.filter(regency=regency).first()
    saved = config is not None
    config = config or RegencyConfig(regency=regency)
    slot = scheduling.slot_delay(regency.code)
    return {
        "regency": {"code": regency.code, "name": regency.name},
        "saved": saved,
        "settings": {name: getattr(config, name) for name in REGENCY_CONFIG_FIELDS},
        "schedule": {
            "zone": config.get_timezone_display(),
            "billing_starts": _local_time(config.billing_hour, BILLING_TICK_MINUTE, slot),
            "payday_wave_starts": _local_time(config.reminder_hour, PAYDAY_TICK_MINUTE, slot),
        },
        "rates": regency_rates(regency),
        "holidays": [
            {"date": h.date, "name": h.name} for h in RegencyHoliday.objects.filter(regency=regency).order_by("date")
        ],
    }


# the minutes of the hourly dispatchers in billing/schedule.py; the slot delays the regency's task after the tick
BILLING_TICK_MINUTE = 30
PAYDAY_TICK_MINUTE = 10


def _local_time(hour: int, tick_minute: int, slot_s: int) -> str:
    minutes = hour * 60 + tick_minute + slot_s // 60
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def regency_rates(regency: Region, *, today: dt.date | None = None) -> list[dict]:
    """Rate rows valid today or later that apply to the regency: its own rows first, then the national ones."""
    today = today or timezone.localdate()
    rows = PremiumRate.objects.filter(Q(regency=regency) | Q(regency__isnull=True)).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=today)
    )
    out = []
    for r in sorted(rows, key=lambda r: (r.regency_id is None, -r.priority, r.valid_from)):
        out.append(
            {
                "id": r.pk,
                "name": r.name,
                "own": r.regency_id is not None,
                "valid_from": r.valid_from,
                "valid_to": r.valid_to,
                "sector": r.sector,
                "funding_source": r.funding_source,
                "declared_income_idr": r.declared_income_idr,
                "jkk_rate_bp": r.jkk_rate_bp,
                "jkm_idr": r.jkm_idr,
                "discount_pct": r.discount_pct,
                "priority": r.priority,
            }
        )
    return out
