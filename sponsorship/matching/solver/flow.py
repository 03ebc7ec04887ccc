"""Min-cost-flow machinery behind matching_solver (OR-Tools + NumPy, no Django).

Two solvers share one network shape: worker nodes supply 1 (or a group size), an arc to a
sponsor within the radius costs round(distance) - M * weight, a zero-cost arc to the sink
means "stays unmatched", and each sponsor reaches the sink with its free capacity. With M
above any possible difference in total distance, the min-cost flow is the lexicographic
optimum (max covered weight, then min distance).

* ``solve_full``: that network over every pair within the radius (exact; reference and small
  instances).
* ``solve_augmenting`` (default for large instances): maximum covered weight exactly by
  augmenting paths (numba kernels below), then a min-cost-flow distance polish.

The cell-aggregated heuristic and the greedy baseline production does not use live in
bench/matching_reference.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numba as nb
import numpy as np
from ortools.graph.python import min_cost_flow
from scipy.spatial import cKDTree

from sponsorship.matching.solver.geo import GeoArrays, distance_m, iter_pair_blocks
from sponsorship.matching.solver.warm import WarmState


@dataclass
class FlowSolution:
    sponsor_idx: np.ndarray
    worker_idx: np.ndarray
    stats: dict = field(default_factory=dict)
    warm_state: WarmState | None = None  # after the exact distance step (scaling) with sponsor keys, else None


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
    flows = _bipartite_mcf(
        np.ones(len(w_ok), np.int64), capacity[s_ok].astype(np.int64), a, b, d - big_m * weight[w_ok][a]
    )
    used = np.flatnonzero(flows > 0)
    return FlowSolution(s_ok[b[used]], w_ok[a[used]], {"arcs": len(a)})


# -- exact covered weight by augmenting paths (numba) ------------------------------------------------
#
# Covered-worker sets are the independent sets of a transversal matroid, so processing workers by
# (weight desc, index) and admitting each one when an alternating path makes room for it (a free
# slot, or a strictly lighter covered worker who then drops out) gives the maximum covered weight
# exactly. A search that finds neither leaves a "Hungarian tree" (saturated sponsors whose covered
# workers all weigh at least as much and reach no sponsor outside it); no later, lighter search
# can use it, so its sponsors are removed for good. Total work stays near one pass over the pairs.
# See docs/matching.md ("Augmenting-path path").

_EARTH_M = 6_371_008.8


@nb.njit(cache=True, nogil=True)
def _nb_dist(phi1, lam1, cos1, phi2, lam2, cos2):
    dphi = phi1 - phi2
    dlam = (lam1 - lam2) * (0.5 * (cos1 + cos2))
    return _EARTH_M * np.sqrt(dphi * dphi + dlam * dlam)


@nb.njit(cache=True, nogil=True)
def _nb_adjacency(lx, ly, lphi, llam, lcos, sx, sy, sphi, slam, scos, radius, reach, k_near):
    """CSR (start, sponsor) of sponsors within ``radius`` (exact distance) of each location.

    One pass over a sponsor grid (cells of reach / 2, the 5 x 5 block around the location's cell);
    the square root is only taken for pairs within 1e-9 of the radius. Deterministic order.
    Also returns each location's ``k_near`` nearest sponsors (n_l x k_near, nearest first, -1 pad).
    """
    n_l, n_s = len(lx), len(sx)
    cell = max(reach / 2.0, 1.0)
    x0 = min(lx.min(), sx.min()) - 1.0
    y0 = min(ly.min(), sy.min()) - 1.0
    width = int((max(lx.max(), sx.max()) + 1.0 - x0) // cell) + 1
    height = int((max(ly.max(), sy.max()) + 1.0 - y0) // cell) + 1
    key = np.empty(n_s, np.int64)
    for j in range(n_s):
        key[j] = int((sy[j] - y0) // cell) * width + int((sx[j] - x0) // cell)
    order = np.argsort(key, kind="mergesort")  # stable: sponsors ascending inside a cell
    cstart = np.zeros(width * height + 1, np.int64)
    for j in range(n_s):
        cstart[key[j] + 1] += 1
    for c in range(width * height):
        cstart[c + 1] += cstart[c]
    # sponsor coordinates in grid order: contiguous reads in the inner loop
    gphi, glam, gcos = sphi[order], slam[order], scos[order]
    r2 = (radius / _EARTH_M) ** 2
    lo2, hi2 = r2 * (1.0 - 1e-9), r2 * (1.0 + 1e-9)
    start = np.zeros(n_l + 1, np.int64)
    nbr = np.empty(max(16, 64 * n_l), np.int32)
    knn = np.full((n_l, max(k_near, 1)), -1, np.int64)
    kq = np.empty(max(k_near, 1))
    n = 0
    for i in range(n_l):
        m = 0  # entries in this location's k-nearest buffer
        cx, cy = int((lx[i] - x0) // cell), int((ly[i] - y0) // cell)
        pi, li, ci = lphi[i], llam[i], lcos[i]
        for yy in range(max(cy - 2, 0), min(cy + 3, height)):
            c0 = yy * width + max(cx - 2, 0)
            c1 = yy * width + min(cx + 2, width - 1)
            t0, t1 = cstart[c0], cstart[c1 + 1]  # a row's cells are contiguous
            if n + (t1 - t0) > len(nbr):
                grown = np.empty(2 * len(nbr) + (t1 - t0), np.int32)
                grown[:n] = nbr[:n]
                nbr = grown
            for t in range(t0, t1):
                dphi = pi - gphi[t]
                dlam = (li - glam[t]) * (0.5 * (ci + gcos[t]))
                q = dphi * dphi + dlam * dlam
                if q <= lo2 or (q <= hi2 and _EARTH_M * np.sqrt(q) <= radius):
                    nbr[n] = order[t]
                    n += 1
                    if k_near > 0 and (m < k_near or q < kq[m - 1]):
                        p = min(m, k_near - 1)
                        while p > 0 and kq[p - 1] > q:
                            kq[p] = kq[p - 1]
                            knn[i, p] = knn[i, p - 1]
                            p -= 1
                        kq[p] = q
                        knn[i, p] = order[t]
                        m = min(m + 1, k_near)
        start[i + 1] = n
    return start, nbr[:n].copy(), knn


@nb.njit(cache=True, nogil=True)
def _nb_move(x, s, match_s, slot_start, slot_w, free):
    """Worker x leaves its sponsor (if any) and takes a free slot of sponsor s."""
    old = match_s[x]
    if old >= 0:
        for t in range(slot_start[old], slot_start[old + 1]):
            if slot_w[t] == x:
                slot_w[t] = -1
                break
        free[old] += 1
    for t in range(slot_start[s], slot_start[s + 1]):
        if slot_w[t] == -1:
            slot_w[t] = x
            break
    free[s] -= 1
    match_s[x] = s
    return old


@nb.njit(cache=True, nogil=True)
def _nb_augment(order, wloc, weight, lphi, llam, lcos, sphi, slam, scos, start, nbr, capacity):
    """Matroid greedy with augmenting paths. Returns match_s (sponsor index or -1 per worker) and counters."""
    n_w, n_s = len(wloc), len(capacity)
    slot_start = np.zeros(n_s + 1, np.int64)
    for j in range(n_s):
        slot_start[j + 1] = slot_start[j] + capacity[j]
    slot_w = np.full(slot_start[n_s], -1, np.int64)
    free = capacity.astype(np.int64).copy()
    match_s = np.full(n_w, -1, np.int64)
    dead = np.zeros(n_s, np.bool_)
    seen_s = np.full(n_s, -1, np.int64)
    seen_w = np.full(n_w, -1, np.int64)
    seen_l = np.full(len(start) - 1, -1, np.int64)
    parent_s = np.empty(n_s, np.int64)
    tree_s = np.empty(n_s, np.int64)
    queue = np.empty(n_w + 1, np.int64)
    direct = augmented = swapped = failed = expanded = 0
    for k in range(len(order)):
        u = order[k]
        if match_s[u] >= 0:
            continue
        lu, wu = wloc[u], weight[u]
        # 1. nearest sponsor with a free slot (ties: lower index)
        best, best_d = -1, np.inf
        for t in range(start[lu], start[lu + 1]):
            j = nbr[t]
            if free[j] > 0:
                d = _nb_dist(lphi[lu], llam[lu], lcos[lu], sphi[j], slam[j], scos[j])
                if d < best_d:
                    best, best_d = j, d
        if best >= 0:
            _nb_move(u, best, match_s, slot_start, slot_w, free)
            direct += 1
            continue
        # 2. breadth-first alternating search: a free slot, or a strictly lighter covered worker
        head, tail, n_tree = 0, 1, 0
        queue[0] = u
        seen_w[u] = k
        end_s, drop = -1, -1
        while head < tail and end_s < 0:
            x = queue[head]
            head += 1
            lx = wloc[x]
            if seen_l[lx] == k:  # a worker at the same point was expanded already
                continue
            seen_l[lx] = k
            expanded += 1
            for t in range(start[lx], start[lx + 1]):
                j = nbr[t]
                if dead[j] or seen_s[j] == k:
                    continue
                seen_s[j] = k
                parent_s[j] = x
                tree_s[n_tree] = j
                n_tree += 1
                if free[j] > 0:
                    end_s = j
                    break
                lightest = -1
                for q in range(slot_start[j], slot_start[j + 1]):
                    y = slot_w[q]
                    if y >= 0 and seen_w[y] != k:
                        seen_w[y] = k
                        queue[tail] = y
                        tail += 1
                        if weight[y] < wu and (lightest < 0 or weight[y] < weight[lightest]):
                            lightest = y
                if lightest >= 0:
                    drop, end_s = lightest, j
                    break
        if end_s < 0:  # Hungarian tree: useless to every later (no heavier) search
            for q in range(n_tree):
                dead[tree_s[q]] = True
            failed += 1
            continue
        if drop >= 0:
            for q in range(slot_start[end_s], slot_start[end_s + 1]):
                if slot_w[q] == drop:
                    slot_w[q] = -1
            free[end_s] += 1
            match_s[drop] = -1
            swapped += 1
        else:
            augmented += 1
        j = end_s
        while True:
            old = _nb_move(parent_s[j], j, match_s, slot_start, slot_w, free)
            if old < 0:
                break
            j = old
    return match_s, np.array([direct, augmented, swapped, failed, expanded], np.int64)


def solve_augmenting(
    wg,
    w_ok,
    weight,
    sg,
    s_ok,
    capacity,
    *,
    radius_m,
    stretch,
    polish_k=12,
    exact_distance=False,
    max_rounds=500,
    gap_tolerance=0.0,
    distance_method="scaling",
    warm_state=None,
    sponsor_keys=None,
) -> FlowSolution:
    """Maximum covered weight exactly (augmenting paths), then least distance for that covered set.

    1. Workers at the same point share one neighbour list (CSR of sponsors within the radius, exact
       distance). 2. ``_nb_augment``: matroid greedy, exact maximum weight. 3. Polish: a min-cost
    assignment of exactly the covered count per weight class (grouped by point) to sponsors over each
    point's ``polish_k`` nearest sponsors, each sponsor's nearest points and the arcs of step 2 (so it stays
    feasible); it cannot change the covered weight, only shortens distances. 4. With ``exact_distance``:
    column generation over every pair within the radius with a dual certificate (matching_exact.py), up to
    ``max_rounds`` pricing rounds or until the proven gap is at most ``gap_tolerance`` x the lower bound.
    """
    none = FlowSolution(np.empty(0, np.int64), np.empty(0, np.int64), {"arcs": 0})
    if len(w_ok) == 0 or len(s_ok) == 0:
        return none
    # Workers at identical coordinates -> one location.
    key = np.lexsort((wg.lam[w_ok], wg.phi[w_ok]))
    new = np.ones(len(w_ok), bool)
    new[1:] = (wg.phi[w_ok][key][1:] != wg.phi[w_ok][key][:-1]) | (wg.lam[w_ok][key][1:] != wg.lam[w_ok][key][:-1])
    loc_sorted = np.cumsum(new) - 1
    wloc = np.empty(len(w_ok), np.int64)
    wloc[key] = loc_sorted
    rep = w_ok[key[new]]
    L = subset(wg, rep)
    S = subset(sg, s_ok)
    t_adj = time.process_time()
    start, nbr, knn = _nb_adjacency(
        L.x,
        L.y,
        L.phi,
        L.lam,
        L.cos,
        S.x,
        S.y,
        S.phi,
        S.lam,
        S.cos,
        float(radius_m),
        radius_m * stretch + 1.0,
        polish_k,
    )
    loc_costs = None
    if exact_distance and distance_method == "scaling" and polish_k:
        from sponsorship.matching.solver.scaling import loc_costs_async

        loc_costs = loc_costs_async(start, nbr, L, S, radius_m)  # second core: the banded rows of step 4
    wt = weight[w_ok].astype(np.int64)
    # Inside a weight class, workers nearest to a sponsor first: any order gives the maximum
    # weight; this one leaves far-off workers uncovered when the class cannot be covered fully.
    first = knn[:, 0]
    near = np.where(first >= 0, distance_m(L, np.arange(len(first)), S, np.maximum(first, 0)), np.inf)[wloc]
    order = np.lexsort((np.arange(len(w_ok)), near, -wt))
    cap = capacity[s_ok].astype(np.int64)
    t_aug = time.process_time()
    match_s, counters = _nb_augment(order, wloc, wt, L.phi, L.lam, L.cos, S.phi, S.lam, S.cos, start, nbr, cap)
    t_pol = time.process_time()
    stats = {
        "locations": len(rep),
        "arcs": len(nbr),
        "direct": int(counters[0]),
        "augmented": int(counters[1]),
        "swapped": int(counters[2]),
        "hungarian_trees": int(counters[3]),
        "expanded": int(counters[4]),
        "cpu_adjacency_s": round(t_aug - t_adj, 3),
        "cpu_augment_s": round(t_pol - t_aug, 3),
    }
    if polish_k and (match_s >= 0).any():
        pw, ps, pstats = _polish(
            wt,
            wloc,
            match_s,
            L,
            S,
            knn,
            cap,
            polish_k,
            radius_m,
            start,
            nbr,
            exact=exact_distance,
            max_rounds=max_rounds,
            gap_tolerance=gap_tolerance,
            distance_method=distance_method,
            warm_state=warm_state,
            sponsor_keys=sponsor_keys,
            loc_costs=loc_costs,
        )
        new_warm = pstats.pop("_warm_state", None)
        stats.update(pstats)
        stats["cpu_polish_s"] = round(time.process_time() - t_pol, 3)
        return FlowSolution(s_ok[ps], w_ok[pw], stats, new_warm)
    cov = np.flatnonzero(match_s >= 0)
    return FlowSolution(s_ok[match_s[cov]], w_ok[cov], stats)


def _unique_arcs(a, b, c, n_s):
    """The (group, sponsor) arcs once each (the first occurrence's cost)."""
    _, first = np.unique(a * (n_s + 1) + b, return_index=True)
    return a[first], b[first], c[first]


def _polish(
    wt,
    wloc,
    match_s,
    L,
    S,
    knn,
    cap,
    k_near,
    radius,
    start=None,
    nbr=None,
    exact=False,
    max_rounds=60,
    gap_tolerance=0.0,
    distance_method="scaling",
    warm_state=None,
    sponsor_keys=None,
    loc_costs=None,
):
    """Shorter distances at the same covered count per weight class (so the same covered weight).

    Min-cost flow: one source per weight class (supply = its covered count) -> (location, weight)
    groups (capacity = group size) -> sponsors -> sink. Arcs: each location's ``k_near`` nearest
    sponsors, each sponsor's ``k_near`` nearest locations, and the current pairs (so the current
    matching stays feasible). Costs are plain metres: no big M, so OR-Tools converges fast. The
    covered workers may change (same weight class), the covered weight cannot.
    """
    n_w = len(wt)
    wmax = int(wt.max()) + 1
    gkey = wloc * wmax + wt
    ug, ginv = np.unique(gkey, return_inverse=True)
    g_loc, g_w = ug // wmax, ug % wmax
    supply = np.bincount(ginv).astype(np.int64)
    ulocs, linv = np.unique(g_loc, return_inverse=True)
    kn = knn[ulocs]
    la, lb = np.nonzero(kn >= 0)
    lb = kn[la, lb]
    lc = np.rint(distance_m(L, ulocs[la], S, lb)).astype(np.int64)
    # group arcs: each group gets its location's arcs
    l_start = np.searchsorted(la, np.arange(len(ulocs) + 1))
    n_per = l_start[linv + 1] - l_start[linv]
    ga = np.repeat(np.arange(len(ug)), n_per)
    pos = np.repeat(l_start[linv], n_per) + np.arange(n_per.sum()) - np.repeat(np.cumsum(n_per) - n_per, n_per)
    gb, gc = lb[pos], lc[pos]
    cov = np.flatnonzero(match_s >= 0)
    cur_d = np.rint(distance_m(L, wloc[cov], S, match_s[cov])).astype(np.int64)
    # sponsor side: each sponsor's k nearest worker locations (every group there)
    k_s = min(k_near, len(ulocs))
    _, nl = cKDTree(np.c_[L.x[ulocs], L.y[ulocs]]).query(np.c_[S.x, S.y], k=k_s)
    nl = nl.reshape(len(S.x), k_s)
    ss = np.repeat(np.arange(len(S.x)), k_s)
    ll = nl.ravel()
    dd = distance_m(L, ulocs[ll], S, ss)
    ok = dd <= radius
    ss, ll, dd = ss[ok], ll[ok], np.rint(dd[ok]).astype(np.int64)
    # groups of those locations
    g_by_loc = np.argsort(linv, kind="stable")
    gl_start = np.searchsorted(linv[g_by_loc], np.arange(len(ulocs) + 1))
    n_g = gl_start[ll + 1] - gl_start[ll]
    sa = g_by_loc[np.repeat(gl_start[ll], n_g) + np.arange(n_g.sum()) - np.repeat(np.cumsum(n_g) - n_g, n_g)]
    a = np.concatenate([ga, sa, ginv[cov]])
    b = np.concatenate([gb, np.repeat(ss, n_g), match_s[cov]])
    c = np.concatenate([gc, np.repeat(dd, n_g), cur_d])
    a, b, c = _unique_arcs(a, b, c, len(cap))
    uw, cls = np.unique(g_w, return_inverse=True)
    need = np.bincount(cls[ginv[cov]], minlength=len(uw)).astype(np.int64)
    n_c, n_g, n_s = len(uw), len(ug), len(cap)
    warm_map = None
    if exact and distance_method == "scaling" and sponsor_keys is not None:
        from sponsorship.matching.solver import warm as warm_mod

        g_key = warm_mod.location_keys(L.phi[g_loc], L.lam[g_loc])
        if warm_state is not None:
            warm_map = warm_mod.map_onto(warm_state, g_key=g_key, g_w=g_w, g_class=cls, s_id=sponsor_keys, c_w=uw)
            if warm_map["mapped_rows"] < 0.5 * int(need.sum()):  # too little in common: the cold start is better
                warm_map = None
    sink = n_c + n_g + n_s

    def network(a, b, c):
        """tails, heads, capacities, costs: class -> group, the group -> sponsor arcs (a, b, c), sponsor -> sink."""
        tails = np.concatenate([cls, n_c + a, n_c + n_g + np.arange(n_s)])
        heads = np.concatenate([n_c + np.arange(n_g), n_c + n_g + b, np.full(n_s, sink)])
        caps = np.concatenate([supply, np.minimum(supply[a], cap[b]), cap.astype(np.int64)])
        costs = np.concatenate([np.zeros(n_g, np.int64), c, np.zeros(n_s, np.int64)])
        return tails, heads, caps, costs

    tails, heads, caps, costs = network(a, b, c)
    supplies = np.concatenate([need, np.zeros(n_g + n_s, np.int64), [-int(need.sum())]])
    f_all = np.zeros(len(tails), np.int64) if warm_map is not None else _mcf(tails, heads, caps, costs, supplies)
    stats = {"polish_arcs": len(a)}
    if exact:
        from sponsorship.matching.solver.exact import exact_polish
        from sponsorship.matching.solver.scaling import nb_arc_pos, scaling_polish

        loc_gstart = np.searchsorted(g_loc, np.arange(len(start)))  # groups are sorted by location
        kw = dict(
            n_c=n_c,
            n_g=n_g,
            n_s=n_s,
            tails=tails,
            heads=heads,
            caps=caps,
            costs=costs,
            flows=f_all,
            g_class=cls,
            g_size=supply,
            need=need,
            s_cap=cap.astype(np.int64),
            loc_gstart=loc_gstart,
            L=L,
            S=S,
            loc_start=start,
            nbr=nbr,
            distance0=int((f_all[n_g : n_g + len(a)] * c).sum()),
            gap_tolerance=gap_tolerance,
        )
        if distance_method == "scaling":
            n_bands = int(radius) // 250 + 2
            if loc_costs is not None:  # computed on the second thread meanwhile (solve_augmenting)
                kw["loc_costs"] = loc_costs.result()
            rows, ex = scaling_polish(**kw, max_phases=max_rounds, n_bands=n_bands, warm=warm_map)
            if rows is None:  # the previous run's flow no longer fits or is no longer optimal
                stats["warm_miss"] = True
                stats["cpu_warm_miss_s"] = ex["cpu_warm_miss_s"]
                # Warm-assisted cold start: the restricted network also gets the previous run's pairs that are
                # still within the radius, so its optimum is near the true one and the phases have less to move
                # (docs/matching.md, "Ninth session").
                in_r = nb_arc_pos(warm_map["rows_g"], warm_map["rows_j"], g_loc, start, nbr) >= 0
                wa, wb = warm_map["rows_g"][in_r], warm_map["rows_j"][in_r]
                if len(wa):
                    wc = np.rint(distance_m(L, g_loc[wa], S, wb)).astype(np.int64)
                    n_before = len(a)
                    a, b, c = (np.concatenate(x) for x in ((a, wa), (b, wb), (c, wc)))
                    a, b, c = _unique_arcs(a, b, c, n_s)
                    tails, heads, caps, costs = network(a, b, c)
                    kw.update(tails=tails, heads=heads, caps=caps, costs=costs)
                    stats["polish_arcs"] = len(a)
                    stats["warm_arcs_added"] = len(a) - n_before
                warm_map = None
                f_all = _mcf(tails, heads, caps, costs, supplies)
                kw["flows"] = f_all
                kw["distance0"] = int((f_all[n_g : n_g + len(a)] * c).sum())
                kw["loc_costs"] = ex["_loc_costs"]
                rows, ex = scaling_polish(**kw, max_phases=max_rounds, n_bands=n_bands)
            ws = ex.pop("_warm_state")
            if sponsor_keys is not None:
                ex["_warm_state"] = warm_mod.WarmState(
                    g_key=g_key,
                    g_w=g_w.astype(np.int64),
                    p_g=ws["p_g"],
                    s_id=np.asarray(sponsor_keys, np.int64),
                    p_s=ws["p_s"],
                    c_w=uw.astype(np.int64),
                    p_c=ws["p_c"],
                    r_g=ws["rows"][:, 0].astype(np.int64),
                    r_s=np.asarray(sponsor_keys, np.int64)[ws["rows"][:, 1]],
                    r_f=ws["rows"][:, 2].astype(np.int64),
                )
            if warm_map is not None:
                ex["warm_mapped_groups"] = warm_map["mapped_groups"]
                ex["warm_mapped_rows"] = warm_map["mapped_rows"]
        elif distance_method == "repair":
            rows, ex = exact_polish(**kw, max_rounds=max_rounds)
        else:
            raise ValueError("distance_method must be 'scaling' or 'repair'")
        stats.update(ex)
        if warm_map is None:  # a warm start skips the restricted polish
            stats["distance_restricted_m"] = int((f_all[n_g : n_g + len(a)] * c).sum())
        a, b, f = rows[:, 0], rows[:, 1], rows[:, 2]
    else:
        f = f_all[n_g : n_g + len(a)]
    used = np.flatnonzero(f > 0)
    unit_g, unit_s = np.repeat(a[used], f[used]), np.repeat(b[used], f[used])
    # workers of each group by index take that group's units in sponsor order
    w_order = np.lexsort((np.arange(n_w), ginv))
    g_first = np.searchsorted(ginv[w_order], np.arange(len(ug)))
    rank = np.arange(len(unit_g)) - np.searchsorted(unit_g, unit_g)
    workers = w_order[g_first[unit_g] + rank]
    return workers, unit_s, stats
