"""The "counted by BPJS" figure: workers the BPJS branch counts towards the regency's targets.

Rule: a worker counts once they have at least `RegencyConfig.bpjs_counted_months` (default 6) paid contribution
months up to this month, from any payer (BPJS counts contributions, not who paid), and hold an active sponsorship in
the scope now. The branch reports the same count, so the regency's report matches the branch's.
"""

from django.db.models import Count, Q

from sponsorship.core.periods import local_today, month_start
from sponsorship.regions.models import RegencyConfig

from .scope import AdminScope


def counted_months(regency) -> int:
    config = RegencyConfig.objects.filter(regency=regency).only("bpjs_counted_months").first()
    return config.bpjs_counted_months if config else 6


def counted_by_bpjs(scope: AdminScope) -> dict:
    months = counted_months(scope.regency)
    this_month = month_start(local_today())
    covered = scope.active_sponsorships()
    counted = (
        covered.annotate(
            paid=Count(
                "worker__coverage_months",
                filter=Q(worker__coverage_months__month__lte=this_month),
                distinct=True,
            )
        )
        .filter(paid__gte=months)
        .count()
    )
    total = covered.count()
    return {
        "counted": counted,
        "covered": total,
        "not_yet": total - counted,
        "min_months": months,
        "counted_pct": round(100.0 * counted / total, 1) if total else None,
    }
