"""The coverage map: every village of the scope as a point, coloured by coverage against its target.

Where a point comes from (rule): the village centre from the region file (Region.lat/lon) when it has one;
otherwise the mean of the village's workers' coordinates, only when at least MIN_WORKERS_FOR_MEAN workers have
them and rounded to ~100 m (three decimals), so a point never reveals one person's home. Villages with neither are
counted as "without location" and listed, not drawn.
Covered = workers with an active sponsorship by the scope's ASN (the same figure as the coverage table).
"""

from django.db.models import Avg, Count
from django.http import Http404
from django.shortcuts import get_object_or_404

from sponsorship.dashboard.models import VillageTarget
from sponsorship.people.models import Sponsorship, Worker
from sponsorship.people.scoping import scope as people_scope
from sponsorship.regions.models import Region

from .scope import AdminScope, default_village_target

MIN_WORKERS_FOR_MEAN = 3
# Share of the village target covered -> colour class (lower bound inclusive); "none" when the target is 0.
BANDS = ((100.0, "full"), (75.0, "high"), (50.0, "mid"), (25.0, "low"), (0.0, "min"))


def band_of(pct: float | None) -> str:
    if pct is None:
        return "none"
    return next(name for bound, name in BANDS if pct >= bound)


def scope_for_agency(scope: AdminScope, agency_id) -> AdminScope:
    """The agency filter: a regency admin may narrow to one agency of the regency; an agency admin stays on theirs
    (asking for another agency is a 404, as for any row they may not see)."""
    if not agency_id:
        return scope
    if not str(agency_id).isdigit():
        raise Http404
    agency = get_object_or_404(scope.agencies(), pk=int(agency_id))
    return AdminScope(regency=scope.regency, agency=agency, user=scope.user)


def coverage_map(scope: AdminScope, *, district_code: str = "") -> dict:
    villages = Region.objects.filter(parent__parent=scope.regency, level=Region.Level.VILLAGE)
    if district_code:
        villages = villages.filter(parent__code=district_code)
    rows = list(villages.order_by("code").values("id", "code", "name", "lat", "lon", "parent__name", "parent__code"))
    ids = [r["id"] for r in rows]
    default = default_village_target(scope.regency)
    targets = dict(VillageTarget.objects.filter(village_id__in=ids).values_list("village_id", "target"))
    registered = dict(
        Worker.objects.filter(village_id__in=ids)
        .values_list("village_id")
        .annotate(n=Count("id"))
        .values_list("village_id", "n")
    )
    covered = dict(
        scope.active_sponsorships()
        .filter(worker__village_id__in=ids)
        .values_list("worker__village_id")
        .annotate(n=Count("id"))
        .values_list("worker__village_id", "n")
    )
    missing = [r["id"] for r in rows if r["lat"] is None or r["lon"] is None]
    means = {
        m["village_id"]: (round(m["lat"], 3), round(m["lon"], 3))
        for m in Worker.objects.filter(village_id__in=missing, lat__isnull=False, lon__isnull=False)
        .values("village_id")
        .annotate(lat=Avg("lat"), lon=Avg("lon"), n=Count("id"))
        .filter(n__gte=MIN_WORKERS_FOR_MEAN)
    }
    points, unplaced = [], []
    for r in rows:
        target = targets.get(r["id"], default)
        n = covered.get(r["id"], 0)
        pct = round(100.0 * n / target, 1) if target else None
        village = {
            "code": r["code"],
            "name": r["name"],
            "district": r["parent__name"],
            "district_code": r["parent__code"],
            "registered": registered.get(r["id"], 0),
            "covered": n,
            "target": target,
            "target_pct": pct,
            "band": band_of(pct),
        }
        if r["lat"] is not None and r["lon"] is not None:
            points.append({**village, "lat": r["lat"], "lon": r["lon"], "source": "region"})
        elif r["id"] in means:
            lat, lon = means[r["id"]]
            points.append({**village, "lat": lat, "lon": lon, "source": "workers"})
        else:
            unplaced.append(village)
    return {"points": points, "unplaced": unplaced, "bands": [name for _, name in BANDS] + ["none"]}


def map_filters(scope: AdminScope) -> dict:
    """The choices of the map's filters: the scope's agencies and the regency's kecamatan."""
    return {
        "agencies": list(scope.agencies().order_by("name").values("id", "name", "short_name")),
        "districts": list(
            Region.objects.filter(parent=scope.regency, level=Region.Level.DISTRICT)
            .order_by("name")
            .values("code", "name")
        ),
    }


def village_detail(scope: AdminScope, user, village_code: str) -> dict:
    """What the admin may see in one village: the workers the people scope lets them see (a regency admin all
    workers living there, an agency admin those its ASN sponsor), with the sponsoring agency; no NIK or phone."""
    village = get_object_or_404(
        Region.objects.select_related("parent"),
        code=village_code,
        level=Region.Level.VILLAGE,
        parent__parent=scope.regency,
    )
    workers = people_scope(Worker.objects.filter(village=village, anonymized_at__isnull=True), user)
    if scope.agency is not None:  # the agency filter narrows a regency admin's view too
        workers = workers.filter(sponsorships__sponsor__agency=scope.agency).distinct()
    active = {
        s["worker_id"]: s
        for s in Sponsorship.objects.filter(worker__in=workers, status=Sponsorship.Status.ACTIVE).values(
            "worker_id", "sponsor__agency__short_name", "sponsor__agency__name", "sponsor__agency_id"
        )
    }
    visible_agencies = set(scope.agencies().values_list("id", flat=True))
    out = []
    for w in workers.select_related("occupation").order_by("full_name")[:200]:
        s = active.get(w.pk)
        in_scope = s is not None and s["sponsor__agency_id"] in visible_agencies
        agency = (s["sponsor__agency__short_name"] or s["sponsor__agency__name"]) if s is not None and in_scope else ""
        out.append(
            {
                "worker_id": w.pk,
                "name": w.full_name,
                "occupation": w.occupation.name,
                "decile": w.welfare_decile,
                "covered": in_scope,
                "agency": agency,
            }
        )
    return {
        "code": village.code,
        "name": village.name,
        "district": village.parent.name if village.parent else "",
        "workers": out,
    }
