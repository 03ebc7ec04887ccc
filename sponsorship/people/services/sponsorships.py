"""Start and end sponsorships. The database decides races:

- the partial unique index `sponsorship_one_active_sponsor_per_worker` lets only one active sponsor per worker;
- the capacity counter moves with a conditional UPDATE (`active_sponsorships < capacity`) and a check
  constraint, so two accepts for the same sponsor can never exceed its capacity.
A loser gets ConflictError (HTTP 409) and nothing is half-written.

Ending a sponsorship also has consequences in apps above this one (billing releases the ended sponsor's unpaid
invoice lines for the months after the end: docs/money-rules.md, "Hand-over"). They register an
`EndHandler` at start-up (`register_end_handler`), so the import still points down: `lock` runs first in the
transaction (billing takes its locks in its own order before we touch any row), `ended` after the state moved,
in the same transaction, so money and coverage are never half-written.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
WORKER_GONE = _("This worker can no longer be sponsored.")


@dataclass(frozen=True)
class EndHandler:
    lock: Callable[[int], None]  # sponsor id: take the handler's locks (before any row of ours is written)
    ended: Callable[..., None]  # (sponsorship=, actor=): act on the ended sponsorship, same transaction


_END_HANDLERS: list[EndHandler] = []
# What starting a sponsorship does in apps above (billing: the bridge fund stops paying, an open self-pay link is
# withdrawn). Called as handler(sponsorship=, actor=) in the same transaction, after the row exists.
StartHandler = Callable[..., None]
_START_HANDLERS: list[StartHandler] = []


def register_start_handler(handler: StartHandler) -> None:
    if handler not in _START_HANDLERS:
        _START_HANDLERS.append(handler)


def register_end_handler(handler: EndHandler) -> None:
    if handler not in _END_HANDLERS:
        _END_HANDLERS.append(handler)


def sponsorship_end_prepare(*, sponsor_id: int) -> None:
    """Take the registered handlers' locks for this sponsor. Callers that change the sponsor's row before ending
    its sponsorships (a sponsor leaving) call this first, inside their transaction, to keep one lock order."""
    for handler in _END_HANDLERS:
        handler.lock(sponsor_id)


def sponsorship_start(*, sponsor: Sponsor, worker: Worker, source: str, actor=None, started_at=None) -> Sponsorship:
    with transaction.atomic():
        if sponsor.status != Sponsor.Status.ACTIVE:
            raise ConflictError(_("This sponsor is not active."), code="sponsor_inactive")
        # A worker who died, took a formal job, reached the age limit or moved away is never sponsored again.
        if Worker.objects.filter(pk=worker.pk).exclude(status=Worker.Status.ACTIVE).exists():
            raise ConflictError(WORKER_GONE, code="worker_inactive")
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
        for handler in _START_HANDLERS:
            handler(sponsorship=sponsorship, actor=actor)
    sponsor.refresh_from_db(fields=["active_sponsorships"])
    return sponsorship


def sponsorship_end(*, sponsorship: Sponsorship, reason: str, actor: Any = None, ended_at=None) -> bool:
    """End an active sponsorship. Returns False when it had already ended (another process won).

    The registered end handlers run in the same transaction (billing: the hand-over rule)."""
    with transaction.atomic():
        sponsorship_end_prepare(sponsor_id=sponsorship.sponsor_id)
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
        for handler in _END_HANDLERS:
            handler.ended(sponsorship=sponsorship, actor=actor)
    sponsorship.refresh_from_db()
    return True
