"""A JKK or JKM benefit received: recorded by an admin, counted on the dashboard, told to the sponsor with consent.

The sponsor told is the worker's active sponsor, or, when the sponsorship has already ended (a death ends it), the
sponsor who paid the worker's latest coverage month. Without the family's consent nothing is sent and no sponsor is
named on the row. The message goes through the outbox in the same transaction (sent after commit) and adds a
ProtectionAction "benefit_notified".
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.api.errors import ApplicationError, ConflictError
from notifications.services import notify
from sponsorship.billing.models import CoverageMonth
from sponsorship.billing.services.protection_log import record_protection_action
from sponsorship.core.audit import AuditAction, audit_record
from sponsorship.core.periods import local_today
from sponsorship.people.models import BenefitReceived, Sponsor, Sponsorship, Worker


def _sponsor_to_tell(worker: Worker) -> Sponsor | None:
    live = Sponsorship.objects.filter(worker=worker, status=Sponsorship.Status.ACTIVE).select_related("sponsor").first()
    if live is not None:
        return live.sponsor
    last = (
        CoverageMonth.objects.filter(worker=worker, sponsor__isnull=False)
        .select_related("sponsor")
        .order_by("-month")
        .first()
    )
    return last.sponsor if last else None


def benefit_record(
    *,
    actor,
    worker: Worker,
    kind: str,
    received_on: dt.date,
    amount_idr: int | None = None,
    sponsor_may_be_told: bool = False,
    ip: str | None = None,
) -> BenefitReceived:
    if received_on > local_today():
        raise ApplicationError(_("The date the benefit was received cannot be in the future."))
    kind = BenefitReceived.Kind(kind)
    with transaction.atomic():
        sponsor = _sponsor_to_tell(worker) if sponsor_may_be_told else None
        try:
            with transaction.atomic():
                row = BenefitReceived.objects.create(
                    worker=worker,
                    kind=kind,
                    received_on=received_on,
                    amount_idr=amount_idr,
                    sponsor_may_be_told=sponsor_may_be_told,
                    sponsor_told=sponsor if sponsor is not None and sponsor.user_id else None,
                    recorded_by=actor if getattr(actor, "pk", None) else None,
                )
        except IntegrityError:
            raise ConflictError(_("This benefit is already recorded for this worker on this date.")) from None
        audit_record(
            actor=actor,
            action=AuditAction.BENEFIT_RECORD,
            obj=row,
            after={"kind": kind, "received_on": received_on.isoformat(), "consent": sponsor_may_be_told},
            ip=ip,
        )
        if row.sponsor_told is not None:
            assert sponsor is not None and sponsor.user is not None
            notify(
                user=sponsor.user,
                kind="benefit_received_sponsor",
                context={
                    "sponsor_name": sponsor.full_name.split(" ")[0],
                    "worker_name": worker.full_name,
                    "benefit": kind.upper(),
                    "received_on": received_on,
                },
                dedupe_key=f"benefit:{row.pk}:sponsor",
                data={"worker_id": str(worker.pk)},
            )
            record_protection_action(
                worker.pk,
                "benefit_notified",
                detail={"benefit_id": row.pk, "kind": kind, "sponsor_id": sponsor.pk},
                by=actor if getattr(actor, "pk", None) else None,
            )
    return row
