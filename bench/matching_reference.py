"""Matching strategies production does not run: the baselines and references the solver is compared with.

Tests (tests/matching/test_solver.py) and benchmarks (bench/matching.py) use them; the app uses only
``sponsorship.matching.solver.strategies.solve_matching``.

* ``solve_greedy``: workers by (weight desc, id), each to its nearest sponsor with a free slot.
* ``solve_exact_reference``: one OR-Tools min-cost flow over every pair within the radius; slow, obviously correct.
* ``solve_aggregated``: the earlier large-instance heuristic: the flow network on grid cells (workers per cell
  and weight class, sponsors per cell, cell-centroid distances), then people placed by a second flow with exact
  distances and a greedy repair. Far fewer arcs; ~0.5% below the optimum's covered weight.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.spatial import cKDTree

# The instance helpers are private to the solver package; the references share them on purpose, so their results
# are canonicalised and reported exactly as solve_matching's are.
from sponsorship.matching.solver.flow import FlowSolution, _bipartite_mcf, _mcf, solve_full
from sponsorship.matching.solver.geo import distance_m
from sponsorship.matching.solver.strategies import (
    DEFAULT_POLICY,
    DEFAULT_RADIUS_M,
    MatchingResult,
    PriorityPolicy,
    SponsorPoints,
    WorkerPoints,
    _canonical,
    _lexicographic_m,
    _result,
)


def solve_exact_reference(
    sponsors: SponsorPoints,
    workers: WorkerPoints,
    *,
    radius_m: int = DEFAULT_RADIUS_M,
    policy: PriorityPolicy = DEFAULT_POLICY,
) -> MatchingResult:
    """One OR-Tools min-cost flow over every worker-sponsor pair within the radius.

    No aggregation and no pricing: the slow, obviously-correct reference for tests/benchmarks.
    """
    t0 = time.perf_counter()
    inst = _canonical(sponsors, workers, radius_m, policy)
    s_ok = np.flatnonzero(inst.sponsors.capacity > 0)
    w_ok = np.flatnonzero(inst.weight > 0)
    sol = solve_full(
        inst.wg,
        w_ok,
        inst.weight,
        inst.sg,
        s_ok,
        inst.sponsors.capacity,
        radius_m=inst.radius_m,
        stretch=inst.stretch,
        big_m=_lexicographic_m(inst),
    )
    return _result(inst, sol.sponsor_idx, sol.worker_idx, "exact_reference", t0, sol.stats)


def solve_greedy(
    sponsors: SponsorPoints,
    workers: WorkerPoints,
    *,
    radius_m: int = DEFAULT_RADIUS_M,
    policy: PriorityPolicy = DEFAULT_POLICY,
) -> MatchingResult:
    """Baseline: workers by (weight desc, id), each to its nearest sponsor with a free slot."""
    t0 = time.perf_counter()
    inst = _canonical(sponsors, workers, radius_m, policy)
    cap = inst.sponsors.capacity.copy()
    w_ok = np.flatnonzero(inst.weight > 0)
    order = w_ok[np.lexsort((w_ok, -inst.weight[w_ok]))]
    out_s, out_w = greedy_fill(inst.wg, order, inst.sg, np.flatnonzero(cap > 0), cap, inst.radius_m, inst.stretch)
    return _result(inst, out_s, out_w, "greedy", t0, {})


def solve_aggregated(
    sponsors: SponsorPoints,
    workers: WorkerPoints,
    *,
    radius_m: int = DEFAULT_RADIUS_M,
    policy: PriorityPolicy = DEFAULT_POLICY,
    cell_m: float = 500.0,
) -> MatchingResult:
    """The cell-aggregated heuristic (was ``solve_matching(large_method="aggregated")``)."""
    t0 = time.perf_counter()
    inst = _canonical(sponsors, workers, radius_m, policy)
    s_ok = np.flatnonzero(inst.sponsors.capacity > 0)
    w_ok = np.flatnonzero(inst.weight > 0)
    if len(s_ok) == 0 or len(w_ok) == 0:
        return _result(inst, [], [], "exact", t0, {"pairs": 0})
    # One weight unit worth 4 radii of distance: keeps OR-Tools' cost scaling short; the
    # aggregated path is a heuristic anyway (measured: same weight as the exact M).
    sol = _flow_aggregated(
        inst.wg,
        w_ok,
        inst.weight,
        inst.sg,
        s_ok,
        inst.sponsors.capacity,
        radius_m=inst.radius_m,
        stretch=inst.stretch,
        big_m=4 * inst.radius_m + 1,
        cell_m=cell_m,
    )
    stats = {"pairs_bound": len(w_ok) * len(s_ok), **sol.stats}
    return _result(inst, sol.sponsor_idx, sol.worker_idx, "aggregated", t0, stats)


# -- flow machinery of the aggregated heuristic and the greedy baseline (moved from solver/flow.py) ----------
def greedy_fill(wg, order, sg, s_ok, cap, radius_m, stretch, k_query=16):
    """Each worker in ``order`` to its nearest sponsor (of s_ok) with a free slot; updates cap."""
    out_s, out_w = [], []
    s_ok = s_ok[cap[s_ok] > 0]
    if len(order) == 0 or len(s_ok) == 0:
        return out_s, out_w
    tree = cKDTree(np.c_[sg.x[s_ok], sg.y[s_ok]])
    reach = radius_m * stretch + 1.0
    k = min(k_query, len(s_ok))
    dist, nn = tree.query(np.c_[wg.x[order], wg.y[order]], k=k, distance_upper_bound=reach)
    nn = nn.reshape(len(order), k)
    hopeful = np.flatnonzero(np.isfinite(dist.reshape(len(order), k)[:, 0]))
    for row in hopeful.tolist():
        w = int(order[row])
        near = nn[row]
        near = s_ok[near[near < len(s_ok)]]
        cand = near[cap[near] > 0]
        if len(cand) == 0 and len(near) == k:  # k nearest all full: scan the whole reach
            cand = s_ok[np.asarray(tree.query_ball_point((wg.x[w], wg.y[w]), reach), dtype=np.int64)]
            cand = cand[cap[cand] > 0]
        if len(cand) == 0:
            continue
        d = np.rint(distance_m(wg, w, sg, cand))
        ok = distance_m(wg, w, sg, cand) <= radius_m
        if not ok.any():
            continue
        cand, d = cand[ok], d[ok]
        best = int(cand[np.lexsort((cand, d))[0]])
        cap[best] -= 1
        out_s.append(best)
        out_w.append(w)
    return out_s, out_w


def _flow_aggregated(wg, w_ok, weight, sg, s_ok, capacity, *, radius_m, stretch, big_m, cell_m) -> FlowSolution:
    """Cell-level transportation problem, then people-level placement, then greedy repair."""
    cap = capacity.astype(np.int64).copy()
    x0 = min(wg.x[w_ok].min(), sg.x[s_ok].min())
    y0 = min(wg.y[w_ok].min(), sg.y[s_ok].min())

    def cell(g, idx):
        cx = ((g.x[idx] - x0) // cell_m).astype(np.int64)
        return ((g.y[idx] - y0) // cell_m).astype(np.int64) * 1_000_000 + cx

    uw, wci = np.unique(cell(wg, w_ok), return_inverse=True)
    us, sci = np.unique(cell(sg, s_ok), return_inverse=True)
    n_w, n_s = len(uw), len(us)
    wcnt = np.bincount(wci, minlength=n_w).astype(float)
    w_xy = np.c_[np.bincount(wci, wg.x[w_ok]), np.bincount(wci, wg.y[w_ok])] / wcnt[:, None]
    scap = np.bincount(sci, cap[s_ok], minlength=n_s)
    s_xy = np.c_[np.bincount(sci, sg.x[s_ok] * cap[s_ok]), np.bincount(sci, sg.y[s_ok] * cap[s_ok])] / scap[:, None]
    # Cell level: centroids within the radius (plane distance / stretch ~ true distance).
    pr = cKDTree(w_xy).sparse_distance_matrix(cKDTree(s_xy), radius_m * stretch, output_type="ndarray")
    ca, cb, cd = pr["i"].astype(np.int64), pr["j"].astype(np.int64), np.rint(pr["v"] / stretch).astype(np.int64)
    # Classes: (worker cell, weight); class -> cell hub pays -M*weight, class -> sink is "unmatched".
    wt = weight[w_ok]
    wmax = int(wt.max()) + 1
    uc, cinv = np.unique(wci * wmax + wt, return_inverse=True)
    ccount = np.bincount(cinv).astype(np.int64)
    c_cell, c_w = uc // wmax, uc % wmax
    n_c = len(uc)
    hub, sce, sink = n_c, n_c + n_w, n_c + n_w + n_s
    tails = np.concatenate([np.arange(n_c), np.arange(n_c), hub + ca, sce + np.arange(n_s)])
    heads = np.concatenate([hub + c_cell, np.full(n_c, sink), sce + cb, np.full(n_s, sink)])
    caps = np.concatenate([ccount, ccount, np.full(len(ca), int(ccount.sum())), scap])
    costs = np.concatenate([-big_m * c_w, np.zeros(n_c, np.int64), cd, np.zeros(n_s, np.int64)])
    supplies = np.concatenate([ccount, np.zeros(n_w + n_s, np.int64), [-int(ccount.sum())]])
    f = _mcf(tails, heads, caps, costs, supplies)
    covered, g = f[:n_c], f[2 * n_c : 2 * n_c + len(ca)]
    # People: in each class the first `covered` workers by id are the ones to place.
    order = np.lexsort((w_ok, cinv))
    rank = np.arange(len(order)) - np.searchsorted(cinv[order], cinv[order])
    chosen = order[rank < covered[cinv[order]]]
    chosen = chosen[np.lexsort((w_ok[chosen], -wt[chosen], wci[chosen]))]
    out_s, out_w, n_arcs2 = _place(
        wg, w_ok[chosen], wci[chosen], sg, s_ok, sci, ca, cb, g, cap, weight, radius_m=radius_m, big_m=big_m
    )
    # Repair: everyone still unplaced, by priority, to the nearest free sponsor in reach.
    done = np.zeros(len(wg), bool)
    done[out_w] = True
    rest = w_ok[~done[w_ok]]
    rest = rest[np.lexsort((rest, -weight[rest]))]
    rs, rw = greedy_fill(wg, rest, sg, s_ok, cap, radius_m, stretch)
    out_s, out_w = list(out_s), list(out_w)
    stats = {
        "cell_m": cell_m,
        "worker_cells": n_w,
        "sponsor_cells": n_s,
        "classes": n_c,
        "cell_arcs": len(ca),
        "people_arcs": n_arcs2,
        "aggregate_covered": int(covered.sum()),
        "placed_from_aggregate": len(out_w),
        "repaired": len(rw),
    }
    return FlowSolution(np.array(out_s + rs, np.int64), np.array(out_w + rw, np.int64), stats)


def _place(wg, chosen, ch_cell, sg, s_ok, sci, ca, cb, g, cap, weight, *, radius_m, big_m):
    """People level: chosen workers to sponsors of the cells their cell sends flow to.

    A min-cost flow over exactly those pairs (exact distances, radius enforced); chosen
    workers with identical coordinates and weight form one node. Updates ``cap``.
    """
    key = np.lexsort((chosen, weight[chosen], wg.lam[chosen], wg.phi[chosen]))
    chosen, ch_cell = chosen[key], ch_cell[key]
    new = np.ones(len(chosen), bool)
    new[1:] = (
        (wg.phi[chosen[1:]] != wg.phi[chosen[:-1]])
        | (wg.lam[chosen[1:]] != wg.lam[chosen[:-1]])
        | (weight[chosen[1:]] != weight[chosen[:-1]])
    )
    starts = np.flatnonzero(new)
    supply = np.diff(np.append(starts, len(chosen))).astype(np.int64)
    rep, g_cell = chosen[starts], ch_cell[starts]
    # (group, sponsor) for every group x sponsor of each target cell of the group's cell
    used = np.flatnonzero(g > 0)
    t_order = used[np.argsort(ca[used], kind="stable")]
    t_start = np.searchsorted(ca[t_order], np.arange(g_cell.max() + 2))
    n_t = t_start[g_cell + 1] - t_start[g_cell]
    grp_t = np.repeat(np.arange(len(rep)), n_t)
    tgt = t_order[np.repeat(t_start[g_cell], n_t) + np.arange(n_t.sum()) - np.repeat(np.cumsum(n_t) - n_t, n_t)]
    s_order = np.argsort(sci, kind="stable")
    s_start = np.searchsorted(sci[s_order], np.arange(sci.max() + 2))
    n_sp = s_start[cb[tgt] + 1] - s_start[cb[tgt]]
    arc_g = np.repeat(grp_t, n_sp)
    pos = np.repeat(s_start[cb[tgt]], n_sp) + np.arange(n_sp.sum()) - np.repeat(np.cumsum(n_sp) - n_sp, n_sp)
    arc_s = s_order[pos]  # index into s_ok
    d = distance_m(wg, rep[arc_g], sg, s_ok[arc_s])
    ok = d <= radius_m
    arc_g, arc_s, d = arc_g[ok], arc_s[ok], np.rint(d[ok]).astype(np.int64)
    f = _bipartite_mcf(supply, cap[s_ok].astype(np.int64), arc_g, arc_s, d - big_m * weight[rep[arc_g]])
    used = np.flatnonzero(f > 0)
    used = used[np.lexsort((arc_s[used], arc_g[used]))]
    unit_g, unit_s = np.repeat(arc_g[used], f[used]), np.repeat(arc_s[used], f[used])
    first = np.searchsorted(unit_g, unit_g)
    workers = chosen[starts[unit_g] + np.arange(len(unit_g)) - first]
    sponsors = s_ok[unit_s]
    np.subtract.at(cap, sponsors, 1)
    return sponsors, workers, len(arc_g)
