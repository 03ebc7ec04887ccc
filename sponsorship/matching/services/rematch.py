"""Re-matching: when a sponsorship ends, the worker goes back to the pool with high priority and the
nearest sponsor with free capacity gets a proposal at once (before the worker's protection lapses).

`sponsor_leave` is the wrapper for a sponsor who leaves or retires; `sponsorship_end_and_rematch`
is the one to call when a sponsorship ends for any other reason (e.g. unpaid past the lapse limit).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ConflictError
from notifications.services import notify
from sponsorship.core.audit import audit_record
from sponsorship.core.models import AuditLog
from sponsorship.core.transitions import transition_many
from sponsorship.matching import selectors as sel
from sponsorship.matching.models import Proposal
from sponsorship.people.models import LifeEvent, Sponsor, Sponsorship, Worker
from sponsorship.people.services.life_events import life_event_record
from sponsorship.people.services.sponsorships import sponsorship_end

LEAVE_REASONS: dict[str, Sponsorship.EndReason] = {
    Sponsor.Status.LEFT: Sponsorship.EndReason.SPONSOR_LEFT,
    Sponsor.Status.RETIRED: Sponsorship.EndReason.SPONSOR_RETIRED,
}


def _nearest_sponsor(worker: Worker, *, exclude_sponsor_ids, now):
    """(sponsor, distance_m, same_village) of the nearest active sponsor with an unreserved free slot."""
    regency = sel.regency_of_worker(worker)
    config = sel.regency_config(regency)
    radius = config.matching_radius_m
    village = worker.village
    near = Q(pk__in=[])
    if village.lat is not None and village.lon is not None:
        near |= sel._in_box("home_village__", sel.bbox(village.lat, village.lon, radius))
    if worker.lat is not None and worker.lon is not None:
        near |= sel._in_box("", sel.bbox(worker.lat, worker.lon, radius)) & Q(lat__isnull=False, lon__isnull=False)
    reserved = sel.open_reserved_counts(now)
    declined = set(
        Proposal.objects.filter(
            worker=worker,
            status=Proposal.Status.DECLINED,
            decided_at__gte=now - dt.timedelta(days=config.decline_cooldown_days),
        ).values_list("sponsor_id", flat=True)
    )
    rows = (
        Sponsor.objects.filter(
            near, agency__regency=regency, status=Sponsor.Status.ACTIVE, active_sponsorships__lt=F("capacity")
        )
        .exclude(pk__in=set(exclude_sponsor_ids) | declined)
        .values_list(
            "pk",
            "lat",
            "lon",
            "home_village_id",
            "home_village__lat",
            "home_village__lon",
            "capacity",
            "active_sponsorships",
        )
    )
    best = None
    for pk, lat, lon, hv, hvlat, hvlon, cap, active in rows:
        if cap - active - reserved.get(pk, 0) <= 0:
            continue
        d = sel.pair_distance_m(lat, lon, hvlat, hvlon, worker.lat, worker.lon, village.lat, village.lon)
        if d is None or d > radius:
            continue
        key = (hv != village.pk, d, pk)  # same village first, then nearest
        if best is None or key < best[0]:
            best = (key, pk, int(round(d)), hv == village.pk)
    if best is None:
        return None
    return Sponsor.objects.get(pk=best[1]), best[2], best[3]


def rematch_worker(*, worker: Worker, exclude_sponsor_ids=(), actor=None, now=None) -> Proposal | None:
    """Offer a worker who lost their sponsor to the nearest sponsor with room. None when nobody fits
    (the worker stays in the pool with high priority for on-demand proposals and the next run)."""
    now = now or timezone.now()
    worker = Worker.objects.select_related("village__parent__parent").get(pk=worker.pk)
    regency = sel.regency_of_worker(worker)
    if not sel.eligible_workers(regency, now=now).filter(pk=worker.pk).exists():
        return None
    if Proposal.objects.filter(
        worker=worker, status=Proposal.Status.OFFERED, expires_at__gt=now, source__in=sel.RESERVING_SOURCES
    ).exists():
        return None  # already held for someone
    previous = set(Sponsorship.objects.filter(worker=worker).values_list("sponsor_id", flat=True))
    found = _nearest_sponsor(worker, exclude_sponsor_ids=set(exclude_sponsor_ids) | previous, now=now)
    if found is None:
        return None
    sponsor, distance, same_village = found
    from sponsorship.matching.services.proposals import TTL

    lapsing = sel.eligible_workers(regency, now=now).filter(pk=worker.pk).filter(sel.recently_unsponsored(now)).exists()
    with transaction.atomic():
        proposal, created = Proposal.objects.get_or_create(
            sponsor=sponsor,
            worker=worker,
            status=Proposal.Status.OFFERED,
            defaults={
                "source": Proposal.Source.REMATCH,
                "distance_m": distance,
                "same_village": same_village,
                "priority": sel.priority_of(worker.welfare_decile, lapsing),
                "expires_at": now + TTL[Proposal.Source.REMATCH],
            },
        )
        if created:
            audit_record(
                actor=actor,
                action="proposal.rematch",
                obj=proposal,
                after={"sponsor": sponsor.pk, "worker": worker.pk, "distance_m": distance},
            )
            transaction.on_commit(lambda: notify_proposals(sponsor_id=sponsor.pk, proposal_ids=[proposal.pk]))
    return proposal


def sponsorship_end_and_rematch(*, sponsorship: Sponsorship, reason: str, actor=None, now=None) -> Proposal | None:
    now = now or timezone.now()
    with transaction.atomic():
        if not sponsorship_end(sponsorship=sponsorship, reason=reason, actor=actor, ended_at=now):
            return None
        return rematch_worker(
            worker=sponsorship.worker, exclude_sponsor_ids=[sponsorship.sponsor_id], actor=actor, now=now
        )


LEAVE_KINDS: dict[str, str] = {
    Sponsor.Status.LEFT: LifeEvent.Kind.SPONSOR_LEFT_SERVICE,
    Sponsor.Status.RETIRED: LifeEvent.Kind.SPONSOR_RETIRED,
}


def sponsor_leave(*, sponsor: Sponsor, status: str = Sponsor.Status.LEFT, actor=None, now=None) -> list[Proposal]:
    """The sponsor leaves the scheme (left the civil service, retired): the life event of that name ends every
    sponsorship and re-matches each worker (people/services/life_events.py)."""
    if status not in LEAVE_KINDS:
        raise ConflictError(_("Unknown leave status."), code="invalid")
    result = life_event_record(kind=LEAVE_KINDS[status], sponsor=sponsor, actor=actor, now=now or timezone.now())
    sponsor.refresh_from_db()
    return list(result.rematched)


def offers_withdraw(*, worker_ids, sponsor_ids, now=None) -> int:
    """Withdraw the open offers of these workers and to these sponsors (a life event made them void)."""
    if not worker_ids and not sponsor_ids:
        return 0
    return transition_many(
        Proposal.objects.filter(Q(worker_id__in=list(worker_ids)) | Q(sponsor_id__in=list(sponsor_ids))),
        to=Proposal.Status.WITHDRAWN,
        decided_at=now or timezone.now(),
    )


def sponsor_leave_request(*, sponsor: Sponsor, reason: str, actor=None) -> bool:
    """The sponsor asks, in the app, to leave the scheme. Nothing ends yet: the request is recorded for the
    agency admin, who decides the date and the hand-over (`sponsor_leave`), so no worker is dropped by a tap.
    False when the same request is already open (asked before and the sponsor is still active)."""
    if sponsor.status != Sponsor.Status.ACTIVE:
        raise ConflictError(_("This sponsor is no longer active."), code="sponsor_inactive")
    with transaction.atomic():
        Sponsor.objects.select_for_update().filter(pk=sponsor.pk).first()  # one request at a time per sponsor
        if AuditLog.objects.filter(
            action="sponsor.leave_request", object_type=sponsor._meta.label_lower, object_id=str(sponsor.pk)
        ).exists():
            return False
        audit_record(actor=actor, action="sponsor.leave_request", obj=sponsor, extra={"reason": reason[:300]})
    return True


# -- notifications ----------------------------------------------------------------------------------
def notify_proposals(*, sponsor_id: int, proposal_ids: list[int]) -> bool:
    """One push per sponsor and batch; dedupe_key = the batch's first proposal id (stable on retries)."""
    if not proposal_ids:
        return False
    sponsor = Sponsor.objects.select_related("user").filter(pk=sponsor_id).first()
    if sponsor is None or sponsor.user is None:
        return False
    with transaction.atomic():
        notify(
            user=sponsor.user,
            kind="matching_proposal",
            context={"sponsor_name": sponsor.full_name.split(" ")[0], "workers": len(proposal_ids)},
            dedupe_key=f"proposal:{min(proposal_ids)}",
            data={"screen": "proposals", "proposal_id": str(min(proposal_ids))},
        )
    return True
