"""Precomputed area figures: one RegencyFigures row per regency in the programme, so a province or national page
reads a row per regency (selectors/areas.py) instead of computing each regency's figures (~1 s each, cold).

`area_figures_refresh` rewrites the rows older than `stale_after` (all of them by default), oldest first, each
regency in its own short transaction, and stops after `budget_s` seconds so a periodic run never overlaps the
next: at 514 regencies the rows are refreshed over a few runs, and every row says when it was computed.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from sponsorship.regions.models import Region

from ..models import RegencyFigures
from ..selectors.areas import programme_regencies, regency_figures_live

logger = logging.getLogger(__name__)


def regency_figures_refresh(regency: Region, *, now: dt.datetime | None = None) -> RegencyFigures:
    values = regency_figures_live(regency)
    with transaction.atomic():
        figures, _ = RegencyFigures.objects.update_or_create(
            regency=regency, defaults={**values, "computed_at": now or timezone.now()}
        )
    return figures


def area_figures_refresh(
    *,
    stale_after: dt.timedelta | None = None,
    budget_s: float | None = None,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Refresh the rows of the programme's regencies computed before now - `stale_after` (None: all), and
    remove rows of regencies no longer in the programme. Returns counts (refreshed, left for the next run)."""
    now = now or timezone.now()
    started = time.monotonic()
    regencies = list(
        programme_regencies()
        .annotate(computed_at=F("area_figures__computed_at"))
        .order_by(F("computed_at").asc(nulls_first=True), "code")
    )
    RegencyFigures.objects.exclude(regency__in=regencies).delete()
    due = [r for r in regencies if stale_after is None or r.computed_at is None or r.computed_at < now - stale_after]
    done = 0
    for regency in due:
        if budget_s is not None and done and time.monotonic() - started > budget_s:
            break
        regency_figures_refresh(regency, now=timezone.now())
        done += 1
    result = {"regencies": len(regencies), "refreshed": done, "left": len(due) - done}
    logger.info("area figures refreshed: %s in %.1f s", result, time.monotonic() - started)
    return result
