"""Figures above one regency: a province admin sees the province's regencies, a national admin the provinces.

Aggregates only. Each regency row is the regency dashboard's own figures (headline, on-time rate, arrears: the
same selectors), precomputed into RegencyFigures by the periodic task `refresh_area_figures`
(dashboard/services/areas.py): a national page reads one row per regency instead of computing ~1 s per regency.
Each row carries its `computed_at`, the totals the oldest of them; a regency without a row yet (just joined, the
task has not run) is computed live for that request. A province total is by construction the sum of its regency
rows and a national total the sum of its province rows; percentages are recomputed from the summed counts, never
averaged. No row names a person: area admins have no rule in people.scoping, so every scoped read of workers,
sponsors or invoices is empty for them, and these selectors return counts and rupiah only.
Only regencies in the programme (with at least one agency) are listed.
"""

import datetime as dt
import time
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from sponsorship.people.models import Role
from sponsorship.people.scoping import profile_of
from sponsorship.regions.models import Region

from ..models import RegencyFigures
from .figures import headline
from .money import arrears_totals, on_time_rate
from .scope import AdminScope

# Counts that add up across regencies and provinces (percentages are derived from them).
SUMMED = (
    "asn",
    "pledged",
    "workers_registered",
    "workers_covered",
    "target",
    "invoices_due",
    "paid_on_time",
    "arrears_idr",
    "arrears_sponsors",
)


@dataclass(frozen=True)
class AreaScope:
    """A province, or the whole nation (province None)."""

    province: Region | None
    user: object = None

    @property
    def level(self) -> str:
        return "province" if self.province else "national"

    @property
    def label(self) -> str:
        return self.province.name if self.province else "Indonesia"


def is_area_admin(user) -> bool:
    profile = profile_of(user)
    return profile is not None and profile.role in (Role.PROVINCE_ADMIN, Role.NATIONAL_ADMIN)


def is_province_admin(user) -> bool:
    profile = profile_of(user)
    return profile is not None and profile.role == Role.PROVINCE_ADMIN


def area_scope(user, *, province_code: str | None = None) -> AreaScope:
    """National admins and superusers: the nation, or one province with `province_code`; province admins:
    their own province only (another code: PermissionDenied). Everyone else: PermissionDenied."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    profile = profile_of(user)
    national = user.is_superuser or (profile is not None and profile.role == Role.NATIONAL_ADMIN)
    if national:
        if not province_code:
            return AreaScope(province=None, user=user)
        province = Region.objects.filter(code=province_code, level=Region.Level.PROVINCE).first()
        if province is None:
            raise Http404
        return AreaScope(province=province, user=user)
    if profile is not None and profile.role == Role.PROVINCE_ADMIN and profile.province_id:
        assert profile.province is not None
        if province_code and province_code != profile.province.code:
            raise PermissionDenied
        return AreaScope(province=profile.province, user=user)
    raise PermissionDenied


def _pct(part, whole) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _with_pcts(row: dict) -> dict:
    row["pledged_pct"] = _pct(row["pledged"], row["asn"])
    row["target_pct"] = _pct(row["workers_covered"], row["target"])
    row["on_time_pct"] = _pct(row["paid_on_time"], row["invoices_due"])
    return row


def regency_figures_live(regency: Region) -> dict:
    """One regency's aggregates computed now (no cache): pledges, coverage against target, payment compliance,
    arrears. What RegencyFigures stores; `compute_ms` is how long it took."""
    started = time.monotonic()
    scope = AdminScope(regency=regency, agency=None)
    head = headline(scope)
    on_time = on_time_rate(scope)
    arrears = arrears_totals(scope)
    return {
        "asn": head["asn"],
        "pledged": head["pledged"],
        "workers_registered": head["workers_registered"],
        "workers_covered": head["workers_covered"],
        "target": head["target"],
        "invoices_due": on_time["invoices_due"],
        "paid_on_time": on_time["paid_on_time"],
        "arrears_idr": arrears["arrears_idr"],
        "arrears_sponsors": arrears["arrears_sponsors"],
        "compute_ms": round(1000 * (time.monotonic() - started)),
    }


def _row(regency: Region, counts: dict, computed_at: dt.datetime) -> dict:
    return _with_pcts(
        {"code": regency.code, "name": regency.name, **{k: counts[k] for k in SUMMED}, "computed_at": computed_at}
    )


def regency_rows(regencies: list[Region]) -> list[dict]:
    """The rows of `regencies` from RegencyFigures; those without a stored row are computed live."""
    stored = {f.regency_id: f for f in RegencyFigures.objects.filter(regency__in=regencies)}
    rows = []
    for regency in regencies:
        figures = stored.get(regency.pk)
        if figures is not None:
            rows.append(_row(regency, {k: getattr(figures, k) for k in SUMMED}, figures.computed_at))
        else:
            rows.append(_row(regency, regency_figures_live(regency), timezone.now()))
    return rows


def sum_rows(rows: list[dict], **label) -> dict:
    """The total of rows: each count summed, percentages recomputed from the sums."""
    keys = (*SUMMED, "regencies") if rows and "regencies" in rows[0] else SUMMED
    total = {key: sum(r[key] for r in rows) for key in keys}
    # the figures are as fresh as their oldest row
    total["computed_at"] = min((r["computed_at"] for r in rows), default=None)
    return _with_pcts({**label, **total})


def programme_regencies(province: Region | None = None):
    qs = Region.objects.filter(level=Region.Level.REGENCY, agencies__isnull=False).distinct().order_by("code")
    return qs.filter(parent=province) if province else qs.select_related("parent")


def area_figures(area: AreaScope) -> dict:
    """Province: one row per regency in the programme. Nation: one row per province (the sum of its regencies).
    Totals are the sum of the rows."""
    if area.province is not None:
        rows = regency_rows(list(programme_regencies(area.province)))
        unit = "regency"
    else:
        regencies = [r for r in programme_regencies(None) if r.parent is not None]
        by_province: dict[int, tuple[Region, list[dict]]] = {}
        for regency, row in zip(regencies, regency_rows(regencies), strict=True):
            province = regency.parent
            assert province is not None
            by_province.setdefault(province.pk, (province, []))[1].append(row)
        rows = [
            sum_rows(regency_rows, code=province.code, name=province.name, regencies=len(regency_rows))
            for province, regency_rows in sorted(by_province.values(), key=lambda pr: pr[0].code)
        ]
        unit = "province"
    totals = sum_rows(rows, code="", name=area.label)
    return {
        "scope": area.label,
        "level": area.level,
        "province_code": area.province.code if area.province else None,
        "unit": unit,
        "rows": rows,
        "totals": totals,
        "computed_at": totals["computed_at"],
    }
