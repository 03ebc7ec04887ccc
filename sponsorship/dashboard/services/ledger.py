"""The nightly ledger check: run the invariants per regency, record the result, alert the regency's admins.

Reads the ledger (sponsorship/dashboard/invariants.py) and writes only its own traces: one `ledger.check` audit
row per regency (the result: ok, counts per check, the first violations) and, when something broke, one
"ledger_alert" notification per regency admin per day (Indonesian unless the admin chose English).
"""

import datetime as dt
import logging

from django.db import transaction

from backend.observability.metrics import LEDGER_CHECK_DURATION, timed_call
from notifications.services import NotifyRequest, batched_sends, notify_bulk
from sponsorship.core.audit import AuditAction, audit_record
from sponsorship.core.periods import local_today
from sponsorship.dashboard.invariants import LedgerReport, ledger_check
from sponsorship.people.models import Profile, Role
from sponsorship.regions.models import Region

logger = logging.getLogger(__name__)
SAMPLE = 20  # violations kept in the audit row; `manage.py check_ledger` shows them all


def ledger_check_regency(*, regency: Region, today: dt.date | None = None, gateway=False) -> LedgerReport:
    """Check one regency, record the result and, when an invariant broke, alert its regency admins."""
    today = today or local_today()
    report = ledger_check(regency=regency, today=today, gateway=gateway)
    summary = report.to_dict()
    counts = {c["name"]: c["violations"] for c in summary["checks"]}
    broken = sorted(name for name, n in counts.items() if n)
    with transaction.atomic(), batched_sends():
        audit_record(
            actor=None,
            action=AuditAction.LEDGER_CHECK,
            obj=regency,
            after={
                "today": summary["today"],
                "ok": report.ok,
                "violations": counts,
                "sample": [{"check": c["name"], **d} for c in summary["checks"] for d in c["details"][:SAMPLE]][
                    :SAMPLE
                ],
            },
        )
        if broken:
            admins = Profile.objects.filter(role=Role.REGENCY_ADMIN, regency=regency).values_list("user_id", flat=True)
            notify_bulk(
                [
                    NotifyRequest(
                        user_id=user_id,
                        kind="ledger_alert",
                        dedupe_key=f"ledger_alert:{user_id}:{today.isoformat()}",
                        context={
                            "regency": regency.name,
                            "regency_code": regency.code,
                            "violations": sum(counts.values()),
                            "checks": ", ".join(broken),
                        },
                        data={"regency": regency.code},
                    )
                    for user_id in admins
                ]
            )
    if broken:
        logger.error("ledger check %s: %s", regency.code, {k: counts[k] for k in broken})
    return report


@timed_call(LEDGER_CHECK_DURATION)
def ledger_check_nightly(*, today: dt.date | None = None) -> dict[str, int]:
    """Every regency with agencies: {regency code: violations} (0 = all invariants hold)."""
    out = {}
    for regency in (
        Region.objects.filter(level=Region.Level.REGENCY, agencies__isnull=False).distinct().order_by("code")
    ):
        report = ledger_check_regency(regency=regency, today=today)
        out[regency.code] = sum(c.count for c in report.checks)
    return out
