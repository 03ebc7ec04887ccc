"""The ledger check's results for /metrics, read from its audit rows at scrape time (services/ledger.py writes
one per regency and run; backend/observability/metrics.py collects this)."""

import datetime as dt

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from sponsorship.core.audit import AuditAction
from sponsorship.core.models import AuditLog
from sponsorship.regions.models import Region

# Regencies not checked within this window are left out (a stopped nightly check shows as a stale last run).
WINDOW = dt.timedelta(days=8)


def collect():
    rows = list(
        AuditLog.objects.filter(action=AuditAction.LEDGER_CHECK, at__gte=timezone.now() - WINDOW)
        .order_by("object_id", "-at")
        .distinct("object_id")
        .values_list("object_id", "at", "after")
    )
    codes = dict(Region.objects.filter(pk__in=[int(r[0]) for r in rows if r[0].isdigit()]).values_list("pk", "code"))
    last_run = GaugeMetricFamily(
        "pengampu_ledger_check_last_run_timestamp_seconds",
        "When each regency's ledger was last checked (Unix time).",
        labels=["regency"],
    )
    violations = GaugeMetricFamily(
        "pengampu_ledger_check_violations",
        "Invariant violations found by each regency's last ledger check (0: all hold).",
        labels=["regency"],
    )
    per_check: dict[str, int] = {}
    for object_id, at, after in rows:
        code = codes.get(int(object_id)) if object_id.isdigit() else None
        if code is None:
            continue
        counts = (after or {}).get("violations") or {}
        last_run.add_metric([code], at.timestamp())
        violations.add_metric([code], sum(int(n) for n in counts.values()))
        for name, n in counts.items():
            per_check[name] = per_check.get(name, 0) + int(n)
    yield last_run
    yield violations
    by_check = GaugeMetricFamily(
        "pengampu_ledger_check_violations_by_check",
        "Violations of each invariant over every regency's last check.",
        labels=["check"],
    )
    for name, n in sorted(per_check.items()):
        by_check.add_metric([name], n)
    yield by_check
