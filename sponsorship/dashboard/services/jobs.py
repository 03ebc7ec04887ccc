"""Long work off the request path: dashboard exports and the BPJS remittance file as Celery tasks (docs/long-work.md).

1. `job_request` validates what is asked, and answers the requester's active job with the same key (kind,
   parameters, scope) or creates one QUEUED; its task is queued after commit (eager where there is no broker).
2. `job_run` is the task's work: it claims the job (QUEUED → RUNNING, or a RUNNING one whose heartbeat is stale)
   with a compare-and-swap update, so two deliveries never both work; it writes {done, total} and the heartbeat
   at every stage, stores the file (JOB_FILES_DIR) and marks the job DONE.
3. `job_sweep` (every 5 minutes) queues again the jobs whose message was lost or whose worker died.
Each kind's work is idempotent: an export is a read (done again from the start); the remittance marks its rows
and records the job DONE in one transaction, so a retry after a crash either finds nothing done or finds it all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError
from backend.celery import delay_or
from sponsorship.billing.services.remittance import remittance_export
from sponsorship.dashboard.models import Job
from sponsorship.dashboard.selectors import TABLES, AdminScope, build_table
from sponsorship.dashboard.services.exports import FORMATS, SEPARATORS, table_export

log = logging.getLogger(__name__)
STALE_AFTER = dt.timedelta(minutes=5)  # no heartbeat for this long: the worker is taken for dead
XLSX = FORMATS["xlsx"]


def _key(kind: str, params: dict, scope: AdminScope) -> str:
    what = {"kind": kind, "params": params, "regency": scope.regency.pk, "agency": getattr(scope.agency, "pk", None)}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def _clean_params(*, actor, kind: str, params: dict) -> dict:
    if kind == Job.Kind.EXPORT:
        table = str(params.get("table") or "")
        if table not in TABLES:
            raise ApplicationError(
                _("Unknown report."), code="invalid", extra={"fields": {"table": [str(_("Unknown report."))]}}
            )
        fmt = str(params.get("format") or "xlsx")
        sep = str(params.get("sep") or "comma")
        if fmt not in FORMATS:
            raise ApplicationError(_("The export format must be xlsx or csv."), code="invalid")
        if sep not in SEPARATORS:
            raise ApplicationError(_("The CSV separator must be comma or semicolon."), code="invalid")
        filters = params.get("filters") or {}
        if not isinstance(filters, dict) or any(not isinstance(v, str | int) for v in filters.values()):
            raise ApplicationError(_("The report filters must be a flat object."), code="invalid")
        return {"table": table, "format": fmt, "sep": sep, "filters": {str(k): str(v) for k, v in filters.items()}}
    if kind == Job.Kind.REMITTANCE:
        # The remittance file holds every remitted worker's clear NIK: superusers only (as RemittanceBatch).
        if not getattr(actor, "is_superuser", False):
            raise ApplicationError(
                _("Only a superuser can produce the remittance file."), code="permission_denied", status_code=403
            )
        try:
            period = dt.datetime.strptime(str(params.get("period") or ""), "%Y-%m").date()  # noqa: DTZ007 - a month
        except ValueError:
            raise ApplicationError(
                _("The period must be a month, e.g. 2026-05."),
                code="invalid",
                extra={"fields": {"period": [str(_("The period must be a month, e.g. 2026-05."))]}},
            ) from None
        return {"period": f"{period:%Y-%m}"}
    raise ApplicationError(_("Unknown job kind."), code="invalid")


def job_request(*, actor, scope: AdminScope, kind: str, params: dict) -> tuple[Job, bool]:
    """Ask for a piece of long work. Returns (job, created); the same request while it is queued or running
    answers the same job (created False) and queues nothing."""
    params = _clean_params(actor=actor, kind=kind, params=params or {})
    key = _key(kind, params, scope)
    active = Job.objects.filter(requested_by=actor, key=key, status__in=Job.ACTIVE)
    existing = active.first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind,
                key=key,
                params=params,
                requested_by=actor,
                regency=scope.regency,
                agency=scope.agency,
                stage="queued",
            )
            job_id = job.pk
            transaction.on_commit(lambda: _enqueue(job_id))
    except IntegrityError:  # a concurrent identical request won the partial unique index
        existing = active.first()
        if existing is None:
            raise
        return existing, False
    job.refresh_from_db()
    return job, True


def _enqueue(job_id: int) -> None:
    from sponsorship.dashboard import tasks  # tasks imports this module

    # Broker down: the job stays QUEUED and the sweep queues it again.
    delay_or(tasks.run_job, job_id, what=f"background job {job_id}")


def _step(job_id: int, *, stage: str, done: int | None = None, total: int | None = None) -> None:
    """Progress and heartbeat, committed at once (outside any work transaction) so the requester sees them."""
    fields: dict = {"stage": stage, "heartbeat_at": timezone.now()}
    if done is not None:
        fields["progress_done"] = done
    if total is not None:
        fields["progress_total"] = total
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(**fields)


def _claim(job_id: int) -> Job | None:
    now = timezone.now()
    claimed = Job.objects.filter(
        Q(status=Job.Status.QUEUED) | Q(status=Job.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER), pk=job_id
    ).update(status=Job.Status.RUNNING, heartbeat_at=now, attempts=F("attempts") + 1, stage="started")
    if not claimed:
        return None
    job = Job.objects.select_related("requested_by", "regency", "agency").get(pk=job_id)
    if job.attempts > Job.MAX_ATTEMPTS:
        _finish(job, status=Job.Status.FAILED, error=str(_("The job failed several times; ask for it again.")))
        return None
    return job


def _finish(job: Job, *, status: str, error: str = "", **fields) -> bool:
    return bool(
        Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            status=status, error=error[:300], finished_at=timezone.now(), heartbeat_at=timezone.now(), **fields
        )
    )


def job_run(*, job_id: int) -> str | None:
    """The task's work. Returns the final status, or None when another worker holds the job or it is finished."""
    job = _claim(job_id)
    if job is None:
        return None
    handler = HANDLERS[job.kind]
    try:
        with translation.override("id"):  # file headers and errors are Indonesian, like the rest of the reports
            handler(job)
    except ApplicationError as exc:
        with translation.override("id"):
            _finish(job, status=Job.Status.FAILED, error=str(exc.message))
        return Job.Status.FAILED
    except Exception:
        # Unexpected: recorded as failed (the requester sees it), raised for the logs and error tracking.
        with translation.override("id"):
            _finish(job, status=Job.Status.FAILED, error=str(_("Internal error while preparing the file.")))
        raise
    return Job.objects.values_list("status", flat=True).get(pk=job.pk)


def _scope_of(job: Job) -> AdminScope:
    assert job.regency is not None  # every export job is made with a scope
    return AdminScope(regency=job.regency, agency=job.agency, user=job.requested_by)


def _run_export(job: Job) -> None:
    params = job.params
    _step(job.pk, stage="reading", done=0, total=3)
    # The selectors' Table has the fields exports' Table reads (as the synchronous download passes it).
    table: Any = build_table(params["table"], _scope_of(job), params["filters"])
    _step(job.pk, stage="writing", done=1, total=3)
    export = table_export(
        actor=job.requested_by, table=table, fmt=params["format"], filters=params["filters"], sep=params["sep"]
    )
    _step(job.pk, stage="storing", done=2, total=3)
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        locked.file.save(f"job-{job.pk}-{export.file_name}", ContentFile(export.content), save=False)
        _finish(
            locked,
            status=Job.Status.DONE,
            file=locked.file.name,
            file_name=export.file_name,
            content_type=export.content_type,
            progress_done=3,
            stage="done",
            result={"rows": len(table.rows), "bytes": len(export.content)},
        )


def _run_remittance(job: Job) -> None:
    period = dt.datetime.strptime(job.params["period"], "%Y-%m").date()  # noqa: DTZ007 - a month
    _step(job.pk, stage="exporting", done=0, total=1)
    # One transaction for the remittance (rows marked remitted) and the job's DONE: a worker that dies in between
    # leaves neither, and the retry starts again from nothing.
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.status != Job.Status.RUNNING:
            return
        export = remittance_export(period=period, actor=job.requested_by)
        name = f"{export.batch.file_name}.xlsx"
        locked.file.save(f"job-{job.pk}-{name}", ContentFile(Path(export.xlsx_path).read_bytes()), save=False)
        _finish(
            locked,
            status=Job.Status.DONE,
            file=locked.file.name,
            file_name=name,
            content_type=XLSX,
            progress_done=1,
            stage="done",
            result={
                "remittance_batch": export.batch.pk,
                "rows": export.batch.rows,
                "total_idr": export.batch.total_idr,
                "clawback_rows": export.batch.clawback_rows,
            },
        )


HANDLERS: dict[str, Callable[[Job], None]] = {Job.Kind.EXPORT: _run_export, Job.Kind.REMITTANCE: _run_remittance}


def job_sweep(*, now=None) -> int:
    """Queue again: QUEUED jobs older than STALE_AFTER (lost message) and RUNNING ones with a stale heartbeat
    (dead worker). The claim in `job_run` makes a duplicate delivery harmless."""
    now = now or timezone.now()
    cutoff = now - STALE_AFTER
    lost = list(
        Job.objects.filter(
            Q(status=Job.Status.QUEUED, created_at__lt=cutoff) | Q(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff)
        ).values_list("pk", flat=True)
    )
    for job_id in lost:
        _enqueue(job_id)
    if lost:
        log.warning("job sweep: queued %d background jobs again", len(lost))
    return len(lost)


def job_progress(job: Job) -> dict:
    return {"done": job.progress_done, "total": job.progress_total, "stage": job.stage}
