"""Start and end sponsorships. The database decides races:

- the partial unique index `sponsorship_one_active_sponsor_per_worker` lets only one active sponsor per worker;
- the capacity counter moves with a conditional UPDATE (`active_sponsorships < capacity`) and a check
  constraint, so two accepts for the same sponsor can never exceed its capacity.
A loser gets ConflictError (HTTP 409) and nothing is half-written.
"""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ConflictError
from sponsorship.core.audit import audit_record
from sponsorship.core.transitions import transition
from sponsorship.people.models import Sponsor, Sponsorship, Worker

WORKER_TAKEN = _("This worker has just been taken by another sponsor.")
NO_CAPACITY = _("You have no free sponsorship capacity.")


def sponsorship_start(*, sponsor: Sponsor, worker: Worker, source: str, actor=None, started_at=None) -> Sponsorship:
    with transaction.atomic():
        if sponsor.status != Sponsor.Status.ACTIVE:
            raise ConflictError(_("This sponsor is not active."), code="sponsor_inactive")
        took_slot = Sponsor.objects.filter(
            pk=sponsor.pk,
            status=Sponsor.Status.ACTIVE,
            active_sponsorships__lt=F("capacity"),
        ).update(active_sponsorships=F("active_sponsorships") + 1)
        if not took_slot:
            raise ConflictError(NO_CAPACITY, code="capacity_full")
        try:
            with transaction.atomic():
                sponsorship = Sponsorship.objects.create(
                    sponsor=sponsor,
                    worker=worker,
                    source=source,
                    status=Sponsorship.Status.ACTIVE,
                    started_at=started_at or timezone.now(),
                    created_by=actor if getattr(actor, "is_authenticated", False) else None,
                )
        except IntegrityError:
            # Undo our slot in the same (outer) transaction by raising: the atomic block rolls it back.
            raise ConflictError(WORKER_TAKEN, code="worker_taken") from None
        Worker.objects.filter(pk=worker.pk).update(current_payer=Worker.Payer.SPONSOR)
        audit_record(
            actor=actor,
            action="sponsorship.start",
            obj=sponsorship,
            after={"sponsor": sponsor.pk, "worker": worker.pk, "source": source},
        )
    sponsor.refresh_from_db(fields=["active_sponsorships"])
    return sponsorship


def sponsorship_end(*, sponsorship: Sponsorship, reason: str, actor=None, ended_at=None) -> bool:
    """End an active sponsorship. Returns False when it had already ended (another process won)."""
    with transaction.atomic():
        ended = transition(
            Sponsorship,
            sponsorship.pk,
            to=Sponsorship.Status.ENDED,
            ended_at=ended_at or timezone.now(),
            end_reason=reason,
        )
        if not ended:
            return False
        Sponsor.objects.filter(pk=sponsorship.sponsor_id, active_sponsorships__gt=0).update(
            active_sponsorships=F("active_sponsorships") - 1
        )
        Worker.objects.filter(pk=sponsorship.worker_id, current_payer=Worker.Payer.SPONSOR).update(
            current_payer=Worker.Payer.NONE
        )
        audit_record(
            actor=actor,
            action="sponsorship.end",
            obj=sponsorship,
            before={"status": "active"},
            after={"status": "ended", "reason": reason},
        )
    sponsorship.refresh_from_db()
    return True
