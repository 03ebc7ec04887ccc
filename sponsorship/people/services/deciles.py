"""Welfare deciles over time: DTSEN rounds applied to workers, the cut-off flag and the admin's decision.

Rules:
- a round is keyed by (regency, ranking date); a worker has at most one decile per round, so the same file
  applied twice is "unchanged" the second time;
- the worker row keeps the latest ranking (Worker.welfare_decile), which matching and the dashboard read; the
  history keeps every round's value with the one before it;
- a worker whose new decile is above the regency's cut-off is flagged "pending" (never dropped: a running
  sponsorship goes on); matching stops proposing them to new sponsors; the admin keeps or ends the sponsorship.
  Falling back under the cut-off clears the flag. A decision stands until the decile changes again.
"""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError
from sponsorship.core.audit import audit_record
from sponsorship.people.crypto import keyed_hash
from sponsorship.people.models import DecileReview, DecileRound, Sponsorship, Worker, WorkerDecile
from sponsorship.people.services.sponsorships import sponsorship_end
from sponsorship.regions.models import RegencyConfig, Region


def kk_digits(value) -> str:
    """A family card (KK) number: 16 digits, spaces and dots ignored; raises ApplicationError otherwise."""
    text = "".join(ch for ch in str(value or "") if not ch.isspace() and ch not in ".-")
    if len(text) != 16 or not text.isdigit():
        raise ApplicationError(_("A family card (KK) number has 16 digits."), code="invalid")
    return text


def worker_kk_set(*, worker: Worker, kk: str, actor=None) -> Worker:
    """Record the worker's family card number as a keyed hash only (DTSEN files may name just the KK)."""
    digest = keyed_hash(kk_digits(kk)) if kk else ""
    with transaction.atomic():
        updated = Worker.objects.filter(pk=worker.pk).exclude(kk_hash=digest).update(kk_hash=digest)
        if updated:
            audit_record(actor=actor, action="worker.kk_set", obj=worker, after={"kk": "set" if digest else "cleared"})
    worker.refresh_from_db()
    return worker


def decile_cutoff(regency: Region) -> int | None:
    config = RegencyConfig.objects.filter(regency=regency).only("decile_cutoff").first()
    return config.decile_cutoff if config else None


def decile_round_get(*, regency: Region, ranked_on: dt.date, file_name: str = "", actor=None) -> DecileRound:
    """The round of `ranked_on` in the regency, created on first use (idempotent under races)."""
    round_, _created = DecileRound.objects.get_or_create(
        regency=regency,
        ranked_on=ranked_on,
        defaults={"file_name": file_name[:200], "created_by": actor if getattr(actor, "pk", None) else None},
    )
    return round_


def worker_decile_record(*, worker_id: int, round_: DecileRound, decile: int, cutoff: int | None, actor=None) -> str:
    """Apply one round's decile to one worker. Returns "changed", "unchanged" or "not_found" (erased meanwhile).

    Call inside the caller's transaction; the worker row is locked first (the people lock order)."""
    if not 1 <= int(decile) <= 10:
        raise ApplicationError(_("The welfare decile must be 1–10."), code="invalid")
    worker = Worker.objects.select_for_update().filter(pk=worker_id, anonymized_at__isnull=True).first()
    if worker is None:
        return "not_found"
    above = cutoff is not None and decile > cutoff
    existing = WorkerDecile.objects.filter(worker=worker, round=round_).first()
    if existing is not None and existing.decile == decile:
        return "unchanged"
    previous = worker.welfare_decile
    if existing is not None:  # the round was corrected: the latest file wins
        existing.decile, existing.above_cutoff = decile, above
        existing.save(update_fields=["decile", "above_cutoff"])
    else:
        WorkerDecile.objects.create(
            worker=worker, round=round_, decile=decile, previous_decile=previous, above_cutoff=above
        )
    newest = WorkerDecile.objects.filter(worker=worker).order_by("-round__ranked_on").values_list("round_id", flat=True)
    if newest.first() != round_.pk:  # an older round arrived late: history only, the worker keeps the newer one
        return "unchanged"
    review = _review_after(worker.decile_review, previous, decile, cutoff)
    Worker.objects.filter(pk=worker.pk).update(welfare_decile=decile, decile_review=review)
    audit_record(
        actor=actor,
        action="worker.decile_round",
        obj=worker,
        before={"welfare_decile": previous, "decile_review": worker.decile_review},
        after={"welfare_decile": decile, "decile_review": review},
        extra={"round": round_.pk, "ranked_on": round_.ranked_on.isoformat(), "source": round_.source},
    )
    return "changed" if previous != decile else "unchanged"


def _review_after(review: str, previous: int | None, decile: int, cutoff: int | None) -> str:
    """Flag on rising above the cut-off; a worker already above keeps the admin's decision; under it: no flag."""
    if cutoff is None or decile <= cutoff:
        return ""
    if previous is None or previous <= cutoff or not review:
        return DecileReview.PENDING
    return review


def decile_review_decide(*, worker: Worker, decision: str, actor=None, ip: str | None = None) -> Worker:
    """The admin's decision on a flagged worker: "keep" (the sponsorship goes on) or "end" (through the
    sponsorship service, reason other). Only a pending worker can be decided; a second click is a 409."""
    if decision not in ("keep", "end"):
        raise ApplicationError(_("Choose keep or end."), code="invalid")
    with transaction.atomic():
        current = Worker.objects.select_for_update().get(pk=worker.pk)
        if current.decile_review != DecileReview.PENDING:
            raise ApplicationError(
                _("This worker has no pending decile decision."), code="already_done", status_code=409
            )
        ended = 0
        if decision == "end":
            for sponsorship in Sponsorship.objects.filter(worker=current, status=Sponsorship.Status.ACTIVE):
                ended += sponsorship_end(sponsorship=sponsorship, reason=Sponsorship.EndReason.OTHER, actor=actor)
        review = DecileReview.KEPT if decision == "keep" else DecileReview.ENDED
        Worker.objects.filter(pk=current.pk).update(decile_review=review)
        audit_record(
            actor=actor,
            action="worker.decile_review",
            obj=current,
            before={"decile_review": current.decile_review},
            after={"decile_review": review, "welfare_decile": current.welfare_decile, "sponsorships_ended": ended},
            ip=ip,
        )
    current.refresh_from_db()
    return current
