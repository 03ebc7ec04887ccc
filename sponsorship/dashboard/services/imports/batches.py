"""The import services the API and web pages call: preview → confirm (or discard), never half-imported.

1. `import_preview` reads the file, validates every row and stores an ImportBatch with a report of
   (row, column, problem) in Indonesian and the validated rows (encrypted, they hold NIK/NIP).
2. `import_confirm_request` confirms it: the batch becomes APPLYING and a Celery task (eager where there is no
   broker) applies it once: mode "all" (the default) writes every row in one transaction or nothing; mode
   "valid_only" writes the valid rows, each in its own savepoint, and reports the rest. The task reports its
   progress every PROGRESS_EVERY rows (`import_progress`); a lost task is queued again by the sweep.
   `import_confirm` is the same work inline (commands, tests).
Rows are keyed by NIP / NIK, so importing the same file twice updates and never duplicates.
"""

import datetime as dt
import json

from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError
from backend.celery import delay_or
from sponsorship.core.audit import audit_record
from sponsorship.dashboard.models import ImportBatch
from sponsorship.dashboard.selectors import AdminScope, dashboard_invalidate

from .appliers import apply_row
from .dtsen import row_report
from .readers import COLUMNS, read_rows
from .validators import validate_rows


def import_preview(
    *, actor, scope: AdminScope, kind: str, file_name: str, content: bytes, ip: str | None = None
) -> ImportBatch:
    """Validate a file and store it as a batch waiting for confirmation. Writes nothing else."""
    if kind not in COLUMNS:
        raise ApplicationError(
            _("Unknown import kind."),
            code="invalid",
            extra={"fields": {"kind": [str(_("Choose sponsors or workers."))]}},
        )
    with translation.override("id"):  # the report is in Indonesian, whatever the request language
        table = read_rows(kind, file_name, content)
        if table.header_problems:
            valid: list[dict] = []
            problems = table.header_problems
        else:
            valid, problems = validate_rows(kind, table.rows, table.index, scope)
    total = len(table.rows)
    report = row_report(kind, valid, problems)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            kind=kind,
            file_name=(file_name or "")[:200],
            created_by=actor,
            regency=scope.regency,
            agency=scope.agency,
            total_rows=total,
            valid_rows=len(valid),
            problems=[p.as_dict() for p in problems],
            payload=json.dumps(valid, default=str),
            report=report,
        )
        audit_record(
            actor=actor,
            action="import.preview",
            obj=batch,
            ip=ip,
            extra={
                "kind": kind,
                "file": batch.file_name,
                "rows": total,
                "valid": len(valid),
                "problems": len(problems),
            },
        )
    return batch


_ROW_CHANGED = "Baris ini tidak dapat disimpan: data rujukannya berubah sejak pratinjau. Unggah ulang berkasnya."
PROGRESS_EVERY = 200  # rows between two progress figures in the cache


def _progress_key(batch_id: int) -> str:
    return f"import-progress:{batch_id}"


def import_progress(batch: ImportBatch) -> dict:
    """{done, total} of a batch: live from the cache while its task runs, from the row afterwards."""
    total = batch.valid_rows
    if batch.status == ImportBatch.Status.APPLYING:
        done = cache.get(_progress_key(batch.pk))
        return {"done": min(int(done or 0), total), "total": total}
    return {"done": batch.progress_done if batch.status == ImportBatch.Status.APPLIED else 0, "total": total}


def import_confirm_request(
    *, batch: ImportBatch, actor, mode: str = ImportBatch.Mode.ALL, ip: str | None = None
) -> ImportBatch:
    """Confirm a previewed batch: it becomes APPLYING and a task writes its rows (eager where there is no broker).

    Idempotent: confirming a batch that is already being applied answers its current state (a double click or a
    retried request queues nothing twice); an applied or discarded one is a 409.
    """
    if mode not in ImportBatch.Mode.values:
        raise ApplicationError(_("Unknown import mode."), code="invalid")
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status == ImportBatch.Status.APPLYING:
            return locked
        _check_confirmable(locked, mode)
        now = timezone.now()
        ImportBatch.objects.filter(pk=locked.pk, status=ImportBatch.Status.PREVIEWED).update(
            status=ImportBatch.Status.APPLYING, mode=mode, confirmed_by=actor, confirmed_at=now, progress_done=0
        )
        audit_record(
            actor=actor,
            action="import.confirm",
            obj=locked,
            ip=ip,
            before={"status": ImportBatch.Status.PREVIEWED},
            after={"status": ImportBatch.Status.APPLYING, "mode": mode},
        )
        batch_id, actor_id = locked.pk, getattr(actor, "pk", None)
        transaction.on_commit(lambda: _enqueue_apply(batch_id, actor_id, ip))
    locked.refresh_from_db()
    return locked


def _enqueue_apply(batch_id: int, actor_id: int | None, ip: str | None) -> None:
    from sponsorship.dashboard import tasks  # tasks imports this module

    # Broker down: the batch stays APPLYING and the sweep (dashboard/schedule.py) queues it again.
    delay_or(tasks.apply_import_batch, batch_id, actor_id, ip, what=f"the apply of import batch {batch_id}")


def import_apply_queued(*, batch_id: int, actor_id: int | None = None, ip: str | None = None) -> dict | None:
    """The task's work: write an APPLYING batch's rows. None when another worker holds it or it is done already."""
    from django.contrib.auth import get_user_model

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    with translation.override("id"):
        try:
            return _confirm(batch_id=batch_id, actor=actor, mode=None, ip=ip, queued=True)
        except ApplicationError as exc:
            if exc.code == "rolled_back":  # recorded on the batch; nothing more to do
                return None
            raise


def import_applying_sweep(*, older_than_minutes: int = 10) -> int:
    """Queue again the batches confirmed a while ago and still APPLYING (lost message, dead worker)."""
    cutoff = timezone.now() - dt.timedelta(minutes=older_than_minutes)
    stale = list(
        ImportBatch.objects.filter(status=ImportBatch.Status.APPLYING, confirmed_at__lt=cutoff).values_list(
            "pk", "confirmed_by_id"
        )
    )
    for batch_id, actor_id in stale:
        _enqueue_apply(batch_id, actor_id, None)
    return len(stale)


def import_confirm(*, batch: ImportBatch, actor, mode: str = ImportBatch.Mode.ALL, ip: str | None = None) -> dict:
    """Apply a previewed batch now, in this process. Returns {created, updated, unchanged, skipped, problems}.

    The API and the dashboard call import_confirm_request (a task does the writing); this is the same work
    inline, for commands and tests.
    """
    if mode not in ImportBatch.Mode.values:
        raise ApplicationError(_("Unknown import mode."), code="invalid")
    with translation.override("id"):
        result = _confirm(batch_id=batch.pk, actor=actor, mode=mode, ip=ip, queued=False)
    batch.refresh_from_db()
    return result or batch.result


def _check_confirmable(locked: ImportBatch, mode: str) -> None:
    if locked.status != ImportBatch.Status.PREVIEWED:
        raise ApplicationError(_("This import was already applied or discarded."), code="already_done", status_code=409)
    if mode == ImportBatch.Mode.ALL and locked.problems:
        raise ApplicationError(
            _("%(error_rows)s rows have problems: fix the file, or choose 'valid rows only'.")
            % {"error_rows": locked.error_rows},
            code="has_problems",
            status_code=409,
        )


def _confirm(*, batch_id: int, actor, mode: str | None, ip, queued: bool) -> dict | None:
    with transaction.atomic():
        if queued:
            # skip_locked: a second delivery of the same task while the first still runs does nothing.
            locked = (
                ImportBatch.objects.select_for_update(skip_locked=True)
                .filter(pk=batch_id, status=ImportBatch.Status.APPLYING)
                .first()
            )
            if locked is None:
                return None
            mode = locked.mode
        else:
            locked = ImportBatch.objects.select_for_update().get(pk=batch_id)
            assert mode is not None
            _check_confirmable(locked, mode)
        rows = json.loads(locked.payload or "[]")
        counts = {"created": 0, "updated": 0, "unchanged": 0, "skipped": len({p["row"] for p in locked.problems})}
        late_problems: list[dict] = []
        progress_key = _progress_key(locked.pk)
        for done, row in enumerate(rows, start=1):
            try:
                with transaction.atomic():  # a savepoint per row
                    outcome = apply_row(locked.kind, row, actor)
                    counts[outcome] = counts.get(outcome, 0) + 1
            except (ApplicationError, ObjectDoesNotExist, IntegrityError, DataError) as exc:
                # The data changed since the preview (a village, agency or sponsor is gone, a NIK arrived).
                problem = exc.message if isinstance(exc, ApplicationError) else _ROW_CHANGED
                late_problems.append({"row": row["row"], "column": "", "problem": str(problem)})
                if mode == ImportBatch.Mode.ALL:
                    break
                counts["skipped"] += 1
            if done % PROGRESS_EVERY == 0:
                cache.set(progress_key, done, 3600)
        rolled_back = bool(late_problems) and mode == ImportBatch.Mode.ALL
        if rolled_back:
            transaction.set_rollback(True)
        else:
            applied_at = timezone.now()
            result = {**counts, "late_problems": late_problems}
            updated = ImportBatch.objects.filter(
                pk=locked.pk, status__in=[ImportBatch.Status.PREVIEWED, ImportBatch.Status.APPLYING]
            ).update(
                status=ImportBatch.Status.APPLIED,
                mode=mode,
                applied_at=applied_at,
                result=result,
                progress_done=len(rows),
            )
            if not updated:  # cannot happen under the row lock; kept as the state machine's guard
                raise ApplicationError("Impor ini sudah diproses.", code="already_done", status_code=409)
            audit_record(
                actor=actor,
                action="import.apply",
                obj=locked,
                ip=ip,
                extra={"kind": locked.kind, "mode": mode, **counts, "late_problems": len(late_problems)},
            )
            regency_id = locked.regency_id
            transaction.on_commit(lambda: dashboard_invalidate(regency_id))
    cache.delete(progress_key)
    if rolled_back:
        # Nothing was written; record what went wrong so the admin sees it in the report, and confirm can be
        # chosen again (valid rows only, or after fixing the file).
        ImportBatch.objects.filter(pk=batch_id).update(
            status=ImportBatch.Status.PREVIEWED,
            problems=locked.problems + late_problems,
            valid_rows=max(locked.valid_rows - len(late_problems), 0),
            result={"rolled_back": True, "late_problems": late_problems},
        )
        raise ApplicationError(
            _("The import was rolled back: a row failed while saving. See the report."),
            code="rolled_back",
            status_code=409,
            extra={"problems": late_problems},
        )
    return {**counts, "late_problems": late_problems}


def import_discard(*, batch: ImportBatch, actor, ip: str | None = None) -> bool:
    with transaction.atomic():
        done = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.PREVIEWED).update(
            status=ImportBatch.Status.DISCARDED, payload=""
        )
        if done:
            audit_record(actor=actor, action="import.discard", obj=batch, ip=ip)
    batch.refresh_from_db()
    return bool(done)
