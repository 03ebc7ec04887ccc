"""Min-cost-flow machinery behind matching_solver (OR-Tools + NumPy, no Django).

Two solvers share one network shape: worker nodes supply 1 (or a group size), an arc to a
sponsor within the radius costs round(distance) - M * weight, a zero-cost arc to the sink
means "stays unmatched", and each sponsor reaches the sink with its free capacity. With M
above any possible difference in total distance, the min-cost flow is the lexicographic
optimum (max covered weight, then min distance).

* ``solve_full``: that network over every pair within the radius (exact; reference and small
  instances).
* ``solve_aggregated``: the same network on grid cells (workers per cell and weight class,
  sponsors per cell, cell-centroid distances), then disaggregation to people with exact
  distances and a greedy repair. Far fewer arcs; near-optimal, not exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow
from scipy.spatial import cKDTree

from sponsorship.services.matching_geo import GeoArrays, distance_m, iter_pair_blocks


@dataclass
class FlowSolution:
    sponsor_idx: np.ndarray
    worker_idx: np.ndarray
    stats: dict = field(default_factory=dict)


def subset(g: GeoArrays, idx: np.ndarray) -> GeoArrays:
    return GeoArrays(g.phi[idx], g.lam[idx], g.cos[idx], g.x[idx], g.y[idx])


def _mcf(tails, heads, caps, costs, supplies) -> np.ndarray:
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64), costs.astype(np.int64)
    )
    smcf.set_nodes_supplies(np.arange(len(supplies)), supplies.astype(np.int64))
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: status {status}")
    return smcf.flows(np.arange(len(tails)))


def _bipartite_mcf(supply, cap_b, arc_a, arc_b, arc_cost) -> np.ndarray:
    """a-nodes (supply) -> b-nodes (capacity) -> sink; every a may also go straight to the sink."""
    n_a, n_b = len(supply), len(cap_b)
    sink = n_a + n_b
    tails = np.concatenate([arc_a, np.arange(n_a), n_a + np.arange(n_b)])
    heads = np.concatenate([n_a + arc_b, np.full(n_a, sink), np.full(n_b, sink)])
    caps = np.concatenate([np.minimum(supply[arc_a], cap_b[arc_b]), supply, cap_b])
    costs = np.concatenate([arc_cost, np.zeros(n_a + n_b, np.int64)])
    supplies = np.concatenate([supply, np.zeros(n_b, np.int64), [-int(supply.sum())]])
    return _mcf(tails, heads, caps, costs, supplies)[: len(arc_a)]


def count_pairs(wg, w_ok, sg, s_ok, radius_m, stretch) -> int:
    """Pairs within the radius (planar, slightly generous); decides exact vs aggregated."""
    if len(w_ok) == 0 or len(s_ok) == 0:
        return 0
    tw = cKDTree(np.c_[wg.x[w_ok], wg.y[w_ok]])
    ts = cKDTree(np.c_[sg.x[s_ok], sg.y[s_ok]])
    return int(tw.count_neighbors(ts, radius_m * stretch + 1.0))


def solve_full(wg, w_ok, weight, sg, s_ok, capacity, *, radius_m, stretch, big_m) -> FlowSolution:
    """Every worker its own node, every pair within the radius an arc: the exact optimum."""
    none = FlowSolution(np.empty(0, np.int64), np.empty(0, np.int64), {"arcs": 0})
    if len(w_ok) == 0 or len(s_ok) == 0:
        return none
    wp, sp = subset(wg, w_ok), subset(sg, s_ok)
    blocks = list(iter_pair_blocks(wp, sp, radius_m, stretch))
    if not blocks:
        return none
    a = np.concatenate([x[0] for x in blocks])
    b = np.concatenate([x[1] for x in blocks])
    d = np.rint(np.concatenate([x[2] for x in blocks])).astype(np.int64)
    del blocks
    flows = _bipartite_mcf(np.ones(len(w_ok), np.int64), capacity[s_ok].astype(np.int64), a, b,
                           d - big_m * weight[w_ok][a])
    used = np.flatnonzero(flows > 0)
    return FlowSolution(s_ok[b[used]], w_ok[a[used]], {"arcs": len(a)})


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


def solve_aggregated(wg, w_ok, weight, sg, s_ok, capacity, *, radius_m, stretch, big_m,
                     cell_m) -> FlowSolution:
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
    s_xy = np.c_[np.bincount(sci, sg.x[s_ok] * cap[s_ok]),
                 np.bincount(sci, sg.y[s_ok] * cap[s_ok])] / scap[:, None]
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
    out_s, out_w, n_arcs2 = _place(wg, w_ok[chosen], wci[chosen], sg, s_ok, sci, ca, cb, g, cap,
                                   weight, radius_m=radius_m, big_m=big_m)
    # Repair: everyone still unplaced, by priority, to the nearest free sponsor in reach.
    done = np.zeros(len(wg), bool)
    done[out_w] = True
    rest = w_ok[~done[w_ok]]
    rest = rest[np.lexsort((rest, -weight[rest]))]
    rs, rw = greedy_fill(wg, rest, sg, s_ok, cap, radius_m, stretch)
    out_s, out_w = list(out_s), list(out_w)
    stats = {"cell_m": cell_m, "worker_cells": n_w, "sponsor_cells": n_s, "classes": n_c,
             "cell_arcs": len(ca), "people_arcs": n_arcs2, "aggregate_covered": int(covered.sum()),
             "placed_from_aggregate": len(out_w), "repaired": len(rw)}
    return FlowSolution(np.array(out_s + rs, np.int64), np.array(out_w + rw, np.int64), stats)


def _place(wg, chosen, ch_cell, sg, s_ok, sci, ca, cb, g, cap, weight, *, radius_m, big_m):
    """People level: chosen workers to sponsors of the cells their cell sends flow to.

    A min-cost flow over exactly those pairs (exact distances, radius enforced); chosen
    workers with identical coordinates and weight form one node. Updates ``cap``.
    """
    key = np.lexsort((chosen, weight[chosen], wg.lam[chosen], wg.phi[chosen]))
    chosen, ch_cell = chosen[key], ch_cell[key]
    new = np.ones(len(chosen), bool)
    new[1:] = ((wg.phi[chosen[1:]] != wg.phi[chosen[:-1]]) | (wg.lam[chosen[1:]] != wg.lam[chosen[:-1]])
               | (weight[chosen[1:]] != weight[chosen[:-1]]))
    starts = np.flatnonzero(new)
    gid = np.cumsum(new) - 1
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
