"""The personal-data access log (who read a clear NIK or phone, and why) and the retention job (UU PDP).

Every place that shows a person's NIK or phone in clear calls `personal_data_access_record` in the same
transaction as the read; the regency's data-protection officer reads the log (`selectors`: `accesses_for`).
`personal_data_retention_run` (daily, people/schedule.py) deletes access rows past
PDP_ACCESS_LOG_RETENTION_DAYS and anonymises workers whose sponsorship ended more than
PDP_ENDED_WORKER_RETENTION_DAYS ago and who have no other payer.
"""

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError
from sponsorship.core.audit import audit_record
from sponsorship.people.models import PersonalDataAccess, Sponsorship, Worker
from sponsorship.people.scoping import role_of

Purpose = PersonalDataAccess.Purpose


def purpose_check(purpose: str, note: str = "") -> None:
    """A read of clear identifiers needs a known purpose; "other" needs a note saying which."""
    if purpose not in Purpose.values:
        raise ApplicationError(
            _("State why you need the clear NIK or phone (purpose: %(choices)s).")
            % {"choices": ", ".join(Purpose.values)},
            code="purpose_required",
            extra={"fields": {"purpose": [str(_("Choose a purpose."))]}},
        )
    if purpose == Purpose.OTHER and not note.strip():
        raise ApplicationError(
            _("With purpose 'other', say why in the note."),
            code="purpose_required",
            extra={"fields": {"note": [str(_("Required."))]}},
        )


def worker_regency_id(worker: Worker) -> int | None:
    village = worker.village
    return village.parent.parent_id if village and village.parent else None


def personal_data_access_record(
    *,
    actor,
    subjects: Iterable[tuple[str, object, int | None]],
    fields: list[str],
    purpose: str,
    channel: str,
    ip: str | None = None,
    note: str = "",
) -> int:
    """Append one row per subject (type, id, regency id) read in clear. Returns how many rows were written."""
    purpose_check(purpose, note)
    role = role_of(actor) or ""
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    rows = [
        PersonalDataAccess(
            actor_id=actor_id,
            actor_role=role[:16],
            regency_id=regency_id,
            subject_type=subject_type,
            subject_id=str(subject_id),
            fields=list(fields),
            purpose=purpose,
            note=note[:300],
            channel=channel,
            ip=ip or None,
        )
        for subject_type, subject_id, regency_id in subjects
    ]
    PersonalDataAccess.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def worker_access_record(*, actor, worker: Worker, fields: list[str], purpose: str, channel: str, ip=None, note=""):
    return personal_data_access_record(
        actor=actor,
        subjects=[("people.worker", worker.pk, worker_regency_id(worker))],
        fields=fields,
        purpose=purpose,
        channel=channel,
        ip=ip,
        note=note,
    )


# -- retention ----------------------------------------------------------------------------------------------
def personal_data_retention_run(*, now: dt.datetime | None = None, limit: int = 500) -> dict:
    """Enforce the retention periods once. Idempotent; at most `limit` workers are anonymised per run."""
    from sponsorship.people.services.privacy import worker_anonymise

    now = now or timezone.now()
    log_cutoff = now - dt.timedelta(days=settings.PDP_ACCESS_LOG_RETENTION_DAYS)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL pengampu.retention_purge = 'on'")
            cursor.execute("DELETE FROM sponsorship_personaldataaccess WHERE at < %s", [log_cutoff])
            purged = cursor.rowcount
            cursor.execute("SET LOCAL pengampu.retention_purge = 'off'")

    worker_cutoff = now - dt.timedelta(days=settings.PDP_ENDED_WORKER_RETENTION_DAYS)
    ended = (
        Worker.objects.filter(anonymized_at__isnull=True, current_payer=Worker.Payer.NONE)
        .exclude(sponsorships__status=Sponsorship.Status.ACTIVE)
        .annotate(last_end=Max("sponsorships__ended_at"))
        .filter(Q(last_end__lt=worker_cutoff))
        .order_by("last_end")[:limit]
    )
    anonymised = 0
    for worker in ended:
        worker_anonymise(worker=worker, actor=None, reason="retention period ended (UU PDP)")
        anonymised += 1
    if purged or anonymised:
        audit_record(
            actor=None,
            action="personal_data.retention",
            object_type="retention",
            object_id=now.date().isoformat(),
            extra={
                "access_rows_deleted": purged,
                "workers_anonymised": anonymised,
                "access_log_days": settings.PDP_ACCESS_LOG_RETENTION_DAYS,
                "ended_worker_days": settings.PDP_ENDED_WORKER_RETENTION_DAYS,
            },
        )
    return {"access_rows_deleted": purged, "workers_anonymised": anonymised}
