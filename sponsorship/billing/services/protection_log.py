"""The one way to record what was done for a worker whose protection is at risk (see models/protection.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from sponsorship.billing.models import ProtectionAction

Kind = ProtectionAction.Kind


def record_protection_action(
    worker_id: int, kind: str, *, detail: dict | None = None, at: dt.datetime | None = None, by=None
) -> ProtectionAction:
    """Add one row. Call inside the transaction of the change it records, so a rolled-back step leaves none."""
    kind = Kind(kind)  # a typo is an error, not a row nobody finds again
    return ProtectionAction.objects.create(
        worker_id=worker_id, kind=kind, detail=detail or {}, at=at or timezone.now(), created_by=by
    )


def latest_actions(worker_ids: Iterable[int], *, since: dt.datetime | None = None) -> dict[int, list[ProtectionAction]]:
    """The actions per worker, newest first (optionally only those at or after `since`)."""
    qs = ProtectionAction.objects.filter(worker_id__in=list(worker_ids))
    if since is not None:
        qs = qs.filter(at__gte=since)
    out: dict[int, list[ProtectionAction]] = {}
    for row in qs.order_by("worker_id", "-at", "-pk"):
        out.setdefault(row.worker_id, []).append(row)
    return out
