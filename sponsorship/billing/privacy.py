"""Billing's part of a worker's personal data: the coverage months are exported; nothing is erased (the financial
records stay, pointing at the anonymised worker; see people.services.privacy)."""

from .models import CoverageMonth


def coverage_months(worker) -> list:
    return [
        {"month": c.month.isoformat(), "jkk_idr": c.jkk_idr, "jkm_idr": c.jkm_idr}
        for c in CoverageMonth.objects.filter(worker=worker).order_by("month")
    ]


def contribution_months(worker_id: int) -> int:
    """How many months of premium were paid for this worker (the coverage ledger)."""
    return CoverageMonth.objects.filter(worker_id=worker_id).count()
