"""Reads for matching: who may be proposed, where people are, and how far apart.

Distance rule (issue 3): precise coordinates when both sides have them, otherwise village centres
(Region.lat/lon). Queries prefilter with a latitude/longitude bounding box in SQL (plain comparisons on
indexed columns) and the exact great-circle distance is computed in Python.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sponsorship.matching.models import Proposal
from sponsorship.people.models import Sponsor, Sponsorship, Worker, WorkerConsent
from sponsorship.people.services.match_priority import flagged_for_matching
from sponsorship.regions.models import RegencyConfig, Region

EARTH_RADIUS_M = 6_371_008.8
M_PER_DEG_LAT = 111_195.0
# A worker whose sponsorship ended this recently is "about to lapse": protection holds only for paid
# months and arrears can be paid for 3 months (domain.md §2), so they jump the queue.
RECENTLY_UNSPONSORED_DAYS = 90
# Proposals that hold a worker for one sponsor: others are not offered the same worker meanwhile.
RESERVING_SOURCES = (Proposal.Source.MATCHING_RUN, Proposal.Source.REMATCH)
DEFAULT_POLICY = "lowest_decile_first"


# -- geometry ---------------------------------------------------------------------------------------
def haversine_m(lat1, lon1, lat2, lon2):
    """Great-circle distance in metres; scalars or NumPy arrays."""
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def bbox(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(lat_min, lat_max, lon_min, lon_max) enclosing a circle; a little generous, never too small."""
    dlat = radius_m / M_PER_DEG_LAT * 1.01
    dlon = radius_m / (M_PER_DEG_LAT * max(math.cos(math.radians(lat)), 0.01)) * 1.01
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def _in_box(prefix: str, box) -> Q:
    return Q(
        **{
            f"{prefix}lat__gte": box[0],
            f"{prefix}lat__lte": box[1],
            f"{prefix}lon__gte": box[2],
            f"{prefix}lon__lte": box[3],
        }
    )


def pair_distance_m(a_lat, a_lon, a_vlat, a_vlon, b_lat, b_lon, b_vlat, b_vlon) -> float | None:
    """Precise when both are precise, else village centre to village centre; None when unknown."""
    if None not in (a_lat, a_lon, b_lat, b_lon):
        return float(haversine_m(a_lat, a_lon, b_lat, b_lon))
    if None not in (a_vlat, a_vlon, b_vlat, b_vlon):
        return float(haversine_m(a_vlat, a_vlon, b_vlat, b_vlon))
    return None


def best_point(lat, lon, vlat, vlon) -> tuple[float | None, float | None]:
    return (lat, lon) if lat is not None and lon is not None else (vlat, vlon)


# -- priority ---------------------------------------------------------------------------------------
def policy_for(name: str = DEFAULT_POLICY):
    """The solver's priority policy (one table for proposals, runs and re-matching)."""
    from backend.api.errors import ApplicationError
    from sponsorship.matching.solver.strategies import get_policy

    try:
        return get_policy(name)
    except ValueError:
        raise ApplicationError(_("Unknown priority policy."), extra={"fields": {"policy": [name]}}) from None


def priority_of(decile: int | None, lapsing: bool, policy_name: str = DEFAULT_POLICY) -> int:
    policy = policy_for(policy_name)
    base = policy.unknown_decile_weight if not decile else policy.decile_weights[int(decile) - 1]
    return int(base + (policy.lapse_boost if lapsing else 0))


# -- eligibility ------------------------------------------------------------------------------------
def regency_config(regency: Region) -> RegencyConfig:
    config = RegencyConfig.objects.filter(regency=regency).first()
    return config or RegencyConfig(regency=regency)


def regency_of_sponsor(sponsor: Sponsor) -> Region:
    return sponsor.agency.regency


def regency_of_worker(worker: Worker) -> Region:
    """The regency above the worker's village (a village always has a district and a regency above it)."""
    district = worker.village.parent
    assert district is not None and district.parent is not None, worker.village_id
    return district.parent


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def recently_unsponsored(now=None):
    """About to lapse: the sponsorship ended recently, or the worker is flagged to be offered first (a bridge fund
    pays for now, a budget cohort ends; people/models/match_priority.py)."""
    now = now or timezone.now()
    return Exists(
        Sponsorship.objects.filter(
            worker=OuterRef("pk"),
            status=Sponsorship.Status.ENDED,
            ended_at__gte=now - dt.timedelta(days=RECENTLY_UNSPONSORED_DAYS),
        )
    ) | flagged_for_matching(timezone.localdate(now))


def eligible_workers(regency: Region, *, config: RegencyConfig | None = None, now=None) -> QuerySet:
    """Unmatched workers who may be proposed: nobody pays, consent on record, under the age limit, and not
    ranked above the regency's decile cut-off (an unknown decile stays eligible until the registry answers)."""
    now = now or timezone.now()
    config = config or regency_config(regency)
    today = timezone.localdate(now)
    within_cutoff = (
        Q()
        if config.decile_cutoff is None
        else Q(welfare_decile__isnull=True) | Q(welfare_decile__lte=config.decile_cutoff)
    )
    return (
        Worker.objects.filter(within_cutoff)
        .filter(
            village__parent__parent=regency,
            status=Worker.Status.ACTIVE,
            anonymized_at__isnull=True,
            birth_date__gt=_years_before(today, config.max_new_member_age),
        )
        # Nobody pays yet, or someone pays for now and the worker is flagged to be offered first.
        .filter(Q(current_payer=Worker.Payer.NONE) | flagged_for_matching(today))
        .filter(Exists(WorkerConsent.objects.filter(worker=OuterRef("pk"), withdrawn_at__isnull=True)))
        .exclude(Exists(Sponsorship.objects.filter(worker=OuterRef("pk"), status=Sponsorship.Status.ACTIVE)))
    )


def reserved_elsewhere(sponsor_id: int, now=None):
    """Workers held by another sponsor's open run or re-match proposal."""
    now = now or timezone.now()
    return Exists(
        Proposal.objects.filter(
            worker=OuterRef("pk"), status=Proposal.Status.OFFERED, source__in=RESERVING_SOURCES, expires_at__gt=now
        ).exclude(sponsor_id=sponsor_id)
    )


def declined_recently(sponsor_id: int, cooldown_days: int, now=None):
    now = now or timezone.now()
    return Exists(
        Proposal.objects.filter(
            worker=OuterRef("pk"),
            sponsor_id=sponsor_id,
            status=Proposal.Status.DECLINED,
            decided_at__gte=now - dt.timedelta(days=cooldown_days),
        )
    )


@dataclass(frozen=True)
class Candidate:
    worker_id: int
    distance_m: int
    same_village: bool
    priority: int

    @property
    def rank_key(self):
        # Same village first, then priority (poorest, lapsing), then distance (issue 3 point 1).
        return (not self.same_village, -self.priority, self.distance_m, self.worker_id)


def candidates_for_sponsor(
    sponsor: Sponsor, *, limit: int, exclude_worker_ids=(), now=None, policy_name: str = DEFAULT_POLICY
) -> list[Candidate]:
    """The best `limit` eligible workers near the sponsor, ranked."""
    if limit <= 0:
        return []
    now = now or timezone.now()
    regency = regency_of_sponsor(sponsor)
    config = regency_config(regency)
    radius = config.matching_radius_m
    home = sponsor.home_village
    near = Q(pk__in=[])
    if home.lat is not None and home.lon is not None:
        near |= _in_box("village__", bbox(home.lat, home.lon, radius))
    if sponsor.lat is not None and sponsor.lon is not None:
        near |= _in_box("", bbox(sponsor.lat, sponsor.lon, radius)) & Q(lat__isnull=False, lon__isnull=False)
    rows = (
        eligible_workers(regency, config=config, now=now)
        .filter(near)
        .exclude(pk__in=list(exclude_worker_ids))
        .exclude(reserved_elsewhere(sponsor.pk, now))
        .exclude(declined_recently(sponsor.pk, config.decline_cooldown_days, now))
        .annotate(lapsing=recently_unsponsored(now))
        .values_list("pk", "lat", "lon", "village_id", "village__lat", "village__lon", "welfare_decile", "lapsing")
    )
    policy = policy_for(policy_name)
    out = []
    for pk, lat, lon, village_id, vlat, vlon, decile, lapsing in rows:
        d = pair_distance_m(sponsor.lat, sponsor.lon, home.lat, home.lon, lat, lon, vlat, vlon)
        if d is None or d > radius:
            continue
        base = policy.unknown_decile_weight if not decile else policy.decile_weights[decile - 1]
        out.append(
            Candidate(pk, int(round(d)), village_id == home.pk, int(base + (policy.lapse_boost if lapsing else 0)))
        )
    out.sort(key=lambda c: c.rank_key)
    return out[:limit]


def open_reserved_counts(now=None) -> dict[int, int]:
    """sponsor_id -> number of open run/re-match proposals (they use up free capacity in a run)."""
    now = now or timezone.now()
    return dict(
        Proposal.objects.filter(status=Proposal.Status.OFFERED, source__in=RESERVING_SOURCES, expires_at__gt=now)
        .values("sponsor_id")
        .annotate(n=Count("id"))
        .values_list("sponsor_id", "n")
    )


def sponsors_with_room(regency: Region, now=None) -> QuerySet:
    return Sponsor.objects.filter(
        agency__regency=regency, status=Sponsor.Status.ACTIVE, active_sponsorships__lt=F("capacity")
    )


# -- regency-wide run input -------------------------------------------------------------------------
@dataclass(frozen=True)
class RunRows:
    """Plain arrays for the solver, sorted by id; best known point per person (precise, else village)."""

    worker_ids: np.ndarray
    worker_lat: np.ndarray
    worker_lon: np.ndarray
    worker_decile: np.ndarray  # 0 = unknown
    worker_lapsing: np.ndarray
    worker_village: np.ndarray
    worker_district: np.ndarray
    sponsor_ids: np.ndarray
    sponsor_lat: np.ndarray
    sponsor_lon: np.ndarray
    sponsor_free: np.ndarray
    sponsor_village: np.ndarray


def run_rows(regency: Region, *, now=None) -> RunRows:
    """Everything a regency-wide run needs, in two queries. Workers already held by an open run or
    re-match proposal are left out, and those proposals use up their sponsor's free capacity."""
    now = now or timezone.now()
    held = Exists(
        Proposal.objects.filter(
            worker=OuterRef("pk"), status=Proposal.Status.OFFERED, source__in=RESERVING_SOURCES, expires_at__gt=now
        )
    )
    w = list(
        eligible_workers(regency, now=now)
        .exclude(held)
        .annotate(lapsing=recently_unsponsored(now))
        .order_by("pk")
        .values_list(
            "pk",
            "lat",
            "lon",
            "village__lat",
            "village__lon",
            "welfare_decile",
            "lapsing",
            "village_id",
            "village__parent_id",
        )
    )
    w = [r for r in w if (r[1] is not None and r[2] is not None) or (r[3] is not None and r[4] is not None)]
    reserved = open_reserved_counts(now)
    s = []
    for pk, lat, lon, vlat, vlon, cap, active, village in (
        sponsors_with_room(regency)
        .order_by("pk")
        .values_list(
            "pk",
            "lat",
            "lon",
            "home_village__lat",
            "home_village__lon",
            "capacity",
            "active_sponsorships",
            "home_village_id",
        )
    ):
        free = cap - active - reserved.get(pk, 0)
        point = best_point(lat, lon, vlat, vlon)
        if free > 0 and point[0] is not None:
            s.append((pk, point[0], point[1], free, village))

    def col(rows, i, dtype):
        return np.fromiter((r[i] for r in rows), dtype=dtype, count=len(rows))

    w_lat = np.fromiter((r[1] if r[1] is not None and r[2] is not None else r[3] for r in w), float, len(w))
    w_lon = np.fromiter((r[2] if r[1] is not None and r[2] is not None else r[4] for r in w), float, len(w))
    return RunRows(
        worker_ids=col(w, 0, np.int64),
        worker_lat=w_lat,
        worker_lon=w_lon,
        worker_decile=np.fromiter((r[5] or 0 for r in w), np.int64, len(w)),
        worker_lapsing=col(w, 6, bool),
        worker_village=col(w, 7, np.int64),
        worker_district=col(w, 8, np.int64),
        sponsor_ids=col(s, 0, np.int64),
        sponsor_lat=col(s, 1, float),
        sponsor_lon=col(s, 2, float),
        sponsor_free=col(s, 3, np.int64),
        sponsor_village=col(s, 4, np.int64),
    )
