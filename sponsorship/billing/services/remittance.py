"""Remittance to BPJS Ketenagakerjaan: the monthly export of paid worker-months, and the results coming back.

The export is a personal-data export (NIK): it is audited with who, when, how many rows and the file.
Rows are marked remitted in the same transaction that selects them, so two exports never pay BPJS twice.
Worker-months remitted earlier whose payment was then taken back (RemittanceClawback, written when the coverage
row is removed) are reclaimed in the next export, whatever its period: a negative line with the reason in the
last column (Keterangan), claimed by that batch only, so a clawback is never reclaimed twice.
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
from sponsorship.billing.models import CoverageMonth, RemittanceBatch, RemittanceClawback
from sponsorship.core.audit import audit_record
from sponsorship.core.periods import month_start
from sponsorship.people.identifiers import IdentifierError, normalize_kpj
from sponsorship.people.services.access_log import personal_data_access_record, worker_regency_id
from sponsorship.people.services.collective import collective_groups_for_months
from sponsorship.people.services.people import worker_find_by_nik

from .registration_advice import is_rejected, rejection

# "Kode Wadah" / "Sumber Dana": the BPJS collective group and source code (SG, SA, SD, SL, SC, SB) of the row;
# "Keterangan": why a negative line reclaims a month already remitted.
HEADER = ["NIK", "Nama", "KPJ", "Periode", "JKK", "JKM", "JHT", "Total", "Kode Wadah", "Sumber Dana", "Keterangan"]


def _group_cells(group) -> list[str]:
    return [group.code, group.source_code] if group is not None else ["", ""]


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
            .select_related("worker__village__parent", "sponsor")
            .filter(month=period, remittance__isnull=True)
            .order_by("worker__full_name", "worker_id")
        )
        clawbacks = list(
            RemittanceClawback.objects.select_for_update(of=("self",))
            .select_related("worker__collective_group")
            .filter(claimed_in__isnull=True)
            .order_by("month", "worker__full_name", "pk")
        )
        if not rows and not clawbacks:
            raise ApplicationError(
                f"Tidak ada bulan-pekerja terbayar yang belum diremitansi untuk {period:%Y-%m}.",
                code="nothing_to_remit",
            )
        total = sum(r.amount_idr for r in rows)
        reclaimed = sum(c.amount_idr for c in clawbacks)
        batch = RemittanceBatch.objects.create(
            period=period,
            rows=len(rows),
            total_idr=total,
            clawback_rows=len(clawbacks),
            clawback_idr=reclaimed,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        now = timezone.now()
        groups = collective_groups_for_months(rows)
        CoverageMonth.objects.filter(pk__in=[r.pk for r in rows]).update(remittance=batch, remitted_at=now)
        RemittanceClawback.objects.filter(pk__in=[c.pk for c in clawbacks]).update(claimed_in=batch)
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
                *_group_cells(groups[r.pk]),
                "",
            ]
            for r in rows
        ] + [
            [
                c.worker.nik,
                c.worker.full_name,
                c.worker.kpj,
                f"{c.month:%Y-%m}",
                -c.jkk_idr,
                -c.jkm_idr,
                -c.jht_idr,
                -c.amount_idr,
                *_group_cells(c.worker.collective_group),
                f"Koreksi (remitansi #{c.remitted_in_id}): {c.reason}"[:255],
            ]
            for c in clawbacks
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
                "clawback_rows": len(clawbacks),
                "clawback_idr": reclaimed,
                "files": [csv_path.name, xlsx_path.name],
            },
        )
    batch.refresh_from_db()
    return RemittanceExport(batch, csv_path, xlsx_path)


def remittance_import_results(*, path: str | Path, actor=None) -> dict:
    """CSV from BPJS with columns NIK, KPJ, Status (and optionally Periode, Alasan): sets KPJ numbers and results.

    A rejected registration (Status "Ditolak", …) sets no KPJ; it is listed under "rejected" with BPJS's reason
    (column Alasan / Keterangan) and what to do next (billing/services/registration_advice.py)."""
    counts: dict = {"updated": 0, "unknown_nik": 0, "invalid": 0, "rejected": []}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = {name.lower().strip(): name for name in reader.fieldnames or []}
        for line_no, line in enumerate(reader, start=2):
            get = lambda key, line=line: (line.get(fields.get(key, ""), "") or "").strip()  # noqa: E731
            try:
                worker = worker_find_by_nik(get("nik"))
            except ApplicationError:
                counts["invalid"] += 1
                continue
            if worker is None:
                counts["unknown_nik"] += 1
                continue
            status = get("status")[:40]
            rejected = is_rejected(status)
            with transaction.atomic():
                before = worker.kpj
                if get("kpj") and not rejected:
                    try:
                        worker.kpj = normalize_kpj(get("kpj"))
                    except IdentifierError:
                        counts["invalid"] += 1
                        continue
                    worker.save(update_fields=["kpj", "updated_at"])
                if status:
                    months = CoverageMonth.objects.filter(worker=worker, remittance__isnull=False)
                    if get("periode"):
                        month = dt.datetime.strptime(get("periode"), "%Y-%m").date()  # noqa: DTZ007 - a date
                        months = months.filter(month=month)
                    months.update(registration_status=status)
                reason = get("alasan") or get("keterangan") or get("reason")
                audit_record(
                    actor=actor,
                    action="worker.kpj_import",
                    obj=worker,
                    before={"kpj": before},
                    after={"kpj": worker.kpj, "status": status, **({"reason": reason[:300]} if rejected else {})},
                )
            if rejected:
                counts["rejected"].append(
                    rejection(line=line_no, worker_id=worker.pk, nik=worker.nik, reason=reason).as_dict()
                )
            counts["updated"] += 1
    return counts
