"""Matching solver: exactness against a two-stage MILP, feasibility, determinism, edge cases.

Pure NumPy/SciPy/OR-Tools: no database. In a worktree without backend/, run with
``python -m pytest -p no:django tests/matching``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from bench.matching_reference import solve_aggregated, solve_exact_reference, solve_greedy
from bench.synthetic import generate_regency
from sponsorship.matching.solver.geo import distance_m, haversine_m, prepare_pair
from sponsorship.matching.solver.strategies import (
    POLICIES,
    PriorityPolicy,
    SponsorPoints,
    WorkerPoints,
    get_policy,
    solve_matching,
)

LAT0, LON0 = -7.87, 111.46
DEG = 1 / 111_195.0  # degrees per metre of latitude


def random_instance(rng, n_s, n_w, spread_m=6_000, share_village=0.3):
    s_lat = LAT0 + rng.uniform(0, spread_m, n_s) * DEG
    s_lon = LON0 + rng.uniform(0, spread_m, n_s) * DEG
    w_lat = LAT0 + rng.uniform(0, spread_m, n_w) * DEG
    w_lon = LON0 + rng.uniform(0, spread_m, n_w) * DEG
    village = rng.random(n_w) < share_village  # some workers share one village centre
    w_lat[village], w_lon[village] = LAT0 + 3_000 * DEG, LON0 + 3_000 * DEG
    sponsors = SponsorPoints(rng.permutation(n_s) + 10, s_lat, s_lon, rng.integers(0, 4, n_s))
    workers = WorkerPoints(rng.permutation(n_w) + 500, w_lat, w_lon, rng.integers(0, 11, n_w), rng.random(n_w) < 0.2)
    return sponsors, workers


def milp_lexicographic(sponsors, workers, radius_m, policy):
    """Brute force: stage 1 max weight, stage 2 min distance at that weight (two MILPs)."""
    wg, sg, _ = prepare_pair(workers.lat, workers.lon, sponsors.lat, sponsors.lon)
    w = policy.weights(workers)
    ii, jj = np.meshgrid(np.arange(len(w)), np.arange(len(sponsors.ids)), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    d = distance_m(wg, ii, sg, jj)
    keep = (d <= radius_m) & (w[ii] > 0) & (sponsors.capacity[jj] > 0)
    ii, jj, d = ii[keep], jj[keep], np.rint(d[keep])
    if len(ii) == 0:
        return 0, 0
    a_w = np.zeros((len(w), len(ii)))
    a_w[ii, np.arange(len(ii))] = 1
    a_s = np.zeros((len(sponsors.ids), len(ii)))
    a_s[jj, np.arange(len(ii))] = 1
    cons = [LinearConstraint(a_w, 0, 1), LinearConstraint(a_s, 0, sponsors.capacity)]
    ones, bounds = np.ones(len(ii)), Bounds(0, 1)
    r1 = milp(-w[ii].astype(float), constraints=cons, integrality=ones, bounds=bounds)
    best_w = round(-r1.fun)
    cons.append(LinearConstraint(w[ii][None, :].astype(float), best_w, best_w))
    r2 = milp(d, constraints=cons, integrality=ones, bounds=bounds)
    return best_w, round(r2.fun)


def assert_feasible(res, sponsors, workers, radius_m):
    pairs = res.pairs
    assert len(np.unique(pairs[:, 1])) == len(pairs)  # each worker at most once
    cap = dict(zip(sponsors.ids.tolist(), sponsors.capacity.tolist(), strict=True))
    used = np.unique(pairs[:, 0], return_counts=True)
    assert all(c <= cap[s] for s, c in zip(*(x.tolist() for x in used), strict=True))
    s_pos = {s: i for i, s in enumerate(sponsors.ids.tolist())}
    w_pos = {v: i for i, v in enumerate(workers.ids.tolist())}
    si = np.array([s_pos[s] for s in pairs[:, 0].tolist()], dtype=np.int64)
    wi = np.array([w_pos[v] for v in pairs[:, 1].tolist()], dtype=np.int64)
    hav = haversine_m(workers.lat[wi], workers.lon[wi], sponsors.lat[si], sponsors.lon[si])
    assert np.all(hav <= radius_m + 0.01)
    assert np.all(np.abs(hav - pairs[:, 2]) <= 0.51)
    assert res.covered_count == len(pairs) == sum(res.per_decile.values())


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("policy", ["lowest_decile_first", "uniform"])
def test_exact_matches_two_stage_milp(seed, policy):
    rng = np.random.default_rng(seed)
    sponsors, workers = random_instance(rng, int(rng.integers(5, 9)), int(rng.integers(10, 21)))
    pol = get_policy(policy)
    radius = int(rng.integers(1_500, 4_000))
    best_w, best_d = milp_lexicographic(sponsors, workers, radius, pol)
    for solve in (solve_matching, solve_exact_reference):
        res = solve(sponsors, workers, radius_m=radius, policy=pol)
        assert (res.covered_weight, res.total_distance_m) == (best_w, best_d)
        assert_feasible(res, sponsors, workers, radius)


def test_greedy_is_feasible_and_not_better():
    rng = np.random.default_rng(7)
    sponsors, workers = random_instance(rng, 30, 120)
    exact = solve_exact_reference(sponsors, workers, radius_m=2_000)
    greedy = solve_greedy(sponsors, workers, radius_m=2_000)
    assert_feasible(greedy, sponsors, workers, 2_000)
    assert greedy.covered_weight <= exact.covered_weight


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("policy", ["lowest_decile_first", "uniform"])
def test_augmenting_path_reaches_the_milp_weight(seed, policy):
    """The large-instance path (forced with exact_arc_limit=0) has the optimum's covered weight."""
    rng = np.random.default_rng(100 + seed)
    sponsors, workers = random_instance(rng, int(rng.integers(5, 9)), int(rng.integers(10, 21)))
    pol = get_policy(policy)
    radius = int(rng.integers(1_500, 4_000))
    best_w, best_d = milp_lexicographic(sponsors, workers, radius, pol)
    res = solve_matching(sponsors, workers, radius_m=radius, policy=pol, exact_arc_limit=0)
    assert res.method == "augmenting"
    assert res.covered_weight == best_w
    assert_feasible(res, sponsors, workers, radius)
    # with the certified distance step: exactly the two-stage MILP's (W*, D*)
    ex = solve_matching(sponsors, workers, radius_m=radius, policy=pol, exact_arc_limit=0, exact_distance=True)
    assert (ex.covered_weight, ex.total_distance_m) == (best_w, best_d)
    assert_feasible(ex, sponsors, workers, radius)
    if ex.covered_count:
        assert ex.stats["certified_optimal"] and ex.stats["distance_gap_bound_m"] == 0


@pytest.mark.parametrize("policy", ["lowest_decile_first", "uniform"])
def test_large_paths_on_a_small_regency(policy):
    reg = generate_regency(scale=0.05, seed=3)
    s, w = reg.sponsors, reg.workers
    pol = get_policy(policy)
    exact = solve_exact_reference(s, w, radius_m=5_000, policy=pol)
    aug = solve_matching(s, w, radius_m=5_000, policy=pol, exact_arc_limit=0)
    assert aug.method == "augmenting"
    assert_feasible(aug, s, w, 5_000)
    assert aug.covered_weight == exact.covered_weight  # exact weight, not just close
    assert aug.total_distance_m <= 1.5 * exact.total_distance_m
    agg = solve_aggregated(s, w, radius_m=5_000, policy=pol)
    assert agg.method == "aggregated"
    assert_feasible(agg, s, w, 5_000)
    assert 0.98 * exact.covered_weight <= agg.covered_weight <= exact.covered_weight


@pytest.mark.parametrize("exact_arc_limit,exact_distance", [(0, False), (0, True), (1_000_000, False)])
def test_deterministic_and_independent_of_row_order(exact_arc_limit, exact_distance):
    reg = generate_regency(scale=0.02, seed=5)
    s, w = reg.sponsors, reg.workers
    kw = {"exact_arc_limit": exact_arc_limit, "exact_distance": exact_distance}
    a = solve_matching(s, w, **kw)
    b = solve_matching(s, w, **kw)
    ps, pw = np.random.default_rng(1).permutation(len(s.ids)), np.random.default_rng(2).permutation(len(w.ids))
    s2 = SponsorPoints(s.ids[ps], s.lat[ps], s.lon[ps], s.capacity[ps])
    w2 = WorkerPoints(w.ids[pw], w.lat[pw], w.lon[pw], w.decile[pw], w.about_to_lapse[pw])
    c = solve_matching(s2, w2, **kw)
    assert np.array_equal(a.pairs, b.pairs) and np.array_equal(a.pairs, c.pairs)
    if exact_distance:
        assert a.stats["certified_optimal"]


def test_no_sponsors_zero_capacity_and_nobody_in_reach():
    rng = np.random.default_rng(0)
    sponsors, workers = random_instance(rng, 5, 10)
    empty = SponsorPoints(np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0, np.int64))
    for s in (empty, SponsorPoints(sponsors.ids, sponsors.lat, sponsors.lon, np.zeros(5, np.int64))):
        for solve in (solve_matching, solve_greedy, solve_exact_reference):
            res = solve(s, workers, radius_m=5_000)
            assert res.covered_count == 0 and res.pairs.shape == (0, 3) and res.max_distance_m == 0
    far = SponsorPoints(sponsors.ids, sponsors.lat + 1.0, sponsors.lon, np.full(5, 3))
    for solve in (solve_matching, solve_greedy, solve_exact_reference):
        assert solve(far, workers, radius_m=5_000).covered_count == 0


def test_many_workers_in_one_village_take_the_poorest_first():
    n = 200
    deciles = np.arange(n) % 10 + 1
    workers = WorkerPoints(np.arange(n), np.full(n, LAT0), np.full(n, LON0), deciles, np.zeros(n, bool))
    sponsors = SponsorPoints(np.arange(3) + 1, LAT0 + np.array([1, 2, 3]) * 100 * DEG, np.full(3, LON0), np.full(3, 3))
    for kw in ({}, {"exact_arc_limit": 0}):
        res = solve_matching(sponsors, workers, radius_m=5_000, **kw)
        assert res.covered_count == 9
        assert res.per_decile[1] == 9  # 20 decile-1 workers compete; 9 win
        assert res.pairs[:, 1].tolist() == sorted(res.pairs[:, 1].tolist())
        assert res.total_distance_m == 3 * (100 + 200 + 300)


def test_distance_matches_haversine():
    rng = np.random.default_rng(4)
    lat1 = rng.uniform(-11, 6, 20_000)  # Indonesia's latitudes
    lon1 = rng.uniform(95, 141, 20_000)
    bearing, dist = rng.uniform(0, 2 * np.pi, 20_000), rng.uniform(0, 10_000, 20_000)
    lat2 = lat1 + dist * np.cos(bearing) * DEG
    lon2 = lon1 + dist * np.sin(bearing) * DEG / np.cos(np.radians(lat1))
    a, b, _ = prepare_pair(lat1, lon1, lat2, lon2)
    fast = distance_m(a, np.arange(20_000), b, np.arange(20_000))
    assert np.max(np.abs(fast - haversine_m(lat1, lon1, lat2, lon2))) < 0.01  # 1 cm


def test_policies():
    w = WorkerPoints([1, 2, 3, 4], [0, 0, 0, 0], [0, 0, 0, 0], [1, 10, 0, 1], [False, False, False, True])
    assert POLICIES["lowest_decile_first"].weights(w).tolist() == [100, 10, 40, 125]
    assert get_policy("uniform").weights(w).tolist() == [1, 1, 1, 1]
    custom = PriorityPolicy("only_poorest", (1,) * 10, 0, weight_fn=lambda ws: (ws.decile <= 3).astype(int))
    assert custom.weights(w).tolist() == [1, 0, 1, 1]
    with pytest.raises(ValueError):
        get_policy("nope")
    with pytest.raises(ValueError):
        WorkerPoints([1, 1], [0, 0], [0, 0], [1, 1], [False, False])


@pytest.mark.parametrize("distance_method", ["scaling", "repair"])
@pytest.mark.parametrize("policy", ["lowest_decile_first", "uniform"])
def test_exact_distance_above_the_arc_limit_equals_the_reference(policy, distance_method):
    """A synthetic regency forced onto the augmenting path (limit lowered below its ~220 k pairs): with
    exact_distance the (weight, distance) is exactly the full-arc reference's, and certified - by cost scaling
    (the default distance method) and by the column-generation repairs."""
    reg = generate_regency(scale=0.05, seed=3)
    s, w = reg.sponsors, reg.workers
    pol = get_policy(policy)
    exact = solve_exact_reference(s, w, radius_m=5_000, policy=pol)
    kw = {
        "radius_m": 5_000,
        "policy": pol,
        "exact_arc_limit": 100_000,
        "exact_distance": True,
        "distance_method": distance_method,
    }
    res = solve_matching(s, w, **kw)
    assert res.method == "augmenting" and res.stats["pairs_within_radius"] > 100_000
    assert_feasible(res, s, w, 5_000)
    assert (res.covered_weight, res.total_distance_m) == (exact.covered_weight, exact.total_distance_m)
    assert res.stats["certified_optimal"] is True and res.stats["distance_gap_bound_m"] == 0
    if distance_method == "scaling":  # the finish cancelled negative cycles (8-22 here) and still hit the optimum
        assert res.stats["cs_exact_prices"] is True and res.stats["cs_cycles_cancelled"] > 0
    # the nearest-neighbour polish alone was not optimal here
    assert res.stats["cs_phases" if distance_method == "scaling" else "cg_rounds"] >= 1
    assert res.stats["distance_restricted_m"] > res.total_distance_m
    # a round (phase) cap: still the exact weight, a valid (positive) proven gap, no claim of optimality
    capped = solve_matching(s, w, **kw, max_rounds=1)
    assert capped.covered_weight == exact.covered_weight
    assert capped.stats["certified_optimal"] is False
    gap = capped.stats["distance_gap_bound_m"]
    assert capped.total_distance_m - gap <= exact.total_distance_m <= capped.total_distance_m


@pytest.mark.parametrize("policy", ["lowest_decile_first", "uniform"])
def test_scaling_stops_at_a_proven_gap(policy):
    """gap_tolerance=0.005: the run stops once the certificate proves the distance within 0.5% of the optimum;
    the proven gap holds against the full-arc reference."""
    reg = generate_regency(scale=0.05, seed=4)
    s, w = reg.sponsors, reg.workers
    pol = get_policy(policy)
    exact = solve_exact_reference(s, w, radius_m=5_000, policy=pol)
    res = solve_matching(
        s, w, radius_m=5_000, policy=pol, exact_arc_limit=100_000, exact_distance=True, gap_tolerance=0.005
    )
    assert_feasible(res, s, w, 5_000)
    gap = res.stats["distance_gap_bound_m"]
    assert res.covered_weight == exact.covered_weight
    assert gap <= 0.005 * (res.total_distance_m - gap)
    assert res.total_distance_m - gap <= exact.total_distance_m <= res.total_distance_m


def _tiny_certificate_case():
    """2 locations x 2 sponsors (1 slot each), one weight class covering 2: optimum = both at 100 m."""
    from sponsorship.matching.solver import exact as mx
    from sponsorship.matching.solver.geo import prepare_pair

    lat_l = np.array([LAT0, LAT0 + 1_000 * DEG])
    lat_s = np.array([LAT0 + 100 * DEG, LAT0 + 1_100 * DEG])
    L, S, _ = prepare_pair(lat_l, np.full(2, LON0), lat_s, np.full(2, LON0))
    d = np.rint(distance_m(L, np.array([0, 0, 1, 1]), S, np.array([0, 1, 0, 1]))).astype(np.int64)
    # nodes: class 0, groups 1-2, sponsors 3-4, sink 5; arcs class->groups, groups->sponsors, sponsors->sink
    tails = np.array([0, 0, 1, 1, 2, 2, 3, 4])
    heads = np.array([1, 2, 3, 4, 3, 4, 5, 5])
    caps = np.ones(8, np.int64)
    costs = np.array([0, 0, *d, 0, 0], np.int64)
    case = {
        "g_class": np.zeros(2, np.int64),
        "g_size": np.ones(2, np.int64),
        "need": np.array([2]),
        "s_cap": np.ones(2, np.int64),
        "loc_start": np.array([0, 2, 4]),
        "nbr": np.array([0, 1, 0, 1], np.int32),
        "loc_gstart": np.array([0, 1, 2]),
        "L": L,
        "S": S,
    }

    def potentials(flows):
        graph = mx.build_graph(6, tails, heads, caps, costs, flows, room=0)
        return mx._nb_spfa(graph["first"], graph["nxt"], graph["to"], graph["rcap"], graph["cost"])

    def certify(rows, pi, scale=1):
        rows = np.asarray(rows, np.int64).reshape(-1, 3)
        c = case
        return mx._nb_certify(
            rows[:, 0],
            rows[:, 1],
            rows[:, 2],
            c["g_class"],
            c["g_size"],
            c["need"],
            c["s_cap"],
            pi,
            c["loc_start"],
            c["nbr"],
            c["loc_gstart"],
            c["L"].phi,
            c["L"].lam,
            c["L"].cos,
            c["S"].phi,
            c["S"].lam,
            c["S"].cos,
            scale,
        )

    best = np.array([1, 1, 1, 0, 0, 1, 1, 1])  # group 0 -> sponsor 0, group 1 -> sponsor 1
    return d, potentials, certify, best


def test_certificate_accepts_the_optimum_and_detects_tampering():
    d, potentials, certify, best = _tiny_certificate_case()
    pi, ok = potentials(best)
    assert ok
    assert certify([(0, 0, 1), (1, 1, 1)], pi) == (True, 0)  # optimal, proven
    assert certify([(0, 0, 1), (1, 1, 1)], pi * 1000, scale=1000) == (True, 0)  # scaled costs (cost scaling)
    assert certify([(0, 1, 1), (1, 0, 1)], pi * 1000, scale=1000)[1] >= 1000 * ((d[1] + d[2]) - (d[0] + d[3]))
    # a worse assignment (crossed: 2 x 900 m instead of 2 x 100 m) with the same potentials: gap >= the loss
    feasible, gap = certify([(0, 1, 1), (1, 0, 1)], pi)
    assert feasible and gap >= (d[1] + d[2]) - (d[0] + d[3]) > 0
    # ... and no potentials can certify it: its residual graph has a negative cycle
    assert potentials(np.array([1, 1, 0, 1, 1, 0, 1, 1]))[1] is False
    # tampered potentials: the true optimum is no longer proven
    bad = pi.copy()
    bad[3] += 50
    assert certify([(0, 0, 1), (1, 1, 1)], bad)[1] > 0
    # infeasible flows are rejected: a sponsor over capacity; the class count not met
    assert certify([(0, 0, 1), (1, 0, 1)], pi)[0] is False
    assert certify([(0, 0, 1)], pi)[0] is False


@pytest.mark.parametrize("radius", [2_000, 8_000])
def test_scaling_other_radii_equal_the_reference(radius):
    """The cost-scaling rows are banded by distance (250 m bands sized from the radius): other radii than the
    default 5 km give exactly the reference's (W, D), certified."""
    reg = generate_regency(scale=0.03, seed=8)
    exact = solve_exact_reference(reg.sponsors, reg.workers, radius_m=radius)
    res = solve_matching(reg.sponsors, reg.workers, radius_m=radius, exact_arc_limit=1_000, exact_distance=True)
    assert res.method == "augmenting" and res.stats["distance_method"] == "scaling"
    assert_feasible(res, reg.sponsors, reg.workers, radius)
    assert (res.covered_weight, res.total_distance_m) == (exact.covered_weight, exact.total_distance_m)
    assert res.stats["certified_optimal"] is True
