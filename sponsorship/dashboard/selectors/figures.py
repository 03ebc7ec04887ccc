"""Dashboard figures that need only the foundation tables: agencies league, coverage against village targets."""

from django.db import connection
from django.db.models import Count, Q

from sponsorship.core.periods import local_today, month_start
from sponsorship.dashboard.models import VillageTarget
from sponsorship.people.models import Sponsor, Sponsorship, Worker
from sponsorship.regions.models import Region

from .money import agency_money, protected_this_month
from .scope import AdminScope, default_village_target


def _money_by_agency(scope):
    return agency_money(scope)


def _protected(scope, by):
    return protected_this_month(scope, by=by)


def _pct(part, whole) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def agency_league(scope: AdminScope) -> list[dict]:
    """One row per agency: ASN, ASN who pledged (≥1 active sponsorship), workers covered by active sponsorships."""
    rows = (
        scope.agencies()
        .annotate(
            asn=Count("sponsors", filter=Q(sponsors__status=Sponsor.Status.ACTIVE), distinct=True),
            pledged=Count(
                "sponsors",
                filter=Q(sponsors__status=Sponsor.Status.ACTIVE, sponsors__active_sponsorships__gt=0),
                distinct=True,
            ),
        )
        .values("id", "name", "short_name", "asn", "pledged")
    )
    covered = dict(
        scope.active_sponsorships()
        .values_list("sponsor__agency_id")
        .annotate(n=Count("id"))
        .values_list("sponsor__agency_id", "n")
    )
    money = _money_by_agency(scope)
    out = []
    for row in rows:
        m = money.get(row["id"], {})
        out.append(
            {
                "agency_id": row["id"],
                "agency": row["name"],
                "short_name": row["short_name"] or row["name"],
                "asn": row["asn"],
                "pledged": row["pledged"],
                "pledged_pct": _pct(row["pledged"], row["asn"]),
                "workers_covered": covered.get(row["id"], 0),
                "on_time_pct": m.get("on_time_pct"),
                "arrears_idr": m.get("arrears_idr", 0),
                "arrears_sponsors": m.get("arrears_sponsors", 0),
            }
        )
    out.sort(key=lambda r: (-(r["pledged_pct"] or 0), -r["workers_covered"], r["agency"]))
    for rank, row in enumerate(out, start=1):
        row["rank"] = rank
    return out


def _targets(regency: Region, village_ids=None) -> tuple[int, dict[int, int]]:
    qs = VillageTarget.objects.filter(village__parent__parent=regency)
    if village_ids is not None:
        qs = qs.filter(village_id__in=village_ids)
    return default_village_target(regency), dict(qs.values_list("village_id", "target"))


def _covered_by(scope: AdminScope, key: str, **filters) -> dict:
    """Workers with an active sponsor (at most one per worker, by constraint) grouped by `key` of the worker."""
    qs = scope.active_sponsorships().filter(**filters)
    field = f"worker__{key}"
    return dict(qs.values_list(field).annotate(n=Count("id")).values_list(field, "n"))


def _coverage_counts(scope: AdminScope, *, district: Region | None = None) -> dict[int, tuple[int, int, int]]:
    """{district id (or village id when `district` is given): (registered, covered, protected)} in ONE pass
    over the regency's (or district's) workers: an active sponsorship of the scope (at most one per worker,
    by constraint) and a paid coverage month for this month through the scope's ASN (one per worker-month,
    by constraint), so the left joins never multiply rows."""
    sponsors_sql, sponsors_params = scope.sponsors().order_by().values("id").query.sql_with_params()
    protected_join = (
        f"LEFT JOIN sponsorship_coveragemonth cm ON cm.worker_id = w.id AND cm.month = %s "
        f"AND cm.sponsor_id IN ({sponsors_sql})"
    )
    protected_params = [month_start(local_today()), *sponsors_params]
    protected_count = "COUNT(cm.id)"
    if district is None:
        key, where, where_params = (
            "v.parent_id",
            "v.parent_id IN (SELECT id FROM sponsorship_region WHERE parent_id = %s)",
            [scope.regency.pk],
        )
    else:
        key, where, where_params = "w.village_id", "v.parent_id = %s", [district.pk]
    sql = f"""
        SELECT {key}, COUNT(*), COUNT(sp.id), {protected_count}
        FROM sponsorship_worker w JOIN sponsorship_region v ON v.id = w.village_id
        LEFT JOIN sponsorship_sponsorship sp ON sp.worker_id = w.id AND sp.status = %s
             AND sp.sponsor_id IN ({sponsors_sql})
        {protected_join}
        WHERE {where}
        GROUP BY {key}"""  # noqa: S608 - only table names and ORM-compiled subqueries are interpolated; values are parameters
    with connection.cursor() as cur:
        cur.execute(sql, [Sponsorship.Status.ACTIVE, *sponsors_params, *protected_params, *where_params])
        return {row[0]: tuple(row[1:]) for row in cur.fetchall()}


def coverage_by_district(scope: AdminScope) -> list[dict]:
    """Per kecamatan: villages, registered workers, workers covered, target (sum of village targets), % of target."""
    default, overrides = _targets(scope.regency)
    districts = list(
        Region.objects.filter(parent=scope.regency, level=Region.Level.DISTRICT)
        .order_by("code")
        .annotate(villages=Count("children"))
        .values("id", "code", "name", "villages")
    )
    village_district = dict(
        Region.objects.filter(parent__parent=scope.regency, level=Region.Level.VILLAGE).values_list("id", "parent_id")
    )
    target_by_district: dict[int, int] = {}
    for village_id, district_id in village_district.items():
        target_by_district[district_id] = target_by_district.get(district_id, 0) + overrides.get(village_id, default)
    counts = _coverage_counts(scope)
    registered, covered, protected = ({k: v[i] for k, v in counts.items()} for i in range(3))
    out = []
    for d in districts:
        target = target_by_district.get(d["id"], 0)
        out.append(
            {
                "code": d["code"],
                "name": d["name"],
                "villages": d["villages"],
                "workers_registered": registered.get(d["id"], 0),
                "workers_covered": covered.get(d["id"], 0),
                "workers_protected": protected.get(d["id"], 0),
                "target": target,
                "target_pct": _pct(covered.get(d["id"], 0), target),
            }
        )
    return out


def coverage_by_village(scope: AdminScope, district_code: str) -> list[dict]:
    district = Region.objects.filter(code=district_code, parent=scope.regency, level=Region.Level.DISTRICT).first()
    if district is None:
        return []
    villages = list(
        Region.objects.filter(parent=district).order_by("code").values("id", "code", "name", "village_kind")
    )
    default, overrides = _targets(scope.regency, [v["id"] for v in villages])
    counts = _coverage_counts(scope, district=district)
    registered, covered, protected = ({k: v[i] for k, v in counts.items()} for i in range(3))
    out = []
    for v in villages:
        target = overrides.get(v["id"], default)
        out.append(
            {
                "code": v["code"],
                "name": v["name"],
                "kind": v["village_kind"],
                "workers_registered": registered.get(v["id"], 0),
                "workers_covered": covered.get(v["id"], 0),
                "workers_protected": protected.get(v["id"], 0),
                "target": target,
                "target_overridden": v["id"] in overrides,
                "target_pct": _pct(covered.get(v["id"], 0), target),
            }
        )
    return out


def headline(scope: AdminScope) -> dict:
    sponsors = scope.sponsors().filter(status=Sponsor.Status.ACTIVE)
    asn = sponsors.count()
    pledged = sponsors.filter(active_sponsorships__gt=0).count()
    covered = scope.active_sponsorships().count()
    default = default_village_target(scope.regency)
    villages = Region.objects.filter(parent__parent=scope.regency, level=Region.Level.VILLAGE).count()
    overrides = VillageTarget.objects.filter(village__parent__parent=scope.regency)
    target = default * (villages - overrides.count()) + sum(overrides.values_list("target", flat=True))
    return {
        "scope": scope.label,
        "regency_code": scope.regency.code,
        "agency_id": scope.agency.pk if scope.agency else None,
        "asn": asn,
        "pledged": pledged,
        "pledged_pct": _pct(pledged, asn),
        "workers_covered": covered,
        "workers_registered": Worker.objects.filter(village__parent__parent=scope.regency).count(),
        "villages": villages,
        "target": target,
        "target_pct": _pct(covered, target),
        "as_of": local_today(),
    }
