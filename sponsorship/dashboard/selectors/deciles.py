"""DTSEN reads for the dashboard: workers flagged above the decile cut-off, and the rounds imported."""

from django.db.models import Count, Q, QuerySet

from sponsorship.people.models import DecileReview, DecileRound, Sponsorship, Worker, WorkerDecile

from .scope import AdminScope


def flagged_workers(scope: AdminScope) -> QuerySet:
    """Workers waiting for the admin's decision: a regency admin's whole regency, an agency admin the workers its
    ASN sponsor now (the decision is about that sponsorship)."""
    qs = Worker.objects.filter(
        village__parent__parent=scope.regency, decile_review=DecileReview.PENDING, anonymized_at__isnull=True
    )
    if scope.agency is not None:
        qs = qs.filter(
            Q(sponsorships__sponsor__agency=scope.agency) & Q(sponsorships__status=Sponsorship.Status.ACTIVE)
        ).distinct()
    return qs


def decile_worklist(scope: AdminScope) -> list[dict]:
    workers = list(flagged_workers(scope).select_related("village").order_by("village__name", "full_name")[:500])
    ids = [w.pk for w in workers]
    previous: dict[int, WorkerDecile] = {}
    for h in WorkerDecile.objects.filter(worker_id__in=ids).order_by("worker_id", "-round__ranked_on"):
        previous.setdefault(h.worker_id, h)
    sponsors = {
        s["worker_id"]: s["sponsor__agency__short_name"] or s["sponsor__agency__name"]
        for s in Sponsorship.objects.filter(worker_id__in=ids, status=Sponsorship.Status.ACTIVE).values(
            "worker_id", "sponsor__agency__short_name", "sponsor__agency__name"
        )
    }
    return [
        {
            "worker_id": w.pk,
            "name": w.full_name,
            "village": w.village.name,
            "decile": w.welfare_decile,
            "previous": previous[w.pk].previous_decile if w.pk in previous else None,
            "ranked_on": previous[w.pk].round.ranked_on if w.pk in previous else None,
            "agency": sponsors.get(w.pk, ""),
        }
        for w in workers
    ]


def decile_rounds(scope: AdminScope, limit: int = 8) -> list[dict]:
    rows = (
        DecileRound.objects.filter(regency=scope.regency)
        .annotate(
            workers=Count("worker_deciles"),
            above=Count("worker_deciles", filter=Q(worker_deciles__above_cutoff=True)),
        )
        .order_by("-ranked_on")
        .values("id", "ranked_on", "source", "workers", "above", "created_at")[:limit]
    )
    return [dict(r) for r in rows]
