"""Min-cost-flow machinery behind matching_solver: network, duals, pricing (no Django).

Network: worker groups (workers with identical coordinates and weight are interchangeable)
supply their size; arc group->sponsor costs round(distance) - M * weight; every group also has
a zero-cost arc to the sink ("stays unmatched"), every sponsor an arc to the sink with its
free capacity. With M larger than any possible difference in total distance, a min-cost flow
is the lexicographic optimum (max weight, then min distance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import time

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


def _mcf(n_a, n_b, supply, cap_b, arc_a, arc_b, arc_cost):
    """Solve; return flow on the a->b arcs. Node ids: a, then n_a + b, then the sink."""
    sink = n_a + n_b
    tails = np.concatenate([arc_a, np.arange(n_a), n_a + np.arange(n_b)]).astype(np.int32)
    heads = np.concatenate([n_a + arc_b, np.full(n_a, sink), np.full(n_b, sink)]).astype(np.int32)
    caps = np.concatenate([np.minimum(supply[arc_a], cap_b[arc_b]), supply, cap_b]).astype(np.int64)
    costs = np.concatenate([arc_cost, np.zeros(n_a + n_b, np.int64)]).astype(np.int64)
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.concatenate([supply, np.zeros(n_b, np.int64), [-int(supply.sum())]])
    smcf.set_nodes_supplies(np.arange(sink + 1), supplies.astype(np.int64))
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: status {status}")
    flows = smcf.flows(np.arange(len(tails)))
    return flows, (tails, heads, caps, costs)


def _potentials(n_nodes, net, flows, max_iter=100_000):
    """Node potentials p with reduced cost c + p[tail] - p[head] >= 0 on every residual arc.

    Bellman-Ford from a virtual root (0 to every node) on the residual graph, vectorised,
    relaxing only arcs whose tail moved in the previous sweep. Exists because the flow is
    optimal (no negative cycle); the LP dual of the flow problem.
    """
    tails, heads, caps, costs = net
    fwd, bwd = flows < caps, flows > 0
    rt = np.concatenate([tails[fwd], heads[bwd]])
    rh = np.concatenate([heads[fwd], tails[bwd]])
    rc = np.concatenate([costs[fwd], -costs[bwd]])
    order = np.argsort(rt, kind="stable")
    rt, rh, rc = rt[order], rh[order], rc[order]
    start = np.searchsorted(rt, np.arange(n_nodes + 1))
    p = np.zeros(n_nodes, np.int64)
    moved = np.arange(n_nodes)
    sweeps = 0
    while len(moved) and sweeps < max_iter:
        sweeps += 1
        # arcs leaving moved nodes (CSR gather)
        lo, hi = start[moved], start[moved + 1]
        cnt = hi - lo
        if cnt.sum() == 0:
            break
        arcs = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(cnt.sum())
        cand = p[rt[arcs]] + rc[arcs]
        better = cand < p[rh[arcs]]
        if not better.any():
            break
        h, c = rh[arcs][better], cand[better]
        np.minimum.at(p, h, c)
        moved = np.unique(h)
    else:
        if sweeps >= max_iter:
            raise RuntimeError("potentials did not converge (negative cycle?)")
    return p, sweeps


def _groups(wg: GeoArrays, w_ok: np.ndarray, weight: np.ndarray):
    """Group workers by (coordinates, weight); members contiguous and by index inside."""
    order = np.lexsort((w_ok, weight[w_ok], wg.lam[w_ok], wg.phi[w_ok]))
    members = w_ok[order]
    keys = (wg.phi[members], wg.lam[members], weight[members])
    new = np.ones(len(members), bool)
    new[1:] = np.logical_or.reduce([k[1:] != k[:-1] for k in keys])
    starts = np.flatnonzero(new)
    supply = np.diff(np.append(starts, len(members))).astype(np.int64)
    return members, starts, supply


def _initial_arcs(gp: GeoArrays, sp: GeoArrays, supply, k, radius_m, stretch):
    reach = radius_m * stretch + 1.0
    g_xy, s_xy = np.c_[gp.x, gp.y], np.c_[sp.x, sp.y]
    n_g, n_s = len(gp), len(sp)
    s_tree, g_tree = cKDTree(s_xy), cKDTree(g_xy)

    def knn(tree, n_tree, pts, rows, kk):
        kk = min(kk, n_tree)
        _, nn = tree.query(pts, k=kk, distance_upper_bound=reach)
        nn = nn.reshape(len(rows), kk)
        r = np.repeat(rows, kk)
        ok = nn.ravel() < n_tree  # misses come back as n_tree
        return r[ok], nn.ravel()[ok]

    g1, s1 = knn(s_tree, n_s, g_xy, np.arange(n_g), k)
    # big village-centre groups need more than k sponsors to place all their members
    big = np.flatnonzero(supply > 2)
    g2, s2 = knn(s_tree, n_s, g_xy[big], big, 4 * k) if len(big) else (g1[:0], s1[:0])
    s3, g3 = knn(g_tree, n_g, s_xy, np.arange(n_s), k)
    keys = np.unique(np.concatenate([g1 * n_s + s1, g2 * n_s + s2, g3 * n_s + s3]))
    a, b = keys // n_s, keys % n_s
    d = distance_m(gp, a, sp, b)
    ok = d <= radius_m
    return a[ok], b[ok], np.rint(d[ok]).astype(np.int64)


def solve_column_generation(wg, w_ok, weight, sg, s_ok, capacity, *, radius_m, stretch, big_m,
                            k_nearest=8, max_rounds=30, add_per_group=8) -> FlowSolution:
    members, starts, supply = _groups(wg, w_ok, weight)
    rep = members[starts]
    gp, sp = subset(wg, rep), subset(sg, s_ok)
    gw = weight[rep]
    cap_b = capacity[s_ok].astype(np.int64)
    n_g, n_s = len(rep), len(s_ok)
    arc_a, arc_b, arc_d = _initial_arcs(gp, sp, supply, k_nearest, radius_m, stretch)
    stats = {"groups": n_g, "sponsors": n_s, "initial_arcs": len(arc_a), "rounds": 0,
             "certified": False, "added_arcs": [], "sweeps": []}
    tm = stats["seconds"] = {"mcf": 0.0, "duals": 0.0, "pricing": 0.0}
    while True:
        stats["rounds"] += 1
        t = time.perf_counter()
        flows, net = _mcf(n_g, n_s, supply, cap_b, arc_a, arc_b, arc_d - big_m * gw[arc_a])
        tm["mcf"] += time.perf_counter() - t
        if stats["rounds"] > max_rounds:
            break
        t = time.perf_counter()
        p, sweeps = _potentials(n_g + n_s + 1, net, flows)
        tm["duals"] += time.perf_counter() - t
        t = time.perf_counter()
        stats["sweeps"].append(sweeps)
        alpha = (big_m * gw - p[:n_g]).astype(np.float64)  # violated iff d < alpha + beta
        beta = p[n_g : n_g + n_s].astype(np.float64)
        va, vb, vd, vr = [], [], [], []
        for ia, ib, d in iter_pair_blocks(gp, sp, radius_m, stretch, a_key=alpha, b_key=beta):
            di = np.rint(d)
            va.append(ia); vb.append(ib); vd.append(di.astype(np.int64))
            vr.append(di - alpha[ia] - beta[ib])
        if va:
            va, vb, vd, vr = (np.concatenate(x) for x in (va, vb, vd, vr))
            known = np.sort(arc_a * n_s + arc_b)
            key = va * n_s + vb
            pos = np.searchsorted(known, key).clip(max=len(known) - 1)
            new = known[pos] != key
            va, vb, vd, vr = va[new], vb[new], vd[new], vr[new]
        tm["pricing"] += time.perf_counter() - t
        if len(va) == 0:
            stats["certified"] = True
            break
        # the most violated few per group
        o = np.lexsort((vb, vr, va))
        va, vb, vd = va[o], vb[o], vd[o]
        first = np.searchsorted(va, va, side="left")
        keep = (np.arange(len(va)) - first) < add_per_group
        stats["added_arcs"].append(int(keep.sum()))
        arc_a = np.concatenate([arc_a, va[keep]])
        arc_b = np.concatenate([arc_b, vb[keep]])
        arc_d = np.concatenate([arc_d, vd[keep]])
    stats["final_arcs"] = len(arc_a)
    # disaggregate: the k-th unit leaving a group goes to the group's k-th member (by id)
    f = flows[: len(arc_a)]
    used = np.flatnonzero(f > 0)
    o = used[np.lexsort((arc_b[used], arc_a[used]))]
    unit_g = np.repeat(arc_a[o], f[o])
    unit_s = np.repeat(arc_b[o], f[o])
    first = np.searchsorted(unit_g, unit_g, side="left")
    worker = members[starts[unit_g] + (np.arange(len(unit_g)) - first)]
    return FlowSolution(s_ok[unit_s], worker, stats)


def solve_full(wg, w_ok, weight, sg, s_ok, capacity, *, radius_m, stretch, big_m):
    """Reference: every worker its own node, every pair within the radius an arc."""
    if len(w_ok) == 0 or len(s_ok) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), {"arcs": 0}
    wp, sp = subset(wg, w_ok), subset(sg, s_ok)
    blocks = list(iter_pair_blocks(wp, sp, radius_m, stretch))
    if not blocks:
        return np.empty(0, np.int64), np.empty(0, np.int64), {"arcs": 0}
    a = np.concatenate([x[0] for x in blocks])
    b = np.concatenate([x[1] for x in blocks])
    d = np.rint(np.concatenate([x[2] for x in blocks])).astype(np.int64)
    del blocks
    supply = np.ones(len(w_ok), np.int64)
    flows, _ = _mcf(len(w_ok), len(s_ok), supply, capacity[s_ok].astype(np.int64), a, b,
                    d - big_m * weight[w_ok][a])
    used = np.flatnonzero(flows[: len(a)] > 0)
    return s_ok[b[used]], w_ok[a[used]], {"arcs": len(a)}
