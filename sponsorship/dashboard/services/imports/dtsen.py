"""The DTSEN decile import: NIK or family card (KK) number + decile + ranking date from the social office.

Rows are matched to the regency's workers by keyed hash (people/crypto.py); the batch keeps only worker ids,
deciles and dates, never a NIK or KK number. Most rows of a DTSEN extract are households we do not know:
"not found" is an outcome, not a problem, so the file still applies all-or-nothing over its invalid rows only.
Applying writes one round per ranking date through people/services/deciles.py.
"""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from backend.api.errors import ApplicationError
from sponsorship.dashboard.models import ImportBatch
from sponsorship.people.crypto import keyed_hash
from sponsorship.people.identifiers import mask_nik, parse_nik
from sponsorship.people.models import Worker
from sponsorship.people.services.deciles import decile_cutoff, decile_round_get, kk_digits, worker_decile_record
from sponsorship.regions.models import Region

from .cells import CellError, Lookups, RowCells, date_cell, digits_cell
from .readers import DTSEN_COLUMNS, Problem

REPORT_ROWS = 5000  # matched rows (and not-found row numbers) listed in the report; the counts cover every row


def _nik(cells: RowCells, today: dt.date) -> str:
    raw = cells.raw("nik")
    if raw in (None, ""):
        return ""
    return parse_nik(digits_cell(raw, "NIK"), today=today).nik


def kk_cell(cells: RowCells) -> str:
    """The optional "No. KK" cell (the DTSEN file and the worker roster): "" or 16 digits."""
    raw = cells.raw("kk")
    if raw in (None, ""):
        return ""
    try:
        return kk_digits(digits_cell(raw, "No. KK"))
    except ApplicationError as exc:
        raise CellError(str(exc.message)) from None


def _decile(cells: RowCells) -> int:
    text = cells.text("decile")
    if not text.isdigit() or not 1 <= int(text) <= 10:
        raise CellError(f"Desil harus angka 1–10 (tertulis '{text}').")
    return int(text)


def _ranked_on(cells: RowCells, today: dt.date) -> dt.date:
    day = date_cell(cells.raw("ranked_on"))
    if day is None:
        raise CellError("Tanggal pemeringkatan wajib diisi.")
    if day > today:
        raise CellError("Tanggal pemeringkatan tidak boleh di masa depan.")
    return day


def validate_dtsen(rows, index, lookups: Lookups) -> tuple[list[dict], list[Problem]]:
    scope = lookups.scope
    if scope.agency is not None:
        raise ApplicationError(
            _("Only a regency admin can import DTSEN deciles."), code="permission_denied", status_code=403
        )
    headers = {c.key: c.header for c in DTSEN_COLUMNS}
    today = timezone.localdate()
    problems: list[Problem] = []
    parsed = []
    seen_nik: dict[str, int] = {}
    for row_no, values in rows:
        cells = RowCells(row_no, values, index, headers)
        nik = cells.parse("nik", _nik, cells, today)
        kk = cells.parse("kk", kk_cell, cells)
        decile = cells.parse("decile", _decile, cells)
        ranked_on = cells.parse("ranked_on", _ranked_on, cells, today)
        if nik == "" and kk == "":
            cells.problem("nik", "Isi NIK atau No. KK.")
        if nik:
            cells.once_in_file("nik", nik, seen_nik, f"NIK {mask_nik(nik)}")
        if cells.problems:
            problems.extend(cells.problems)
            continue
        parsed.append((row_no, keyed_hash(nik) if nik else "", keyed_hash(kk) if kk else "", decile, ranked_on))
    workers = Worker.objects.filter(village__parent__parent=scope.regency, anonymized_at__isnull=True)
    nik_hashes = [p[1] for p in parsed if p[1]]
    kk_hashes = [p[2] for p in parsed if p[2]]
    by_nik = {w.nik_hash: w for w in workers.filter(nik_hash__in=nik_hashes).only("id", "nik_hash", "welfare_decile")}
    by_kk: dict[str, list[Worker]] = {}
    for w in workers.filter(kk_hash__in=kk_hashes).exclude(kk_hash="").only("id", "kk_hash", "welfare_decile"):
        by_kk.setdefault(w.kk_hash, []).append(w)
    cutoff = decile_cutoff(scope.regency)
    valid: list[dict] = []
    matched_in: dict[int, int] = {}
    for row_no, nik_hash, kk_hash, decile, ranked_on in parsed:
        found = [by_nik[nik_hash]] if nik_hash in by_nik else by_kk.get(kk_hash, []) if kk_hash else []
        base = {"row": row_no, "decile": decile, "ranked_on": ranked_on.isoformat(), "regency_id": scope.regency.pk}
        if not found:
            valid.append({**base, "worker_id": None, "outcome": "not_found"})
            continue
        twice = [w for w in found if w.pk in matched_in]
        if twice:
            problems.append(
                Problem(row_no, headers["nik"], f"Pekerja ini sudah dicocokkan di baris {matched_in[twice[0].pk]}.")
            )
            continue
        for w in found:
            matched_in[w.pk] = row_no
            before = w.welfare_decile
            flagged = cutoff is not None and decile > cutoff and (before is None or before <= cutoff)
            valid.append(
                {
                    **base,
                    "worker_id": w.pk,
                    "before": before,
                    "outcome": "unchanged" if before == decile else "changed",
                    "flagged": flagged,
                }
            )
    return valid, problems


def apply_dtsen(row: dict, actor) -> str:
    """One matched row: the worker's decile in the round of its ranking date. Returns changed/unchanged/not_found."""
    if row.get("worker_id") is None:
        return "not_found"
    regency = Region.objects.get(pk=row["regency_id"])
    round_ = decile_round_get(regency=regency, ranked_on=dt.date.fromisoformat(row["ranked_on"]), actor=actor)
    return worker_decile_record(
        worker_id=row["worker_id"], round_=round_, decile=row["decile"], cutoff=decile_cutoff(regency), actor=actor
    )


def row_report(kind: str, valid: list[dict], problems: list[Problem]) -> dict:
    """The preview's row-level report of a DTSEN file (other kinds: none; their problems are the report)."""
    if kind != ImportBatch.Kind.DTSEN:
        return {}
    counts = {"matched": 0, "not_found": 0, "invalid": len({p.row for p in problems}), "unchanged": 0, "changed": 0}
    counts["flagged"] = 0
    rows: list[dict] = []
    not_found: list[int] = []
    for r in valid:
        counts[r["outcome"]] += 1
        if r["worker_id"] is None:
            if len(not_found) < REPORT_ROWS:
                not_found.append(r["row"])
            continue
        counts["matched"] += 1
        counts["flagged"] += bool(r.get("flagged"))
        if len(rows) < REPORT_ROWS:
            rows.append(
                {
                    "row": r["row"],
                    "outcome": r["outcome"],
                    "worker_id": r["worker_id"],
                    "before": r.get("before"),
                    "after": r["decile"],
                    "flagged": bool(r.get("flagged")),
                }
            )
    return {"counts": counts, "rows": rows, "not_found_rows": not_found}


def dtsen_result_text(result: dict) -> str:
    return _(
        "Imported: %(changed)s deciles changed, %(unchanged)s unchanged, %(not_found)s not found among the workers, "
        "%(skipped)s invalid rows skipped."
    ) % {k: result.get(k, 0) for k in ("changed", "unchanged", "not_found", "skipped")}
