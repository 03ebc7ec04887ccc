"""The dashboard's tables by name: the same rows feed the web page, the JSON API and the XLSX/CSV exports."""

from collections.abc import Callable
from dataclasses import dataclass

from . import figures
from .at_risk import at_risk_workers, benefits_by_district, benefits_total
from .cache import cached
from .money import arrears_worklist, money_by_month, on_time_rate
from .scope import AdminScope


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: list[tuple[str, str]]  # (key, header in Indonesian)
    rows: list[dict]
    personal: bool = False  # holds personal data (names, NIP, phone): exports are audited as such


@dataclass(frozen=True)
class TableSpec:
    title: str
    columns: list[tuple[str, str]]
    rows: Callable[[AdminScope, dict], list[dict]]
    personal: bool = False
    extra: Callable[[AdminScope, dict], dict] | None = None


def _money_rows(scope, params):
    return money_by_month(scope)


def _money_extra(scope, params):
    return {"on_time": on_time_rate(scope)}


def _arrears_rows(scope, params):
    return arrears_worklist(scope)


def _at_risk_rows(scope, params):
    try:
        days = min(max(int(params.get("days", 30)), 0), 90)
    except (TypeError, ValueError):
        days = 30
    rows = at_risk_workers(scope, days=days)
    return [{**r, "protected": "ya" if r["protected"] else "tidak"} for r in rows]


def _at_risk_extra(scope, params):
    rows = build_table("at_risk", scope, params).rows
    reasons: dict[str, int] = {}
    for r in rows:
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    return {"reasons": reasons, "with_action": sum(1 for r in rows if r["actions"])}


TABLES: dict[str, TableSpec] = {
    "agencies": TableSpec(
        "Peringkat OPD",
        [
            ("rank", "Peringkat"),
            ("agency", "OPD"),
            ("asn", "Jumlah ASN"),
            ("pledged", "ASN mengampu"),
            ("pledged_pct", "% ASN mengampu"),
            ("workers_covered", "Pekerja diampu"),
            ("on_time_pct", "% bayar tepat waktu"),
            ("arrears_idr", "Tunggakan (Rp)"),
            ("arrears_sponsors", "ASN menunggak"),
        ],
        lambda scope, params: figures.agency_league(scope),
    ),
    "coverage_districts": TableSpec(
        "Cakupan per kecamatan",
        [
            ("code", "Kode"),
            ("name", "Kecamatan"),
            ("villages", "Jumlah desa/kel."),
            ("workers_registered", "Pekerja terdaftar"),
            ("workers_covered", "Pekerja diampu"),
            ("workers_protected", "Pekerja terlindungi bulan ini"),
            ("target", "Target"),
            ("target_pct", "% dari target"),
        ],
        lambda scope, params: figures.coverage_by_district(scope),
    ),
    "coverage_villages": TableSpec(
        "Cakupan per desa",
        [
            ("code", "Kode"),
            ("name", "Desa/Kelurahan"),
            ("workers_registered", "Pekerja terdaftar"),
            ("workers_covered", "Pekerja diampu"),
            ("workers_protected", "Pekerja terlindungi bulan ini"),
            ("target", "Target"),
            ("target_pct", "% dari target"),
        ],
        lambda scope, params: figures.coverage_by_village(scope, params.get("district", "")),
    ),
    "money": TableSpec(
        "Keuangan per bulan",
        [
            ("month", "Bulan"),
            ("label", "Periode"),
            ("expected_idr", "Tagihan iuran (Rp)"),
            ("collected_idr", "Terbayar (Rp)"),
            ("remitted_idr", "Disetor ke BPJS (Rp)"),
            ("outstanding_idr", "Belum dibayar (Rp)"),
            ("written_off_idr", "Dihapuskan (Rp)"),
            ("on_time_pct", "% tepat waktu"),
        ],
        _money_rows,
        extra=_money_extra,
    ),
    "arrears": TableSpec(
        "Daftar tunggakan",
        [
            ("sponsor_name", "Nama ASN"),
            ("nip", "NIP"),
            ("agency", "OPD"),
            ("workers", "Pekerja"),
            ("invoices", "Tagihan"),
            ("amount_idr", "Jumlah (Rp)"),
            ("since", "Menunggak sejak"),
            ("days", "Hari terlambat"),
            ("last_reminder", "Pengingat terakhir"),
        ],
        _arrears_rows,
        personal=True,
    ),
    "at_risk": TableSpec(
        "Pekerja berisiko kehilangan perlindungan",
        [
            ("worker_name", "Nama pekerja"),
            ("district", "Kecamatan"),
            ("village", "Desa/Kelurahan"),
            ("sponsor_name", "ASN pengampu"),
            ("agency", "OPD"),
            ("protected", "Masih terlindungi"),
            ("ends_on", "Perlindungan sampai"),
            ("days_left", "Sisa hari"),
            ("reason_label", "Sebab"),
            ("actions_text", "Tindakan yang sudah dilakukan"),
        ],
        _at_risk_rows,
        personal=True,
        extra=_at_risk_extra,
    ),
    "benefits": TableSpec(
        "Manfaat JKK/JKM yang diterima per kecamatan",
        [
            ("code", "Kode"),
            ("name", "Kecamatan"),
            ("jkk", "JKK (kecelakaan kerja)"),
            ("jkm", "JKM (kematian)"),
            ("total", "Jumlah"),
            ("amount_idr", "Nilai tercatat (Rp)"),
            ("sponsors_told", "ASN diberi tahu"),
        ],
        lambda scope, params: benefits_by_district(scope),
        extra=lambda scope, params: {"regency_total": benefits_total(scope)},
    ),
}


def build_table(name: str, scope: AdminScope, params: dict | None = None) -> Table:
    spec = TABLES[name]
    params = params or {}
    rows = cached(scope, name, params, lambda: spec.rows(scope, params))
    return Table(name=name, title=spec.title, columns=spec.columns, rows=rows, personal=spec.personal)


def table_extra(name: str, scope: AdminScope, params: dict | None = None) -> dict:
    spec = TABLES[name]
    if not spec.extra:
        return {}
    params = params or {}
    return cached(scope, f"{name}:extra", params, lambda: spec.extra(scope, params))  # noqa: S610 - not QuerySet.extra
