"""Regency-wide sponsor-worker matching: exact lexicographic optimum, fast (no Django).

Objective, lexicographic: first maximise the total priority weight of covered workers, then
minimise the total sponsor-worker distance, subject to the radius, each sponsor's free
capacity and each worker matched at most once. ``solve_matching`` is the production solver
(exact min-cost flow on small instances; on large ones the optimum's covered weight exactly by
augmenting paths, then a distance polish - docs/matching.md). The baselines the tests and the
benchmark compare it with (greedy, the plain OR-Tools reference, the cell-aggregated heuristic)
live in bench/matching_reference.py. Inputs and outputs are plain NumPy data; wiring to the
database lives elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sponsorship.matching.solver import flow
from sponsorship.matching.solver.geo import GeoArrays, distance_m, prepare_pair

DEFAULT_RADIUS_M = 5_000


def _arr(obj, name, dtype):
    object.__setattr__(obj, name, np.ascontiguousarray(getattr(obj, name), dtype=dtype))


@dataclass(frozen=True, eq=False)
class SponsorPoints:
    ids: np.ndarray  # int64, unique
    lat: np.ndarray  # float64 degrees
    lon: np.ndarray
    capacity: np.ndarray  # free slots, 0..3 (any non-negative int works)

    def __post_init__(self):
        for name, dt in (("ids", np.int64), ("lat", np.float64), ("lon", np.float64), ("capacity", np.int64)):
            _arr(self, name, dt)
        _check_lengths(self, ("ids", "lat", "lon", "capacity"))


@dataclass(frozen=True, eq=False)
class WorkerPoints:
    ids: np.ndarray  # int64, unique
    lat: np.ndarray
    lon: np.ndarray
    decile: np.ndarray  # welfare decile 1..10, 0 = unknown
    about_to_lapse: np.ndarray  # bool: protection ends soon, boosts priority
    village_ids: np.ndarray | None = None  # optional group key, carried for callers/reports

    def __post_init__(self):
        for name, dt in (("ids", np.int64), ("lat", np.float64), ("lon", np.float64), ("decile", np.int64)):
            _arr(self, name, dt)
        _arr(self, "about_to_lapse", bool)
        if self.village_ids is not None:
            _arr(self, "village_ids", np.int64)
        _check_lengths(self, ("ids", "lat", "lon", "decile", "about_to_lapse"))
        if len(self.decile) and (self.decile.min() < 0 or self.decile.max() > 10):
            raise ValueError("decile must be 0 (unknown) or 1..10")


def _check_lengths(obj, names):
    n = {len(getattr(obj, k)) for k in names}
    if len(n) > 1:
        raise ValueError(f"{type(obj).__name__}: arrays differ in length")
    if len(np.unique(obj.ids)) != len(obj.ids):
        raise ValueError(f"{type(obj).__name__}: ids must be unique")


@dataclass(frozen=True)
class PriorityPolicy:
    """Integer priority weight per worker; weight <= 0 means "do not match"."""

    name: str
    decile_weights: tuple[int, ...]  # deciles 1..10, in that order
    unknown_decile_weight: int
    lapse_boost: int = 0
    weight_fn: Callable[[WorkerPoints], np.ndarray] | None = None  # overrides the table

    def weights(self, workers: WorkerPoints) -> np.ndarray:
        if self.weight_fn is not None:
            w = np.asarray(self.weight_fn(workers))
            if not np.issubdtype(w.dtype, np.integer):
                raise ValueError("weight_fn must return integers")
            return w.astype(np.int64)
        if len(self.decile_weights) != 10:
            raise ValueError("decile_weights needs 10 entries (deciles 1..10)")
        table = np.array((self.unknown_decile_weight, *self.decile_weights), dtype=np.int64)
        return table[workers.decile] + self.lapse_boost * workers.about_to_lapse.astype(np.int64)


POLICIES: dict[str, PriorityPolicy] = {
    # Poorest first, strongly: one decile-1 worker outweighs ten decile-10 workers; unknown decile
    # sits mid-table until the registry answers; a lapsing worker jumps about two deciles.
    "lowest_decile_first": PriorityPolicy(
        "lowest_decile_first", (100, 90, 80, 70, 60, 50, 40, 30, 20, 10), 40, lapse_boost=25
    ),
    # Cover as many workers as possible; distance decides the rest.
    "uniform": PriorityPolicy("uniform", (1,) * 10, 1, lapse_boost=0),
}
DEFAULT_POLICY = POLICIES["lowest_decile_first"]


def get_policy(name: str = "lowest_decile_first") -> PriorityPolicy:
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; known: {sorted(POLICIES)}") from None


@dataclass(frozen=True, eq=False)
class MatchingResult:
    pairs: np.ndarray  # (n, 3) int64: sponsor_id, worker_id, distance_m; sorted by worker_id
    covered_weight: int
    covered_count: int
    per_decile: dict[int, int]  # decile (0 = unknown) -> covered workers
    total_distance_m: int
    mean_distance_m: float
    max_distance_m: int
    solve_seconds: float
    method: str
    stats: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class _Instance:
    """Inputs in canonical order (sorted by id), so output never depends on row order."""

    sponsors: SponsorPoints
    workers: WorkerPoints
    weight: np.ndarray
    sg: GeoArrays
    wg: GeoArrays
    stretch: float
    radius_m: int


def _canonical(sponsors, workers, radius_m, policy) -> _Instance:
    if radius_m <= 0:
        raise ValueError("radius_m must be positive")
    so, wo = np.argsort(sponsors.ids, kind="stable"), np.argsort(workers.ids, kind="stable")
    s = SponsorPoints(sponsors.ids[so], sponsors.lat[so], sponsors.lon[so], sponsors.capacity[so])
    vid = None if workers.village_ids is None else workers.village_ids[wo]
    w = WorkerPoints(
        workers.ids[wo], workers.lat[wo], workers.lon[wo], workers.decile[wo], workers.about_to_lapse[wo], vid
    )
    if len(s.capacity) and s.capacity.min() < 0:
        raise ValueError("capacity must be >= 0")
    wg, sg, stretch = prepare_pair(w.lat, w.lon, s.lat, s.lon)
    return _Instance(s, w, policy.weights(w), sg, wg, stretch, int(radius_m))


def _result(inst: _Instance, s_idx, w_idx, method, t0, stats) -> MatchingResult:
    order = np.argsort(w_idx, kind="stable")
    s_idx, w_idx = np.asarray(s_idx, np.int64)[order], np.asarray(w_idx, np.int64)[order]
    dist = np.rint(distance_m(inst.wg, w_idx, inst.sg, s_idx)).astype(np.int64)
    pairs = np.column_stack([inst.sponsors.ids[s_idx], inst.workers.ids[w_idx], dist])
    per_decile = np.bincount(inst.workers.decile[w_idx], minlength=11)
    return MatchingResult(
        pairs=pairs.reshape(-1, 3).astype(np.int64),
        covered_weight=int(inst.weight[w_idx].sum()),
        covered_count=len(w_idx),
        per_decile={d: int(c) for d, c in enumerate(per_decile)},
        total_distance_m=int(dist.sum()),
        mean_distance_m=float(dist.mean()) if len(dist) else 0.0,
        max_distance_m=int(dist.max()) if len(dist) else 0,
        solve_seconds=time.perf_counter() - t0,
        method=method,
        stats=stats,
    )


def _lexicographic_m(inst: _Instance) -> int:
    # Any two feasible matchings differ in total distance by less than K * radius (K = most
    # pairs possible), so one unit of weight must be worth more than that.
    k = min(int(inst.sponsors.capacity.clip(0).sum()), len(inst.workers.ids))
    return inst.radius_m * max(k, 1) + 1


def solve_matching(
    sponsors: SponsorPoints,
    workers: WorkerPoints,
    *,
    radius_m: int = DEFAULT_RADIUS_M,
    policy: PriorityPolicy = DEFAULT_POLICY,
    exact_arc_limit: int = 1_000_000,
    exact_distance: bool = False,
    max_rounds: int = 500,
    gap_tolerance: float = 0.0,
    distance_method: str = "scaling",
    warm_start_key: str | None = None,
) -> MatchingResult:
    """Lexicographic matching: max covered weight, then min total distance.

    When at most ``exact_arc_limit`` sponsor-worker pairs lie within the radius it solves the
    full min-cost flow: the exact optimum (``method == "exact"``). Above that
    it finds the maximum covered weight exactly by augmenting paths
    (matroid greedy) and then shortens distances for that covered set over each point's nearest
    sponsors (``method == "augmenting"``): the optimum's weight exactly; total distance 9-13% above the
    optimum's on the synthetic regency unless ``exact_distance`` (docs/matching.md). The earlier
    cell-aggregated heuristic (~0.5% below the optimum's weight) is bench/matching_reference.solve_aggregated.

    ``exact_distance=True`` (augmenting path only) continues the distance polish over every pair within the
    radius until a dual certificate proves it optimal (``stats["certified_optimal"]``,
    ``stats["distance_gap_bound_m"] == 0``), or ``max_rounds`` rounds (scaling: phases) pass, or the proven
    gap is at most ``gap_tolerance`` x its lower bound; the proven gap is always reported.
    ``distance_method``: ``"scaling"`` (warm-started cost scaling, matching_scaling.py) or ``"repair"``
    (column generation, matching_exact.py). Off by default: at regency size it costs ~6-10 s CPU for a proven
    0.5% and ~8-14 s for the optimum (docs/matching.md), beyond the 5 s end-to-end budget.

    ``warm_start_key`` (e.g. ``"regency-42"``; radius and policy are added): the exact distance step (scaling)
    starts from the previous run's duals and flow saved under that key (solver/warm.py, a file cache) and saves
    its own; a re-run after small changes then skips the restricted polish and most cost-scaling phases. The
    result and its certificate never depend on the saved state, only the time does.
    """
    t0 = time.perf_counter()
    inst = _canonical(sponsors, workers, radius_m, policy)
    s_ok = np.flatnonzero(inst.sponsors.capacity > 0)
    w_ok = np.flatnonzero(inst.weight > 0)
    if len(s_ok) == 0 or len(w_ok) == 0:
        return _result(inst, [], [], "exact", t0, {"pairs": 0})
    args = (inst.wg, w_ok, inst.weight, inst.sg, s_ok, inst.sponsors.capacity)
    kw = {"radius_m": inst.radius_m, "stretch": inst.stretch}
    pairs = len(w_ok) * len(s_ok)  # an upper bound; counting costs ~1 s at regency size
    counted = exact_arc_limit < pairs <= 20 * exact_arc_limit
    if counted:
        pairs = flow.count_pairs(inst.wg, w_ok, inst.sg, s_ok, inst.radius_m, inst.stretch)
    if pairs <= exact_arc_limit:
        sol = flow.solve_full(*args, **kw, big_m=_lexicographic_m(inst))
        method = "exact"
    else:
        warm_key, warm_state = None, None
        if warm_start_key is not None and exact_distance and distance_method == "scaling":
            from sponsorship.matching.solver import warm

            warm_key = f"{warm_start_key}-r{inst.radius_m}-{policy.name}"
            warm_state = warm.load(warm_key)
        sol = flow.solve_augmenting(
            *args,
            **kw,
            exact_distance=exact_distance,
            max_rounds=max_rounds,
            gap_tolerance=gap_tolerance,
            distance_method=distance_method,
            warm_state=warm_state,
            sponsor_keys=inst.sponsors.ids[s_ok] if warm_key is not None else None,
        )
        if warm_key is not None and sol.warm_state is not None:
            warm.save(warm_key, sol.warm_state)
        method = "augmenting"
    stats = {"pairs_within_radius" if counted else "pairs_bound": pairs, **sol.stats}
    return _result(inst, sol.sponsor_idx, sol.worker_idx, method, t0, stats)
