"""Budget cohorts (people/models/cohorts.py): import a cohort from a file of NIKs, with a row report.

Like the roster imports, nothing is written when a row is wrong unless the admin asks for the valid rows only; the
report names the row, the column and the problem (never the NIK itself). Workers are found by the keyed hash of the
NIK (`nik_hash__in=keyed_hashes(nik)`), only within the admin's regency.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.api.errors import ApplicationError, ConflictError
from sponsorship.core.audit import AuditAction, audit_record
from sponsorship.people.crypto import keyed_hashes
from sponsorship.people.identifiers import IdentifierError, parse_nik
from sponsorship.people.models import Cohort, CohortMember, Worker

MAX_ROWS = 20_000
MAX_BYTES = 2_000_000


@dataclass
class CohortImportResult:
    cohort: Cohort | None
    added: int
    rows: int
    problems: list[dict] = field(default_factory=list)


def _rows(content: bytes) -> list[dict]:
    if len(content) > MAX_BYTES:
        raise ApplicationError(_("The file is too large (at most 2 MB)."))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApplicationError(_("The file must be a CSV file in UTF-8.")) from None
    sample = text[:2048]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if not reader.fieldnames or "nik" not in [f.strip().lower() for f in reader.fieldnames]:
        raise ApplicationError(_("The file needs a column named 'nik'."))
    rows = []
    for row in reader:
        rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if not isinstance(v, list)})
        if len(rows) > MAX_ROWS:
            raise ApplicationError(_("The file has too many rows (at most %(n)s).") % {"n": MAX_ROWS})
    return rows


def cohort_import(
    *,
    actor,
    regency_id: int,
    name: str,
    funder: str,
    starts_on: dt.date,
    funded_until: dt.date,
    content: bytes,
    valid_rows_only: bool = False,
    ip: str | None = None,
) -> CohortImportResult:
    """Create the cohort and its members. With a wrong row and not `valid_rows_only`: ApplicationError whose
    extra carries the row report, nothing written."""
    if funded_until < starts_on:
        raise ApplicationError(_("The funding end date must not be before the start date."))
    rows = _rows(content)
    problems: list[dict] = []
    worker_ids: list[int] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        try:
            nik = parse_nik(row.get("nik", ""), today=starts_on).nik
        except IdentifierError as exc:
            problems.append({"row": number, "column": "nik", "problem": str(exc)})
            continue
        if nik in seen:
            problems.append(
                {"row": number, "column": "nik", "problem": _("Same NIK as row %(row)s.") % {"row": seen[nik]}}
            )
            continue
        seen[nik] = number
        worker = (
            Worker.objects.filter(
                nik_hash__in=keyed_hashes(nik), village__parent__parent_id=regency_id, anonymized_at__isnull=True
            )
            .values_list("pk", flat=True)
            .first()
        )
        if worker is None:
            problems.append(
                {"row": number, "column": "nik", "problem": _("No registered worker in this regency has this NIK.")}
            )
            continue
        worker_ids.append(worker)
    if problems and not valid_rows_only:
        raise ApplicationError(
            _("%(n)s rows of the file have problems; nothing was imported.") % {"n": len(problems)},
            extra={"rows": problems},
        )
    if not worker_ids:
        raise ApplicationError(_("The file has no valid rows."), extra={"rows": problems})
    try:
        with transaction.atomic():
            cohort = Cohort.objects.create(
                regency_id=regency_id,
                name=name,
                funder=Cohort.Funder(funder),
                starts_on=starts_on,
                funded_until=funded_until,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            CohortMember.objects.bulk_create([CohortMember(cohort=cohort, worker_id=pk) for pk in worker_ids])
            audit_record(
                actor=actor,
                action=AuditAction.COHORT_IMPORT,
                obj=cohort,
                after={
                    "funder": cohort.funder,
                    "starts_on": starts_on.isoformat(),
                    "funded_until": funded_until.isoformat(),
                    "members": len(worker_ids),
                    "rows_skipped": len(problems),
                },
                ip=ip,
            )
    except IntegrityError:
        raise ConflictError(_("A cohort with this name already exists in the regency.")) from None
    return CohortImportResult(cohort=cohort, added=len(worker_ids), rows=len(rows), problems=problems)
