"""Remittance to BPJS Ketenagakerjaan: the monthly export of paid worker-months, and the results coming back.

The export is a personal-data export (NIK): it is audited with who, when, how many rows and the file.
Rows are marked remitted in the same transaction that selects them, so two exports never pay BPJS twice.
"""

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from openpyxl import Workbook

from backend.api.errors import ApplicationError
from sponsorship.billing.models import CoverageMonth, RemittanceBatch
from sponsorship.core.audit import audit_record
from sponsorship.core.periods import month_start
from sponsorship.people.identifiers import IdentifierError, normalize_kpj
from sponsorship.people.services.access_log import personal_data_access_record, worker_regency_id
from sponsorship.people.services.people import worker_find_by_nik

HEADER = ["NIK", "Nama", "KPJ", "Periode", "JKK", "JKM", "JHT", "Total"]


@dataclass(frozen=True)
class RemittanceExport:
    batch: RemittanceBatch
    csv_path: Path
    xlsx_path: Path


def remittance_export(*, period: dt.date, actor=None, out_dir: str | Path | None = None) -> RemittanceExport:
    period = month_start(period)
    out = Path(out_dir or settings.REMITTANCE_DIR)
    out.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        rows = list(
            CoverageMonth.objects.select_for_update(of=("self",))
            .select_related("worker__village__parent")
            .filter(month=period, remittance__isnull=True)
            .order_by("worker__full_name", "worker_id")
        )
        if not rows:
            raise ApplicationError(
                f"Tidak ada bulan-pekerja terbayar yang belum diremitansi untuk {period:%Y-%m}.",
                code="nothing_to_remit",
            )
        total = sum(r.amount_idr for r in rows)
        batch = RemittanceBatch.objects.create(
            period=period,
            rows=len(rows),
            total_idr=total,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        now = timezone.now()
        CoverageMonth.objects.filter(pk__in=[r.pk for r in rows]).update(remittance=batch, remitted_at=now)
        table = [
            [
                r.worker.nik,
                r.worker.full_name,
                r.worker.kpj,
                f"{period:%Y-%m}",
                r.jkk_idr,
                r.jkm_idr,
                r.jht_idr,
                r.amount_idr,
            ]
            for r in rows
        ]
        stem = f"remitansi-{period:%Y%m}-{batch.pk}"
        csv_path, xlsx_path = out / f"{stem}.csv", out / f"{stem}.xlsx"
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(HEADER)
        writer.writerows(table)
        csv_path.write_text(buffer.getvalue(), encoding="utf-8")
        book = Workbook()
        sheet = book.active
        sheet.title = f"{period:%Y-%m}"
        sheet.append(HEADER)
        for row in table:
            sheet.append(row)
        for cell in sheet["A"][1:]:
            cell.number_format = "@"  # keep NIK as text (16 digits would lose precision as a number)
        book.save(xlsx_path)
        RemittanceBatch.objects.filter(pk=batch.pk).update(file_name=stem)
        personal_data_access_record(  # the file carries every listed worker's clear NIK
            actor=actor,
            subjects=[("people.worker", r.worker_id, worker_regency_id(r.worker)) for r in rows],
            fields=["nik"],
            purpose="bpjs_remittance",
            channel="file",
            note=stem,
        )
        audit_record(
            actor=actor,
            action="personal_data.export",
            obj=batch,
            after={
                "what": "remittance",
                "period": period.isoformat(),
                "rows": len(rows),
                "total_idr": total,
                "files": [csv_path.name, xlsx_path.name],
            },
        )
    batch.refresh_from_db()
    return RemittanceExport(batch, csv_path, xlsx_path)


def remittance_import_results(*, path: str | Path, actor=None) -> dict:
    """CSV from BPJS with columns NIK, KPJ, Status (and optionally Periode): sets KPJ numbers and results."""
    counts = {"updated": 0, "unknown_nik": 0, "invalid": 0}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = {name.lower().strip(): name for name in reader.fieldnames or []}
        for line in reader:
            get = lambda key, line=line: (line.get(fields.get(key, ""), "") or "").strip()  # noqa: E731
            try:
                worker = worker_find_by_nik(get("nik"))
            except ApplicationError:
                counts["invalid"] += 1
                continue
            if worker is None:
                counts["unknown_nik"] += 1
                continue
            with transaction.atomic():
                before = worker.kpj
                if get("kpj"):
                    try:
                        worker.kpj = normalize_kpj(get("kpj"))
                    except IdentifierError:
                        counts["invalid"] += 1
                        continue
                    worker.save(update_fields=["kpj", "updated_at"])
                status = get("status")[:40]
                if status:
                    months = CoverageMonth.objects.filter(worker=worker, remittance__isnull=False)
                    if get("periode"):
                        month = dt.datetime.strptime(get("periode"), "%Y-%m").date()  # noqa: DTZ007 - a date
                        months = months.filter(month=month)
                    months.update(registration_status=status)
                audit_record(
                    actor=actor,
                    action="worker.kpj_import",
                    obj=worker,
                    before={"kpj": before},
                    after={"kpj": worker.kpj, "status": status},
                )
            counts["updated"] += 1
    return counts
