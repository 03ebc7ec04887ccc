"""Proposals: offer nearby workers to a sponsor, accept (→ sponsorship) or decline (→ cooldown).

Races are decided by the database: `sponsorship_start` holds the one-active-sponsor index and the
capacity counter; the proposal's own state moves with conditional UPDATEs (offered → ...), so a
proposal is decided once. Accept starts the sponsorship *before* touching proposal rows, so two
sponsors accepting the same worker never wait on each other's proposal rows (no deadlock): the
loser only waits on the unique index and then gets ConflictError.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ConflictError
from sponsorship.core.audit import audit_record
from sponsorship.core.transitions import transition, transition_many
from sponsorship.matching.models import Proposal
from sponsorship.matching.selectors import candidates_for_sponsor
from sponsorship.people.models import Sponsor, Sponsorship, Worker
from sponsorship.people.services.sponsorships import WORKER_TAKEN, sponsorship_start

TTL = {
    Proposal.Source.ON_DEMAND: dt.timedelta(days=3),
    Proposal.Source.MATCHING_RUN: dt.timedelta(days=14),
    Proposal.Source.REMATCH: dt.timedelta(days=14),
}
PROPOSAL_CLOSED = _("This proposal is no longer open. Please look at the latest proposals.")


def rank_key(p: Proposal):
    return (not p.same_village, -p.priority, p.distance_m, p.worker_id)


def proposals_expire(*, sponsor: Sponsor | None = None, now=None) -> int:
    now = now or timezone.now()
    qs = Proposal.objects.filter(expires_at__lte=now)
    if sponsor is not None:
        qs = qs.filter(sponsor=sponsor)
    return transition_many(qs, to=Proposal.Status.EXPIRED, decided_at=now)


def _open_after_cleanup(sponsor: Sponsor, now) -> list[Proposal]:
    """The sponsor's open offers, after expiring the lapsed ones and withdrawing those whose worker has since
    found a payer. One query when there is nothing to clean up: this runs on every proposals GET of the payday
    rush, and two UPDATEs that almost always matched nothing cost more CPU (ORM compiling) than the read. The
    UPDATEs, when needed, are the same compare-and-swap transitions."""
    offered = _open(sponsor)
    expired = [p.pk for p in offered if p.expires_at <= now]
    stale = [p.pk for p in offered if p.expires_at > now and p.worker.current_payer != Worker.Payer.NONE]
    if expired:
        transition_many(
            Proposal.objects.filter(pk__in=expired, expires_at__lte=now), to=Proposal.Status.EXPIRED, decided_at=now
        )
    if stale:
        transition_many(
            Proposal.objects.filter(pk__in=stale).exclude(worker__current_payer=Worker.Payer.NONE),
            to=Proposal.Status.WITHDRAWN,
            decided_at=now,
        )
    if not expired and not stale:
        return offered
    return _open(sponsor)  # re-read: a parallel request may have moved some of them too


def _open(sponsor: Sponsor) -> list[Proposal]:
    return list(
        Proposal.objects.filter(sponsor=sponsor, status=Proposal.Status.OFFERED).select_related(
            "worker__occupation", "worker__village"
        )
    )


def proposals_for_sponsor(*, sponsor: Sponsor, now=None) -> list[Proposal]:
    """Up to the sponsor's free capacity of open proposals: existing offers first, topped up on demand.

    Writes (it creates on-demand Proposal rows, which carry the id to accept), so it is a service.
    """
    now = now or timezone.now()
    with transaction.atomic():
        current = _open_after_cleanup(sponsor, now)
        sponsor.refresh_from_db(fields=["active_sponsorships", "capacity", "status"])
        free = sponsor.free_capacity if sponsor.status == Sponsor.Status.ACTIVE else 0
        if free <= 0:
            return []
        if len(current) < free:
            found = candidates_for_sponsor(
                sponsor, limit=free - len(current), exclude_worker_ids=[p.worker_id for p in current], now=now
            )
            if found:
                # ignore_conflicts: a parallel GET by the same sponsor may have offered the same worker.
                Proposal.objects.bulk_create(
                    [
                        Proposal(
                            sponsor=sponsor,
                            worker_id=c.worker_id,
                            source=Proposal.Source.ON_DEMAND,
                            distance_m=c.distance_m,
                            same_village=c.same_village,
                            priority=c.priority,
                            expires_at=now + TTL[Proposal.Source.ON_DEMAND],
                        )
                        for c in found
                    ],
                    ignore_conflicts=True,
                )
                current = _open(sponsor)
    current.sort(key=rank_key)
    return current[:free]


def proposal_accept(*, proposal: Proposal, actor=None, now=None) -> Sponsorship:
    now = now or timezone.now()
    if proposal.status != Proposal.Status.OFFERED or proposal.expires_at <= now:
        # A proposal withdrawn because another sponsor just took the worker: say so, not "closed".
        if (
            Sponsorship.objects.filter(worker_id=proposal.worker_id, status=Sponsorship.Status.ACTIVE)
            .exclude(sponsor_id=proposal.sponsor_id)
            .exists()
        ):
            raise ConflictError(WORKER_TAKEN, code="worker_taken")
        raise ConflictError(PROPOSAL_CLOSED, code="proposal_closed")
    with transaction.atomic():
        sponsorship = sponsorship_start(
            sponsor=proposal.sponsor,
            worker=proposal.worker,
            source=Sponsorship.Source.PROPOSAL,
            actor=actor,
            started_at=now,
        )
        decided = transition_many(
            Proposal.objects.filter(pk=proposal.pk, expires_at__gt=now),
            to=Proposal.Status.ACCEPTED,
            decided_at=now,
            sponsorship=sponsorship,
        )
        if not decided:  # declined/expired meanwhile: undo the sponsorship with the whole transaction
            raise ConflictError(PROPOSAL_CLOSED, code="proposal_closed")
        # The worker is taken: nobody else should see them offered any more.
        transition_many(
            Proposal.objects.filter(worker_id=proposal.worker_id).exclude(pk=proposal.pk),
            to=Proposal.Status.WITHDRAWN,
            decided_at=now,
        )
        audit_record(
            actor=actor,
            action="proposal.accept",
            obj=proposal,
            before={"status": "offered"},
            after={"status": "accepted", "sponsorship": sponsorship.pk},
        )
    proposal.refresh_from_db()
    return sponsorship


def proposal_withdraw(*, proposal: Proposal, now=None) -> bool:
    now = now or timezone.now()
    return transition(Proposal, proposal.pk, to=Proposal.Status.WITHDRAWN, decided_at=now)


def proposal_decline(*, proposal: Proposal, reason: str = "", actor=None, now=None) -> Proposal:
    """The worker is not offered to this sponsor again for RegencyConfig.decline_cooldown_days."""
    now = now or timezone.now()
    with transaction.atomic():
        decided = transition(
            Proposal, proposal.pk, to=Proposal.Status.DECLINED, decided_at=now, decline_reason=(reason or "")[:300]
        )
        if not decided:
            raise ConflictError(PROPOSAL_CLOSED, code="proposal_closed")
        audit_record(
            actor=actor,
            action="proposal.decline",
            obj=proposal,
            before={"status": "offered"},
            after={"status": "declined"},
            extra={"reason": (reason or "")[:300]},
        )
    proposal.refresh_from_db()
    if proposal.source in (Proposal.Source.REMATCH,):
        # A re-matched worker must not wait for the next run: offer them to the next nearest sponsor.
        from sponsorship.matching.services.rematch import rematch_worker

        rematch_worker(worker=proposal.worker, now=now)
    return proposal
