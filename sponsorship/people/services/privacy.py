"""Data-subject requests under UU 27/2022 (PDP): access (export) and deletion (anonymisation).

Deadline: a data-subject request must be answered within 3×24 hours (PDP; see ../shared/domain.md §6).
Both requests here complete synchronously, so the answer is immediate; `DSR_SLA` is kept for the audit
row and the admin screen.

Deletion anonymises the person and keeps the financial records: sponsorships, invoice lines, coverage
months and payments stay (they are the sponsor's and the regency's accounting, and BPJS remittance
evidence) but point at a worker row that no longer identifies anybody.

The NIK tombstone (decided, see docs/security.md): `nik_hash` becomes `erased:<random>`. It keeps the
unique column satisfied and does NOT block a later re-registration of the same NIK: keeping a keyed hash
of the NIK to block it would itself be personal data (pseudonymous, re-identifiable with the key), which
is exactly what the person asked us to delete. A returning worker registers again with fresh consent.
"""

import datetime as dt
import uuid
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from notifications.models import Device, Notification
from sponsorship.core.audit import audit_record
from sponsorship.core.models import AuditLog
from sponsorship.people.identifiers import mask_nik
from sponsorship.people.models import Sponsorship, Worker, WorkerConsent, WorkerDecile, WorkerSignInChallenge

DSR_SLA = dt.timedelta(hours=72)

# Other apps hold their own copies of a worker's data (billing: coverage months; matching: nominations). Each
# registers what it exports and what it erases in its AppConfig.ready(), so this module knows no app above people.
ExportSection = Callable[[Worker], list]  # fn(worker) -> the rows under its key in the export
Eraser = Callable[[Worker, str], None]  # fn(worker, old_nik_hash), inside the anonymisation's transaction

_EXPORT_SECTIONS: dict[str, ExportSection] = {}
_ERASERS: list[Eraser] = []


def register_personal_data(*, export: dict[str, ExportSection] | None = None, erase: Eraser | None = None) -> None:
    _EXPORT_SECTIONS.update(export or {})
    if erase is not None and erase not in _ERASERS:
        _ERASERS.append(erase)


def tombstone() -> str:
    """A fresh value for an erased identifier hash (unique, and no copy of the NIK)."""
    return f"{TOMBSTONE_PREFIX}{uuid.uuid4().hex}"


ERASED_NAME = "Dihapus"
TOMBSTONE_PREFIX = "erased:"


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def worker_data_export(
    *,
    worker: Worker,
    actor,
    ip: str | None = None,
    on_behalf: bool = False,
    purpose: str = "data_subject_request",
    note: str = "",
) -> dict:
    """Everything we hold about one worker, in clear (it goes to the person), written to the audit log and, as a
    read of the clear NIK and phone, to the personal-data access log (with the purpose the admin gave)."""
    from sponsorship.people.services.access_log import purpose_check, worker_access_record

    purpose_check(purpose, note)
    data = {
        "generated_at": timezone.now().isoformat(),
        "worker": {
            "id": worker.pk,
            "nik": worker.nik,
            "full_name": worker.full_name,
            "birth_date": _iso(worker.birth_date),
            "sex": worker.sex,
            "phone": worker.phone,
            "occupation": worker.occupation.name,
            "village_code": worker.village.code,
            "village_name": worker.village.name,
            "lat": worker.lat,
            "lon": worker.lon,
            "welfare_decile": worker.welfare_decile,
            "kpj": worker.kpj,
            "current_payer": worker.current_payer,
            "created_at": _iso(worker.created_at),
            "updated_at": _iso(worker.updated_at),
            "anonymized_at": _iso(worker.anonymized_at),
        },
        "consents": [
            {
                "collected_at": _iso(c.collected_at),
                "channel": c.channel,
                "text_version": c.text_version,
                "withdrawn_at": _iso(c.withdrawn_at),
            }
            for c in WorkerConsent.objects.filter(worker=worker).order_by("collected_at")
        ],
        "welfare_deciles": [
            {"ranked_on": _iso(h.round.ranked_on), "source": h.round.source, "decile": h.decile}
            for h in WorkerDecile.objects.filter(worker=worker).select_related("round").order_by("round__ranked_on")
        ],
        # The sponsor is another person: only what the worker may see (first name when the sponsor agreed).
        "sponsorships": [
            {
                "status": s.status,
                "started_at": _iso(s.started_at),
                "ended_at": _iso(s.ended_at),
                "end_reason": s.end_reason,
                "source": s.source,
                "sponsor_first_name": s.sponsor.full_name.split(" ")[0] if s.sponsor.show_name_to_workers else None,
                "agency": s.sponsor.agency.name,
            }
            for s in Sponsorship.objects.filter(worker=worker).select_related("sponsor__agency").order_by("started_at")
        ],
        **{key: section(worker) for key, section in _EXPORT_SECTIONS.items()},
        "notifications": _notifications(worker),
        "processing_log": [
            {"at": _iso(a.at), "action": a.action}
            for a in AuditLog.objects.filter(object_type="people.worker", object_id=str(worker.pk)).order_by("at")
        ],
    }
    audit_record(
        actor=actor,
        action="worker.data_export",
        obj=worker,
        ip=ip,
        extra={"on_behalf": on_behalf, "purpose": "data_subject_access", "nik": mask_nik(worker.nik or "")},
    )
    worker_access_record(
        actor=actor,
        worker=worker,
        fields=[f for f in ("nik", "phone") if getattr(worker, f)],
        purpose=purpose,
        channel="api",
        ip=ip,
        note=note,
    )
    return data


def _notifications(worker) -> list:
    if not worker.user_id:
        return []
    return [
        {"created_at": _iso(n.created_at), "kind": n.kind, "title": n.title, "body": n.body}
        for n in Notification.objects.filter(recipient_id=worker.user_id).order_by("created_at")
    ]


def worker_anonymise(*, worker: Worker, actor, reason: str, ip: str | None = None) -> Worker:
    """Delete a worker's personal data, keep the financial records. Idempotent: a second call changes nothing."""
    from sponsorship.people.services.sponsorships import sponsorship_end

    now = timezone.now()
    with transaction.atomic():
        locked = Worker.objects.select_for_update().get(pk=worker.pk)
        if locked.anonymized_at:
            return locked
        old_hash = locked.nik_hash
        before = {"full_name": "***", "nik": mask_nik(locked.nik or ""), "had_phone": bool(locked.phone)}
        for sponsorship in Sponsorship.objects.filter(worker=locked, status=Sponsorship.Status.ACTIVE):
            sponsorship_end(sponsorship=sponsorship, reason=Sponsorship.EndReason.WORKER_REQUEST, actor=actor)
        Worker.objects.filter(pk=locked.pk).update(
            full_name=ERASED_NAME,
            nik="",
            nik_hash=f"{TOMBSTONE_PREFIX}{uuid.uuid4().hex}",
            phone="",
            phone_hash="",
            lat=None,
            lon=None,
            kpj="",
            welfare_decile=None,
            kk_hash="",
            decile_review="",
            current_payer=Worker.Payer.NONE,
            birth_date=dt.date(locked.birth_date.year, 1, 1),
            anonymized_at=now,
            updated_at=now,
        )
        WorkerConsent.objects.filter(worker=locked, withdrawn_at__isnull=True).update(withdrawn_at=now)
        WorkerDecile.objects.filter(worker=locked).delete()  # a household's welfare ranking over time
        _erase_copies(locked, old_hash)
        # Audit rows keep what happened, not who it was: names in old snapshots are redacted.
        for row in AuditLog.objects.filter(object_type="people.worker", object_id=str(locked.pk)):
            changed = False
            for part in (row.before, row.after):
                if isinstance(part, dict) and "full_name" in part:
                    part["full_name"] = ERASED_NAME
                    changed = True
            if changed:
                row.save(update_fields=["before", "after"])
        audit_record(
            actor=actor,
            action="worker.anonymise",
            obj=locked,
            before=before,
            after={"full_name": ERASED_NAME, "nik": "", "phone": ""},
            ip=ip,
            extra={
                "reason": reason[:300],
                "sla_hours": int(DSR_SLA.total_seconds() // 3600),
                "kept": ["sponsorships", "invoice_lines", "coverage_months", "payments"],
            },
        )
    locked.refresh_from_db()
    return locked


def _erase_copies(worker: Worker, old_hash: str) -> None:
    """Other rows holding a copy of the person's identifiers: nominations, sign-in challenges, inbox, devices."""
    for erase in _ERASERS:
        erase(worker, old_hash)
    WorkerSignInChallenge.objects.filter(nik_hash=old_hash).delete()
    if worker.user_id:
        from django.contrib.auth import get_user_model

        User = get_user_model()
        user = User.objects.get(pk=worker.user_id)
        user.is_active = False
        user.username = f"dihapus-{worker.pk}"
        user.first_name = user.last_name = user.email = ""
        user.set_unusable_password()
        user.save(update_fields=["is_active", "username", "first_name", "last_name", "email", "password"])
        Notification.objects.filter(recipient_id=user.pk).delete()
        Device.objects.filter(user_id=user.pk).delete()
