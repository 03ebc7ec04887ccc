"""Flag a worker to be offered to new sponsors first (see models/match_priority.py), and clear the flag."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from sponsorship.people.models import MatchPriority


def flag_for_matching(worker_id: int, reason: str, *, until: dt.date, detail: dict | None = None) -> MatchPriority:
    """One open flag per worker and reason: a second call moves `until` later (never earlier)."""
    reason = MatchPriority.Reason(reason)
    open_flag = MatchPriority.objects.filter(worker_id=worker_id, reason=reason, cleared_at__isnull=True)
    row = open_flag.select_for_update().first()
    if row is None:
        try:
            with transaction.atomic():
                return MatchPriority.objects.create(
                    worker_id=worker_id, reason=reason, until=until, detail=detail or {}
                )
        except IntegrityError:  # a parallel call created it first
            row = open_flag.select_for_update().get()
    if until > row.until:
        row.until = until
        row.save(update_fields=["until"])
    return row


def clear_match_priority(worker_id: int, reason: str | None = None, *, now: dt.datetime | None = None) -> int:
    """Clear the worker's open flags (all, or one reason); e.g. when a new sponsor accepts. Returns how many."""
    qs = MatchPriority.objects.filter(worker_id=worker_id, cleared_at__isnull=True)
    if reason is not None:
        qs = qs.filter(reason=MatchPriority.Reason(reason))
    return qs.update(cleared_at=now or timezone.now())


def flagged_for_matching(today: dt.date, outer: str = "pk"):
    """Exists() over the worker at OuterRef(outer): an open flag whose date has not passed."""
    return Exists(MatchPriority.objects.filter(Q(worker=OuterRef(outer)), cleared_at__isnull=True, until__gte=today))


def flagged_worker_ids(today: dt.date):
    """Values queryset of worker ids with an open flag on `today` (for SQL IN (...))."""
    return MatchPriority.objects.filter(cleared_at__isnull=True, until__gte=today).values("worker_id")
