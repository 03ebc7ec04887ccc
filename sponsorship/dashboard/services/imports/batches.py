"""The import services the API and web pages call: preview → confirm (or discard), never half-imported.

1. `import_preview` reads the file, validates every row and stores an ImportBatch with a report of
   (row, column, problem) in Indonesian and the validated rows (encrypted, they hold NIK/NIP).
2. `import_confirm` applies the batch once: mode "all" (the default) writes every row in one transaction
   or nothing; mode "valid_only" writes the valid rows, each in its own savepoint, and reports the rest.
Rows are keyed by NIP / NIK, so importing the same file twice updates and never duplicates.
"""

import json

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError
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


def import_confirm(*, batch: ImportBatch, actor, mode: str = ImportBatch.Mode.ALL, ip: str | None = None) -> dict:
    """Apply a previewed batch once. Returns {created, updated, unchanged, skipped, problems}."""
    if mode not in ImportBatch.Mode.values:
        raise ApplicationError(_("Unknown import mode."), code="invalid")
    with translation.override("id"):
        return _confirm(batch=batch, actor=actor, mode=mode, ip=ip)


def _confirm(*, batch, actor, mode, ip):
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != ImportBatch.Status.PREVIEWED:
            raise ApplicationError(
                _("This import was already applied or discarded."), code="already_done", status_code=409
            )
        if mode == ImportBatch.Mode.ALL and locked.problems:
            raise ApplicationError(
                _("%(error_rows)s rows have problems: fix the file, or choose 'valid rows only'.")
                % {"error_rows": locked.error_rows},
                code="has_problems",
                status_code=409,
            )
        rows = json.loads(locked.payload or "[]")
        counts = {"created": 0, "updated": 0, "unchanged": 0, "skipped": len({p["row"] for p in locked.problems})}
        late_problems: list[dict] = []
        for row in rows:
            try:
                with transaction.atomic():  # a savepoint per row
                    outcome = apply_row(locked.kind, row, actor)
                    counts[outcome] = counts.get(outcome, 0) + 1
            except ApplicationError as exc:
                late_problems.append({"row": row["row"], "column": "", "problem": str(exc.message)})
                if mode == ImportBatch.Mode.ALL:
                    break
                counts["skipped"] += 1
        if late_problems and mode == ImportBatch.Mode.ALL:
            transaction.set_rollback(True)
        else:
            locked.status = ImportBatch.Status.APPLIED
            locked.mode = mode
            locked.applied_at = timezone.now()
            locked.result = {**counts, "late_problems": late_problems}
            updated = ImportBatch.objects.filter(pk=locked.pk, status=ImportBatch.Status.PREVIEWED).update(
                status=locked.status, mode=mode, applied_at=locked.applied_at, result=locked.result
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
    if late_problems and mode == ImportBatch.Mode.ALL:
        # Nothing was written; record what went wrong so the admin sees it in the report.
        ImportBatch.objects.filter(pk=batch.pk).update(
            problems=batch.problems + late_problems, valid_rows=max(batch.valid_rows - len(late_problems), 0)
        )
        batch.refresh_from_db()
        raise ApplicationError(
            _("The import was rolled back: a row failed while saving. See the report."),
            code="rolled_back",
            status_code=409,
            extra={"problems": late_problems},
        )
    batch.refresh_from_db()
    return batch.result


def import_discard(*, batch: ImportBatch, actor, ip: str | None = None) -> bool:
    with transaction.atomic():
        done = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.PREVIEWED).update(
            status=ImportBatch.Status.DISCARDED, payload=""
        )
        if done:
            audit_record(actor=actor, action="import.discard", obj=batch, ip=ip)
    batch.refresh_from_db()
    return bool(done)
