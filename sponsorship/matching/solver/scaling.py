"""Exact distance step by warm-started cost scaling (push-relabel, numba) on the full location network.

Network (as in matching_exact.py): class c (supply need_c) -> group g = (location, weight c) [cap size_g,
cost 0] -> sponsor j [every pair within the radius, cost round(d), cap min(size_g, c_j)] -> sink [cap c_j].
Its min cost is the lexicographic optimum's total distance (docs/matching.md). The group -> sponsor arcs
are never materialised: a group's arcs are its location's CSR row (``loc_start``/``nbr``, built in step 1
of the augmenting path) with one flow counter each; a sponsor's residual reverse arcs (those carrying flow,
at most a few) sit in a small linked list.

Goldberg's cost scaling, warm: costs are scaled by K (> the bound B below) and the start is the restricted
polish's optimum with its Bellman-Ford potentials x K, so it is already eps0-optimal with eps0 = K x the
largest violation over all arcs. Each phase divides eps by ``alpha``, saturates the residual arcs whose
reduced cost is below -eps (the pseudoflow is then eps-optimal) and discharges the excesses FIFO with
push / relabel (relabel: p(v) = max over residual arcs (p(w) - c) - eps). At the end of a phase the flow is
feasible and eps-optimal.

Scans: rows are reordered once by 250 m distance band; potentials only fall, so per location and band the
largest sponsor potential minus the band's floor bounds q = p_j - d K for every later arc of the row during a
phase (``_nb_row_bound``). Each group keeps its ``n_cand`` best residual arcs by q and ``qx``, an upper bound on
q over its other residual arcs (raised when a reverse push gives an arc room again); a relabel uses the list and
rescans the row only when qx could win. Setting the current arc to the relabel's argmax skips arcs that may be
admissible: harmless - a relabel still takes the maximum over all residual arcs, so eps-optimality holds and
potentials still only fall.

Why the stop is sound: for an eps-optimal feasible flow the certificate's gap (matching_exact._nb_certify,
LP duality) is at most eps x B, B = sum size_g + 2 sum c_j + sum c_j^2 (each class / sink arc contributes at
most eps x its capacity, each arc with flow at most eps x its capacity - a sponsor has at most c_j of them,
each of capacity <= c_j -, the free arcs with negative reduced cost at most eps x c_j per sponsor). So
eps x B <= tolerance stops with a proven gap; with K > B, eps = 1 means a gap below one metre, and total
distances are integers, so the flow is optimal. The reported gap is never this bound: it comes from the
independent certificate on the returned flow and potentials (scaled costs, gap / K, floored - the true gap
is an integer).

Finish: after a phase with eps <= 1 m the price refinement looks for integer potentials in metres that prove the
flow optimal, cancelling the negative cycles it meets on the way (``_nb_exact_prices_cc``); success skips the
sub-metre phases, which only tighten potentials, and the independent certificate runs unscaled.
"""

from __future__ import annotations

import time

import numba as nb
import numpy as np

from sponsorship.matching.solver.exact import _nb_certify, _nb_spfa, build_graph
from sponsorship.matching.solver.flow import _nb_dist


@nb.njit(cache=True, nogil=True)
def _nb_loc_costs(loc_start, nbr, lphi, llam, lcos, sphi, slam, scos, loc_used, band_m, n_bands):
    """Each used location's row of the CSR, reordered by distance band (counting sort, stable): sponsors and
    round(d). A scan in this order can stop once (the row's largest sponsor potential - band floor x K) cannot
    beat what it has (relabel) or reach an admissible arc (discharge)."""
    nbr2 = np.empty(len(nbr), np.int32)
    dl = np.zeros(len(nbr), np.int32)
    tmp = np.empty(0, np.int32)
    cnt = np.zeros(n_bands + 1, np.int64)
    for loc in range(len(loc_start) - 1):
        t0, t1 = loc_start[loc], loc_start[loc + 1]
        if not loc_used[loc]:
            nbr2[t0:t1] = nbr[t0:t1]
            continue
        if len(tmp) < t1 - t0:
            tmp = np.empty(2 * (t1 - t0), np.int32)
        cnt[:] = 0
        for t in range(t0, t1):
            j = nbr[t]
            d = np.int32(np.rint(_nb_dist(lphi[loc], llam[loc], lcos[loc], sphi[j], slam[j], scos[j])))
            tmp[t - t0] = d
            cnt[min(d // band_m, n_bands - 1) + 1] += 1
        for b in range(n_bands):
            cnt[b + 1] += cnt[b]
        for t in range(t0, t1):
            d = tmp[t - t0]
            b = min(d // band_m, n_bands - 1)
            q = t0 + cnt[b]
            cnt[b] += 1
            nbr2[q] = nbr[t]
            dl[q] = d
    return nbr2, dl


def loc_costs_async(loc_start, nbr, L, S, radius_m, band_m=250):
    """``_nb_loc_costs`` for every location on a second thread (the kernel releases the GIL): it needs only the
    neighbour CSR, so it runs while the caller computes the covered weight and the restricted polish. Returns a
    future of (nbr, dl) for ``scaling_polish(loc_costs=...)``; ``n_bands`` as the caller sizes it."""
    from concurrent.futures import ThreadPoolExecutor

    n_bands = int(radius_m) // band_m + 2
    used = np.ones(len(loc_start) - 1, np.bool_)
    pool = ThreadPoolExecutor(1, thread_name_prefix="matching-loc-costs")
    fut = pool.submit(_nb_loc_costs, loc_start, nbr, L.phi, L.lam, L.cos, S.phi, S.lam, S.cos, used, band_m, n_bands)
    pool.shutdown(wait=False)
    return fut


@nb.njit(cache=True)
def _nb_row_bound(loc_start, nbr, dl, loc_used, p, s0, K, band_m, n_bands):
    """bound[loc, b]: an upper bound on q = p_j - d K over the arcs of row loc in band b or later - the largest
    sponsor potential of each band minus the band's floor, suffix maxima. Valid for a whole phase: potentials
    only fall."""
    n_l = len(loc_start) - 1
    neg = -np.int64(2**62)
    out = np.full((n_l, n_bands + 1), neg)
    for loc in range(n_l):
        if not loc_used[loc]:
            continue
        for t in range(loc_start[loc], loc_start[loc + 1]):
            b = dl[t] // band_m
            v = p[s0 + nbr[t]]
            if v > out[loc, b]:
                out[loc, b] = v
        run = neg
        for b in range(n_bands - 1, -1, -1):
            if out[loc, b] > neg:
                v = out[loc, b] - np.int64(b) * band_m * K
                if v > run:
                    run = v
            out[loc, b] = run
    return out


@nb.njit(cache=True)
def _ent_add(j, a, g, t, head, e_next, e_a, e_g, e_t, free_top):
    """New list entry (arc a of group g, CSR position t) at the head of sponsor j's list."""
    k = free_top[0]
    if k < 0:
        return False
    free_top[0] = e_next[k]
    e_a[k], e_g[k], e_t[k] = a, g, t
    e_next[k] = head[j]
    head[j] = k
    return True


@nb.njit(cache=True)
def _saturate_arc(g, j, a, t, u, s0, gf, ex, dl, head, e_next, e_a, e_g, e_t, free_top):
    """Fill forward arc `a` (group g -> sponsor j, location row t) up to `u`. Returns the distance it adds
    (>= 0), or -1 when the entry pool overflowed (nothing applied: the caller grows the pool and retries)."""
    d = u - gf[a]
    if gf[a] == 0:
        if not _ent_add(j, a, g, t, head, e_next, e_a, e_g, e_t, free_top):
            return -1
    gf[a] = u
    ex[g] -= d
    ex[s0 + j] += d
    return d * dl[t]


@nb.njit(cache=True)
def _saturate_hub_arc(r, eps, f, i, cap, ex, u, v):
    """Arc u -> v carrying f[i] of capacity cap (class -> group, sponsor -> sink), reduced cost r: filled when
    r < -eps, emptied when its reverse arc's (-r) is."""
    if r < -eps and f[i] < cap:
        d = cap - f[i]
        f[i] = cap
        ex[u] -= d
        ex[v] += d
    elif -r < -eps and f[i] > 0:
        d = f[i]
        f[i] = 0
        ex[u] += d
        ex[v] -= d


@nb.njit(cache=True)
def _nb_init(rows_g, rows_j, rows_f, g_loc, garc0, loc_start, nbr, gf, head, e_next, e_a, e_g, e_t, free_top):
    for q in range(len(rows_g)):
        g, j, f = rows_g[q], rows_j[q], rows_f[q]
        loc = g_loc[g]
        for t in range(loc_start[loc], loc_start[loc + 1]):
            if nbr[t] == j:
                a = garc0[g] + t - loc_start[loc]
                gf[a] = f
                if not _ent_add(j, a, g, t, head, e_next, e_a, e_g, e_t, free_top):
                    return False
                break
    return True


@nb.njit(cache=True)
def _nb_warm_flow(rows_g, rows_j, rows_f, g_loc, g_class, g_size, garc0, s_cap, need, loc_start, nbr):
    """The previous run's group -> sponsor flow, kept where it still fits: the arc must still exist (the sponsor
    within the radius of the location) and each group, sponsor and class keeps within its size, capacity and
    covered count. Returns (arc position, amount) per kept row and the group / sponsor / class totals."""
    n = len(rows_g)
    keep_a = np.full(n, -1, np.int64)
    keep_t = np.zeros(n, np.int64)
    keep_f = np.zeros(n, np.int64)
    xg = np.zeros(len(g_loc), np.int64)
    ys = np.zeros(len(s_cap), np.int64)
    uc = np.zeros(len(need), np.int64)
    for q in range(n):
        g, j = rows_g[q], rows_j[q]
        if g < 0 or j < 0:
            continue
        loc = g_loc[g]
        for t in range(loc_start[loc], loc_start[loc + 1]):
            if nbr[t] == j:
                c = g_class[g]
                f = min(rows_f[q], g_size[g] - xg[g], s_cap[j] - ys[j], need[c] - uc[c], min(g_size[g], s_cap[j]))
                if f > 0:
                    keep_a[q] = garc0[g] + t - loc_start[loc]
                    keep_t[q] = t
                    keep_f[q] = f
                    xg[g] += f
                    ys[j] += f
                    uc[c] += f
                break
    return keep_a, keep_t, keep_f, xg, ys, uc


@nb.njit(cache=True, nogil=True)
def nb_arc_pos(rows_g, rows_j, g_loc, loc_start, nbr):
    """CSR position of each (group, sponsor) row; -1 when the arc does not exist (or an id is -1)."""
    out = np.full(len(rows_g), -1, np.int64)
    for q in range(len(rows_g)):
        if rows_g[q] < 0 or rows_j[q] < 0:
            continue
        loc = g_loc[rows_g[q]]
        for t in range(loc_start[loc], loc_start[loc + 1]):
            if nbr[t] == rows_j[q]:
                out[q] = t
                break
    return out


@nb.njit(cache=True)
def _nb_max_violation(g_loc, garc0, g_size, s_cap, loc_start, nbr, dl, K, p, n_g, gf):
    """Largest -rc over residual group -> sponsor arcs (the other arcs are optimal already)."""
    worst = np.int64(0)
    for g in range(len(g_loc)):
        loc = g_loc[g]
        pg = p[g]
        for t in range(loc_start[loc], loc_start[loc + 1]):
            j = nbr[t]
            r = dl[t] * K + pg - p[n_g + j]
            if r < -worst and gf[garc0[g] + t - loc_start[loc]] < min(g_size[g], s_cap[j]):
                worst = -r
    return worst


@nb.njit(cache=True)
def _is_cand(cand, ncand, g, o):
    for i in range(ncand[g]):
        if cand[g, i] == o:
            return True
    return False


@nb.njit(cache=True)
def _nb_build(g, loc, K, p, s0, gf, garc0, g_size, s_cap, loc_start, nbr, dl, bnd, bi, cand, ncand, qx, counters):
    """Group g's candidate list: its residual arcs with the largest q = p_j - d K (best first), and qx = an upper
    bound on q over the residual arcs left out. Rows are in distance bands, so the scan stops once the row's
    potential bound minus the band floor cannot enter the list."""
    M = cand.shape[1]
    counters[6] += 1
    qs = np.empty(M, np.int64)
    m = 0
    out = -np.int64(2**62)
    t0 = loc_start[loc]
    for t in range(t0, loc_start[loc + 1]):
        bound = bnd[loc, bi[t]]
        if m == M and bound <= qs[M - 1]:
            if bound > out:
                out = bound
            break
        counters[4] += 1
        j = nbr[t]
        q = p[s0 + j] - dl[t] * K
        if m == M and q <= qs[M - 1]:  # cannot enter: only the bound (saturated arcs may raise it: still a bound)
            if q > out:
                out = q
            continue
        if gf[garc0[g] + t - t0] >= min(g_size[g], s_cap[j]):
            continue
        if m == M:
            if qs[M - 1] > out:
                out = qs[M - 1]
            i = M - 1
        else:
            i = m
            m += 1
        while i > 0 and qs[i - 1] < q:
            qs[i] = qs[i - 1]
            cand[g, i] = cand[g, i - 1]
            i -= 1
        qs[i] = q
        cand[g, i] = t - t0
    ncand[g] = m
    qx[g] = out


@nb.njit(cache=True)
def _nb_refine(
    eps,
    K,
    p,
    x,
    y,
    gf,
    g_loc,
    g_class,
    g_size,
    garc0,
    s_cap,
    cls_start,
    cls_groups,
    loc_start,
    nbr,
    dl,
    head,
    e_next,
    e_a,
    e_g,
    e_t,
    free_top,
    ex,
    acc,
    counters,
    band_m,
    n_bands,
    loc_used,
    cand,
    ncand,
    qx,
    bi,
):
    """One cost-scaling phase: from an eps*alpha-optimal feasible flow to an eps-optimal feasible one.

    Node ids: groups [0, n_g), sponsors [n_g, n_g + n_s), classes next, the sink last. ``ex`` (excesses) and
    ``acc[0]`` (change of the total distance, metres) persist across calls. Returns False if the entry pool
    overflowed: nothing is lost (the push in progress was not applied); the caller grows the pool and calls
    again with the same eps - the saturation step is idempotent, and after a relabel it finds nothing to do.
    """
    n_g, n_s, n_c = len(g_loc), len(s_cap), len(cls_start) - 1
    s0, c0 = n_g, n_g + n_s
    T = n_g + n_s + n_c
    N = T + 1
    dcost = acc[0]
    bnd = _nb_row_bound(loc_start, nbr, dl, loc_used, p, s0, K, band_m, n_bands)
    # 1. saturate every residual arc with reduced cost < -eps (the pseudoflow is then eps-optimal)
    for g in range(n_g):
        c = c0 + g_class[g]
        _saturate_hub_arc(p[c] - p[g], eps, x, g, g_size[g], ex, c, g)
        loc = g_loc[g]
        pg = p[g]
        base = garc0[g] - loc_start[loc]
        t_hi = loc_start[loc + 1]
        if qx[g] <= pg + eps:  # no excluded residual arc can have rc < -eps: the candidates suffice
            t_hi = loc_start[loc]
            for i in range(ncand[g]):
                o = cand[g, i]
                t = loc_start[loc] + o
                j = nbr[t]
                if dl[t] * K + pg - p[s0 + j] < -eps:
                    a = base + t
                    u = min(g_size[g], s_cap[j])
                    if gf[a] < u:
                        added = _saturate_arc(g, j, a, t, u, s0, gf, ex, dl, head, e_next, e_a, e_g, e_t, free_top)
                        if added < 0:
                            acc[0] = dcost
                            return False
                        dcost += added
        for t in range(loc_start[loc], t_hi):
            if bnd[loc, bi[t]] <= pg + eps:
                break  # rows are in distance bands: nothing further can have rc < -eps
            j = nbr[t]
            r = dl[t] * K + pg - p[s0 + j]
            if r < -eps:
                a = base + t
                u = min(g_size[g], s_cap[j])
                if gf[a] < u:
                    added = _saturate_arc(g, j, a, t, u, s0, gf, ex, dl, head, e_next, e_a, e_g, e_t, free_top)
                    if added < 0:
                        acc[0] = dcost
                        return False
                    dcost += added
    for j in range(n_s):
        v = s0 + j
        _saturate_hub_arc(p[v] - p[T], eps, y, j, s_cap[j], ex, v, T)
        prev = -1
        k = head[j]
        while k >= 0:
            nk = e_next[k]
            g = e_g[k]
            r = -dl[e_t[k]] * K + p[v] - p[g]
            if r < -eps:  # reverse arc j -> g: send all its flow back
                q = p[v] - dl[e_t[k]] * K
                if q > qx[g] and not _is_cand(cand, ncand, g, e_t[k] - loc_start[g_loc[g]]):
                    qx[g] = q
                d = gf[e_a[k]]
                gf[e_a[k]] = 0
                ex[v] -= d
                ex[g] += d
                dcost -= d * dl[e_t[k]]
                if prev < 0:
                    head[j] = nk
                else:
                    e_next[prev] = nk
                e_next[k] = free_top[0]
                free_top[0] = k
            else:
                prev = k
            k = nk
    # 2. FIFO discharge of the active nodes
    queue = np.empty(N + 1, np.int64)
    inq = np.zeros(N, np.bool_)
    cur = np.zeros(N, np.int64)
    qh, qt, qs = 0, 0, 0
    for v in range(N):
        if ex[v] > 0:
            queue[qt] = v
            qt = (qt + 1) % (N + 1)
            qs += 1
            inq[v] = True
    while qs > 0:
        v = queue[qh]
        qh = (qh + 1) % (N + 1)
        qs -= 1
        inq[v] = False
        while ex[v] > 0:
            w = -1
            amt = np.int64(0)
            if v < n_g:  # group: arc 0 = back to its class, then its candidate arcs (best first)
                g = v
                loc = g_loc[g]
                nc = ncand[g]
                k = cur[g]
                while k <= nc:
                    if k == 0:
                        c = c0 + g_class[g]
                        if x[g] > 0 and p[g] - p[c] < 0:
                            w = c
                            amt = min(ex[g], x[g])
                            x[g] -= amt
                            break
                    else:
                        o = cand[g, k - 1]
                        t = loc_start[loc] + o
                        j = nbr[t]
                        counters[5] += 1
                        if dl[t] * K + p[g] - p[s0 + j] < 0:
                            a = garc0[g] + o
                            u = min(g_size[g], s_cap[j])
                            if gf[a] < u:
                                w = s0 + j
                                amt = min(ex[g], u - gf[a])
                                if gf[a] == 0:
                                    if not _ent_add(j, a, g, t, head, e_next, e_a, e_g, e_t, free_top):
                                        acc[0] = dcost
                                        return False
                                gf[a] += amt
                                dcost += amt * dl[t]
                                break
                    k += 1
                cur[g] = k
                if w < 0:  # relabel: the best residual arc among the candidates, unless an excluded one may beat it
                    c = c0 + g_class[g]
                    for _attempt in range(2):
                        best = -np.int64(2**62)
                        if x[g] > 0:
                            best = p[c]
                        arg = 0
                        for i in range(ncand[g]):
                            o = cand[g, i]
                            t = loc_start[loc] + o
                            j = nbr[t]
                            q = p[s0 + j] - dl[t] * K
                            if q > best and gf[garc0[g] + o] < min(g_size[g], s_cap[j]):
                                best = q
                                arg = i + 1
                        if best >= qx[g]:
                            break
                        _nb_build(
                            g,
                            loc,
                            K,
                            p,
                            s0,
                            gf,
                            garc0,
                            g_size,
                            s_cap,
                            loc_start,
                            nbr,
                            dl,
                            bnd,
                            bi,
                            cand,
                            ncand,
                            qx,
                            counters,
                        )
                    p[g] = best - eps
                    cur[g] = arg  # the argmax arc is admissible now; skipping others is safe (module doc)
                    counters[0] += 1
                    continue
            elif v < c0:  # sponsor: the sink arc, then reverse arcs of the group arcs carrying flow
                j = v - s0
                if y[j] < s_cap[j] and p[v] - p[T] < 0:
                    w = T
                    amt = min(ex[v], s_cap[j] - y[j])
                    y[j] += amt
                else:
                    prev = -1
                    k = head[j]
                    while k >= 0:
                        g = e_g[k]
                        if -dl[e_t[k]] * K + p[v] - p[g] < 0:
                            a = e_a[k]
                            w = g
                            q = p[v] - dl[e_t[k]] * K  # the forward arc has room again: bound it
                            if q > qx[g] and not _is_cand(cand, ncand, g, e_t[k] - loc_start[g_loc[g]]):
                                qx[g] = q
                            amt = min(ex[v], np.int64(gf[a]))
                            gf[a] -= amt
                            dcost -= amt * dl[e_t[k]]
                            if gf[a] == 0:
                                if prev < 0:
                                    head[j] = e_next[k]
                                else:
                                    e_next[prev] = e_next[k]
                                e_next[k] = free_top[0]
                                free_top[0] = k
                            break
                        prev = k
                        k = e_next[k]
                if w < 0:
                    best = -np.int64(2**62)
                    if y[j] < s_cap[j]:
                        best = p[T]
                    k = head[j]
                    while k >= 0:
                        q = p[e_g[k]] + dl[e_t[k]] * K
                        if q > best:
                            best = q
                        k = e_next[k]
                    p[v] = best - eps
                    counters[1] += 1
                    continue
            elif v < T:  # class: its groups
                c = v - c0
                k = cur[v]
                i1 = cls_start[c + 1] - cls_start[c]
                while k < i1:
                    g = cls_groups[cls_start[c] + k]
                    if x[g] < g_size[g] and p[v] - p[g] < 0:
                        w = g
                        amt = min(ex[v], g_size[g] - x[g])
                        x[g] += amt
                        break
                    k += 1
                cur[v] = k
                if w < 0:
                    best = -np.int64(2**62)
                    for i in range(cls_start[c], cls_start[c + 1]):
                        g = cls_groups[i]
                        if x[g] < g_size[g] and p[g] > best:
                            best = p[g]
                    p[v] = best - eps
                    cur[v] = 0
                    counters[2] += 1
                    continue
            else:  # sink: reverse arcs to the sponsors with flow
                k = cur[v]
                while k < n_s:
                    if y[k] > 0 and p[T] - p[s0 + k] < 0:
                        w = s0 + k
                        amt = min(ex[v], y[k])
                        y[k] -= amt
                        break
                    k += 1
                cur[v] = k
                if w < 0:
                    best = -np.int64(2**62)
                    for j in range(n_s):
                        if y[j] > 0 and p[s0 + j] > best:
                            best = p[s0 + j]
                    p[T] = best - eps
                    cur[v] = 0
                    counters[2] += 1
                    continue
            ex[v] -= amt
            ex[w] += amt
            counters[3] += 1
            if ex[w] > 0 and not inq[w]:
                inq[w] = True
                queue[qt] = w
                qt = (qt + 1) % (N + 1)
                qs += 1
    acc[0] = dcost
    return True


@nb.njit(cache=True)
def _nb_exact_prices(
    p,
    K,
    x,
    y,
    gf,
    g_loc,
    g_class,
    g_size,
    garc0,
    s_cap,
    cls_start,
    cls_groups,
    loc_start,
    nbr,
    dl,
    head,
    e_next,
    e_g,
    e_t,
    budget,
):
    """Price refinement: integer potentials in metres with every residual reduced cost >= 0, or failure.

    Starts from floor(p / K) (an eps-optimal flow with eps < K is off by at most a metre per arc there) and runs
    a label-correcting shortest-path pass on the implicit residual network (pi_v <= pi_u + c_uv for every
    residual arc u -> v), queue seeded with every node. Such potentials exist iff the flow is optimal (no
    negative cycle); ``budget`` caps the arc scans, so a non-optimal flow costs at most that much: returns
    (pi, ok). The caller still proves optimality with the independent certificate."""
    n_g, n_s, n_c = len(g_loc), len(s_cap), len(cls_start) - 1
    s0, c0 = n_g, n_g + n_s
    T = n_g + n_s + n_c
    N = T + 1
    pi = np.empty(N, np.int64)
    for v in range(N):
        pi[v] = p[v] // K
    queue = np.empty(N + 1, np.int64)
    inq = np.ones(N, np.bool_)
    for v in range(N):
        queue[v] = v
    qh, qt, qs = 0, N, N
    work = np.int64(0)
    while qs > 0:
        u = queue[qh]
        qh = (qh + 1) % (N + 1)
        qs -= 1
        inq[u] = False
        pu = pi[u]
        if u < n_g:  # group: to its class (reverse, flow > 0), to sponsors with room
            g = u
            c = c0 + g_class[g]
            if x[g] > 0 and pu < pi[c]:
                pi[c] = pu
                if not inq[c]:
                    inq[c] = True
                    queue[qt] = c
                    qt = (qt + 1) % (N + 1)
                    qs += 1
            loc = g_loc[g]
            base = garc0[g] - loc_start[loc]
            for t in range(loc_start[loc], loc_start[loc + 1]):
                j = nbr[t]
                nd = pu + dl[t]
                v = s0 + j
                if nd < pi[v] and gf[base + t] < min(g_size[g], s_cap[j]):
                    pi[v] = nd
                    if not inq[v]:
                        inq[v] = True
                        queue[qt] = v
                        qt = (qt + 1) % (N + 1)
                        qs += 1
            work += loc_start[loc + 1] - loc_start[loc]
        elif u < c0:  # sponsor: to the sink (room), back to groups it receives from
            j = u - s0
            if y[j] < s_cap[j] and pu < pi[T]:
                pi[T] = pu
                if not inq[T]:
                    inq[T] = True
                    queue[qt] = T
                    qt = (qt + 1) % (N + 1)
                    qs += 1
            k = head[j]
            while k >= 0:
                g = e_g[k]
                nd = pu - dl[e_t[k]]
                if nd < pi[g]:
                    pi[g] = nd
                    if not inq[g]:
                        inq[g] = True
                        queue[qt] = g
                        qt = (qt + 1) % (N + 1)
                        qs += 1
                k = e_next[k]
                work += 1
        elif u < T:  # class: to its groups with room
            c = u - c0
            for i in range(cls_start[c], cls_start[c + 1]):
                g = cls_groups[i]
                if x[g] < g_size[g] and pu < pi[g]:
                    pi[g] = pu
                    if not inq[g]:
                        inq[g] = True
                        queue[qt] = g
                        qt = (qt + 1) % (N + 1)
                        qs += 1
            work += cls_start[c + 1] - cls_start[c]
        else:  # sink: back to sponsors with flow
            for j in range(n_s):
                if y[j] > 0 and pu < pi[s0 + j]:
                    pi[s0 + j] = pu
                    if not inq[s0 + j]:
                        inq[s0 + j] = True
                        queue[qt] = s0 + j
                        qt = (qt + 1) % (N + 1)
                        qs += 1
            work += n_s
        if work > budget:
            return pi, False
    return pi, True


@nb.njit(cache=True)
def _cc_residual(u, v, parc, x, y, gf, g_loc, g_size, garc0, s_cap, loc_start, n_g, c0, T):
    """Residual capacity of the implicit residual arc u -> v that set v's label (``parc``: its CSR position)."""
    if u < n_g:
        if v >= c0:  # group -> its class (reverse of class -> group)
            return np.int64(x[u])
        t = parc
        a = garc0[u] + t - loc_start[g_loc[u]]
        return np.int64(min(g_size[u], s_cap[v - n_g]) - gf[a])
    if u < c0:
        if v == T:
            return np.int64(s_cap[u - n_g] - y[u - n_g])
        t = parc  # sponsor -> group: reverse of a group arc carrying flow
        a = garc0[v] + t - loc_start[g_loc[v]]
        return np.int64(gf[a])
    if u < T:  # class -> group
        return np.int64(g_size[v] - x[v])
    return np.int64(y[v - n_g])  # sink -> sponsor (reverse)


@nb.njit(cache=True)
def _cc_cancel(
    start,
    pred,
    parc,
    x,
    y,
    gf,
    g_loc,
    g_size,
    garc0,
    s_cap,
    loc_start,
    nbr,
    dl,
    head,
    e_next,
    e_a,
    e_g,
    e_t,
    free_top,
    n_g,
    c0,
    T,
):
    """Push the bottleneck around the parent-graph cycle through ``start``. Returns (distance change in metres,
    ok); ok False only when the entry pool is full (nothing applied)."""
    # bottleneck and cost
    bott = np.int64(2**62)
    cost = np.int64(0)
    v = start
    while True:
        u = pred[v]
        r = _cc_residual(u, v, parc[v], x, y, gf, g_loc, g_size, garc0, s_cap, loc_start, n_g, c0, T)
        if r < bott:
            bott = r
        if u < n_g and n_g <= v < c0:
            cost += dl[parc[v]]
        elif n_g <= u < c0 and v < n_g:
            cost -= dl[parc[v]]
        v = u
        if v == start:
            break
    if cost >= 0 or bott <= 0:  # cannot happen for a parent-graph cycle; the caller just drops its parents
        return np.int64(0), True
    # a new group arc needs a list entry: check the pool first (apply nothing on failure)
    need = 0
    v = start
    while True:
        u = pred[v]
        if u < n_g and n_g <= v < c0:
            if gf[garc0[u] + parc[v] - loc_start[g_loc[u]]] == 0:
                need += 1
        v = u
        if v == start:
            break
    k = free_top[0]
    have = 0
    while k >= 0 and have < need:
        have += 1
        k = e_next[k]
    if have < need:
        return np.int64(0), False
    v = start
    while True:
        u = pred[v]
        if u < n_g:
            if v >= c0:
                x[u] -= bott
            else:
                j = v - n_g
                t = parc[v]
                a = garc0[u] + t - loc_start[g_loc[u]]
                if gf[a] == 0:
                    _ent_add(j, a, u, t, head, e_next, e_a, e_g, e_t, free_top)
                gf[a] += bott
        elif u < c0:
            j = u - n_g
            if v == T:
                y[j] += bott
            else:
                t = parc[v]
                a = garc0[v] + t - loc_start[g_loc[v]]
                gf[a] -= bott
                if gf[a] == 0:  # unlink its entry from sponsor j's list
                    prev = -1
                    k = head[j]
                    while k >= 0:
                        if e_a[k] == a:
                            if prev < 0:
                                head[j] = e_next[k]
                            else:
                                e_next[prev] = e_next[k]
                            e_next[k] = free_top[0]
                            free_top[0] = k
                            break
                        prev = k
                        k = e_next[k]
        elif u < T:
            x[v] += bott
        else:
            y[v - n_g] -= bott
        v = u
        if v == start:
            break
    return bott * cost, True


@nb.njit(cache=True)
def _nb_exact_prices_cc(
    p,
    K,
    x,
    y,
    gf,
    g_loc,
    g_class,
    g_size,
    garc0,
    s_cap,
    cls_start,
    cls_groups,
    loc_start,
    nbr,
    dl,
    head,
    e_next,
    e_a,
    e_g,
    e_t,
    free_top,
    budget,
    check_every,
    out,
):
    """Price refinement that cancels the negative cycles it meets (``_nb_exact_prices`` otherwise).

    Label correcting as there, with parent pointers; every ``check_every`` node scans the parent graph is searched
    for cycles - a cycle of parent arcs is a negative cycle of the residual network (each parent arc u -> v keeps
    pi_v >= pi_u + c_uv, the last one set strictly) - and each one found is cancelled (its bottleneck pushed
    around it). The labels stay valid on the new reverse arcs (pi_u <= pi_v - c_uv), so the pass just goes on;
    the flow stays feasible and its distance falls by at least a metre per cycle. Ends like the plain pass:
    (pi, True) when no label changes (the flow is optimal and pi proves it), (pi, False) when ``budget`` arc
    scans are spent. ``out``: [distance change in metres, cycles cancelled]."""
    n_g, n_s, n_c = len(g_loc), len(s_cap), len(cls_start) - 1
    s0, c0 = n_g, n_g + n_s
    T = n_g + n_s + n_c
    N = T + 1
    pi = np.empty(N, np.int64)
    for v in range(N):
        pi[v] = p[v] // K
    pred = np.full(N, -1, np.int64)
    parc = np.full(N, -1, np.int64)
    stamp = np.zeros(N, np.int64)
    queue = np.empty(N + 1, np.int64)
    inq = np.ones(N, np.bool_)
    for v in range(N):
        queue[v] = v
    qh, qt, qs = 0, N, N
    work = np.int64(0)
    scans = 0
    walk = np.int64(0)
    while qs > 0:
        u = queue[qh]
        qh = (qh + 1) % (N + 1)
        qs -= 1
        inq[u] = False
        pu = pi[u]
        if u < n_g:  # group: to its class (reverse, flow > 0), to sponsors with room
            g = u
            c = c0 + g_class[g]
            if x[g] > 0 and pu < pi[c]:
                pi[c] = pu
                pred[c], parc[c] = g, -1
                if not inq[c]:
                    inq[c] = True
                    queue[qt] = c
                    qt = (qt + 1) % (N + 1)
                    qs += 1
            loc = g_loc[g]
            base = garc0[g] - loc_start[loc]
            for t in range(loc_start[loc], loc_start[loc + 1]):
                j = nbr[t]
                nd = pu + dl[t]
                v = s0 + j
                if nd < pi[v] and gf[base + t] < min(g_size[g], s_cap[j]):
                    pi[v] = nd
                    pred[v], parc[v] = g, t
                    if not inq[v]:
                        inq[v] = True
                        queue[qt] = v
                        qt = (qt + 1) % (N + 1)
                        qs += 1
            work += loc_start[loc + 1] - loc_start[loc]
        elif u < c0:  # sponsor: to the sink (room), back to groups it receives from
            j = u - s0
            if y[j] < s_cap[j] and pu < pi[T]:
                pi[T] = pu
                pred[T], parc[T] = u, -1
                if not inq[T]:
                    inq[T] = True
                    queue[qt] = T
                    qt = (qt + 1) % (N + 1)
                    qs += 1
            k = head[j]
            while k >= 0:
                g = e_g[k]
                nd = pu - dl[e_t[k]]
                if nd < pi[g]:
                    pi[g] = nd
                    pred[g], parc[g] = u, e_t[k]
                    if not inq[g]:
                        inq[g] = True
                        queue[qt] = g
                        qt = (qt + 1) % (N + 1)
                        qs += 1
                k = e_next[k]
                work += 1
        elif u < T:  # class: to its groups with room
            c = u - c0
            for i in range(cls_start[c], cls_start[c + 1]):
                g = cls_groups[i]
                if x[g] < g_size[g] and pu < pi[g]:
                    pi[g] = pu
                    pred[g], parc[g] = u, -1
                    if not inq[g]:
                        inq[g] = True
                        queue[qt] = g
                        qt = (qt + 1) % (N + 1)
                        qs += 1
            work += cls_start[c + 1] - cls_start[c]
        else:  # sink: back to sponsors with flow
            for j in range(n_s):
                if y[j] > 0 and pu < pi[s0 + j]:
                    pi[s0 + j] = pu
                    pred[s0 + j], parc[s0 + j] = u, -1
                    if not inq[s0 + j]:
                        inq[s0 + j] = True
                        queue[qt] = s0 + j
                        qt = (qt + 1) % (N + 1)
                        qs += 1
            work += n_s
        if work > budget:
            return pi, False
        scans += 1
        if scans >= check_every:
            scans = 0
            for v0 in range(N):  # parent-graph cycles: walk each chain, stamped with this walk's id
                if stamp[v0] != 0:
                    continue
                walk += 1
                v = v0
                while v >= 0 and stamp[v] == 0:
                    stamp[v] = walk
                    v = pred[v]
                if v >= 0 and stamp[v] == walk:  # back on this walk's own chain: a cycle through v
                    d, ok = _cc_cancel(
                        v,
                        pred,
                        parc,
                        x,
                        y,
                        gf,
                        g_loc,
                        g_size,
                        garc0,
                        s_cap,
                        loc_start,
                        nbr,
                        dl,
                        head,
                        e_next,
                        e_a,
                        e_g,
                        e_t,
                        free_top,
                        n_g,
                        c0,
                        T,
                    )
                    if not ok:
                        return pi, False
                    out[0] += d
                    if d < 0:
                        out[1] += 1
                    w = v  # the cycle's nodes: no parent now, and scanned again (their arcs changed)
                    while True:
                        nw = pred[w]
                        pred[w] = -1
                        if not inq[w]:
                            inq[w] = True
                            queue[qt] = w
                            qt = (qt + 1) % (N + 1)
                            qs += 1
                        w = nw
                        if w == v or w < 0:
                            break
            stamp[:] = 0
            walk = 0
    return pi, True


@nb.njit(cache=True)
def _nb_rows(g_loc, garc0, loc_start, nbr, gf):
    cnt = 0
    for a in range(len(gf)):
        if gf[a] > 0:
            cnt += 1
    out = np.empty((cnt, 3), np.int64)
    cnt = 0
    for g in range(len(g_loc)):
        loc = g_loc[g]
        for t in range(loc_start[loc], loc_start[loc + 1]):
            a = garc0[g] + t - loc_start[loc]
            if gf[a] > 0:
                out[cnt, 0], out[cnt, 1], out[cnt, 2] = g, nbr[t], gf[a]
                cnt += 1
    return out


def scaling_polish(
    *,
    n_c,
    n_g,
    n_s,
    tails,
    heads,
    caps,
    costs,
    flows,
    g_class,
    g_size,
    need,
    s_cap,
    loc_gstart,
    L,
    S,
    loc_start,
    nbr,
    distance0,
    gap_tolerance=0.0,
    alpha=8,
    max_phases=60,
    cert_check_factor=4,
    eps_start_m=500,
    band_m=250,
    n_bands=64,
    spfa_tol_m=20,
    n_cand=32,
    exact_prices_m=1,
    exact_prices_budget=3,
    cc_budget=20,
    cc_check_every=0.02,
    warm=None,
    warm_eps_m=8,
    loc_costs=None,
):
    """From the restricted optimum (OR-Tools flows on tails/heads) to the optimum over all within-radius arcs,
    or to a proven gap <= gap_tolerance x the lower bound. Same return shape as matching_exact.exact_polish."""
    t0 = time.process_time()
    g_size = g_size.astype(np.int64)
    s_cap = s_cap.astype(np.int64)
    # groups are sorted by location (polish builds them from loc * wmax + weight)
    g_loc = np.repeat(np.arange(len(loc_gstart) - 1), np.diff(loc_gstart)).astype(np.int64)
    deg = (loc_start[1:] - loc_start[:-1])[g_loc]
    garc0 = np.concatenate([[0], np.cumsum(deg)]).astype(np.int64)
    loc_used = np.zeros(len(loc_start) - 1, np.bool_)
    loc_used[g_loc] = True
    csr_nbr = nbr
    if loc_costs is None:
        nbr, dl = _nb_loc_costs(loc_start, csr_nbr, L.phi, L.lam, L.cos, S.phi, S.lam, S.cos, loc_used, band_m, n_bands)
    else:  # a warm attempt's, reused by the cold start after a miss
        nbr, dl = loc_costs
    if len(dl) and int(dl.max()) // band_m >= n_bands - 1:  # callers size n_bands from the radius
        raise ValueError("distance bands do not cover the radius: raise n_bands")
    n_bands = int(dl.max()) // band_m + 1 if len(dl) else 1  # bands in use (bound table width)
    bi = (dl // band_m).astype(np.int16)  # band of each arc: the bound lookups skip a division per arc
    t_costs = time.process_time()
    B = int(g_size.sum() + 2 * s_cap.sum() + (s_cap * s_cap).sum())
    K = np.int64(B + 1)
    gf = np.zeros(int(garc0[-1]), np.int32)
    pool = max(4 * int(s_cap.sum()), 1024)
    head = np.full(n_s, -1, np.int64)
    e_next = np.append(np.arange(1, pool), -1).astype(np.int64)
    e_a, e_g, e_t = (np.zeros(pool, np.int64) for _ in range(3))
    free_top = np.zeros(1, np.int64)
    ex = np.zeros(n_g + n_s + n_c + 1, np.int64)
    if warm is None:
        # restricted optimum: flows and Bellman-Ford potentials
        graph = build_graph(n_c + n_g + n_s + 1, tails, heads, caps, costs, flows, room=0)
        # potentials within spfa_tol_m of optimal on the restricted arcs: the first phase's eps is far larger
        pi, ok = _nb_spfa(graph["first"], graph["nxt"], graph["to"], graph["rcap"], graph["cost"], spfa_tol_m)
        if not ok:
            raise RuntimeError("restricted polish is not optimal (negative cycle)")
        m_g = len(tails) - n_g - n_s
        ga, gs, gfl = tails[n_g : n_g + m_g] - n_c, heads[n_g : n_g + m_g] - n_c - n_g, flows[n_g : n_g + m_g]
        used = gfl > 0
        x = flows[:n_g].astype(np.int64).copy()
        y = flows[n_g + m_g :].astype(np.int64).copy()
        # potentials in this module's node order (groups, sponsors, classes, sink), scaled
        p = np.concatenate([pi[n_c : n_c + n_g], pi[n_c + n_g : n_c + n_g + n_s], pi[:n_c], pi[-1:]]).astype(np.int64)
        p *= K
        rows_g, rows_j, rows_f = ga[used], gs[used], gfl[used].astype(np.int64)
    else:
        # warm start (module doc): the previous run's potentials (metres, per group / sponsor / class key; new
        # nodes start level with their class or the sink) and its flow where it still fits; the class and sink
        # excesses left by the changes are routed by the first phase, which starts at warm_eps_m
        p = np.rint(np.concatenate([warm["p_g"], warm["p_s"], warm["p_c"], [0.0]]) * float(K)).astype(np.int64)
        keep_a, _, keep_f, x, y, used_c = _nb_warm_flow(
            warm["rows_g"],
            warm["rows_j"],
            warm["rows_f"],
            g_loc,
            g_class,
            g_size,
            garc0,
            s_cap,
            need,
            loc_start,
            nbr,
        )
        kept = keep_a >= 0
        rows_g, rows_j, rows_f = warm["rows_g"][kept], warm["rows_j"][kept], keep_f[kept]
        ex[n_g + n_s : n_g + n_s + n_c] = need - used_c
        ex[-1] = int(y.sum()) - int(need.sum())
        distance0 = int((keep_f[kept] * dl[nb_arc_pos(rows_g, rows_j, g_loc, loc_start, nbr)]).sum())
    t_spfa = time.process_time()
    if not _nb_init(rows_g, rows_j, rows_f, g_loc, garc0, loc_start, nbr, gf, head, e_next, e_a, e_g, e_t, free_top):
        raise RuntimeError("entry pool too small")
    order = np.argsort(g_class, kind="stable")
    cls_start = np.searchsorted(g_class[order], np.arange(n_c + 1)).astype(np.int64)
    cls_groups = order.astype(np.int64)
    eps = _nb_max_violation(g_loc, garc0, g_size, s_cap, loc_start, nbr, dl, K, p, n_g, gf)
    max_violation = int(eps)
    t_init = time.process_time()
    if warm is not None:
        eps = min(eps, np.int64(warm_eps_m * alpha) * K)
    elif eps_start_m is not None:  # start lower: the saturation step makes any eps valid (module doc)
        eps = min(eps, np.int64(eps_start_m * alpha) * K)
    counters = np.zeros(8, np.int64)
    # per group: up to n_cand candidate arcs (row offsets, best q = p_j - d K first) and qx, an upper bound on q
    # over its residual arcs outside the list (valid while potentials only fall; unbuilt: +inf)
    cand = np.zeros((n_g, n_cand), np.int32)
    ncand = np.zeros(n_g, np.int64)
    qx = np.full(n_g, np.int64(2**62))
    distance = int(distance0)
    trace = [(0, int(eps), distance, round(time.process_time() - t0, 3), -1)]
    phases = 0
    pcert_of = lambda p: np.concatenate([p[n_g + n_s : n_g + n_s + n_c], p[:n_g], p[n_g : n_g + n_s], p[-1:]])  # noqa
    cert_calls = 0
    price_calls, cpu_prices, exact_p, cycles = 0, 0.0, None, 0
    if warm is not None and not ex.any():  # the previous flow still fits as is: it may still be optimal
        tp = time.process_time()
        pi_m, ok = _nb_exact_prices(
            p,
            K,
            x,
            y,
            gf,
            g_loc,
            g_class,
            g_size,
            garc0,
            s_cap,
            cls_start,
            cls_groups,
            loc_start,
            nbr,
            dl,
            head,
            e_next,
            e_g,
            e_t,
            np.int64(exact_prices_budget * max(int(garc0[-1]), 1)),
        )
        price_calls += 1
        cpu_prices += time.process_time() - tp
        if ok:
            exact_p = pi_m
            trace.append((0, int(eps), distance, round(time.process_time() - t0, 3), -2))
    if warm is not None and exact_p is None:
        # Measured: routing even a 2% change from the previous duals at a fine eps is slower than the cold
        # start (docs/matching.md), so a warm start is all or nothing: the caller falls back to the cold path.
        return None, {"cpu_warm_miss_s": round(time.process_time() - t0, 3), "_loc_costs": (nbr, dl)}
    while eps > 1 and phases < max_phases and exact_p is None:
        eps = max(eps // alpha, 1)
        acc = np.zeros(1, np.int64)
        while not _nb_refine(
            eps,
            K,
            p,
            x,
            y,
            gf,
            g_loc,
            g_class,
            g_size,
            garc0,
            s_cap,
            cls_start,
            cls_groups,
            loc_start,
            nbr,
            dl,
            head,
            e_next,
            e_a,
            e_g,
            e_t,
            free_top,
            ex,
            acc,
            counters,
            band_m,
            n_bands,
            loc_used,
            cand,
            ncand,
            qx,
            bi,
        ):
            # entry pool full: double it (the new block becomes the free list) and continue the phase
            old = len(e_next)
            e_next = np.concatenate([e_next, np.append(np.arange(old + 1, 2 * old), -1)]).astype(np.int64)
            free_top[0] = old
            e_a, e_g, e_t = (np.concatenate([v, np.zeros(old, np.int64)]) for v in (e_a, e_g, e_t))
        distance += int(acc[0])
        phases += 1
        # Stop test, from the certificate: eps x B bounds its gap (module doc); once that bound is within
        # cert_check_factor x the target, the certificate itself (one pass over all arcs) decides.
        target = gap_tolerance * distance * int(K) / (1 + gap_tolerance)  # gap <= tol x (distance - gap)
        bound = int(eps) * B
        gap_now = -1
        if bound < int(K) or bound <= target:
            trace.append((phases, int(eps), distance, round(time.process_time() - t0, 3), -1))
            break
        if bound <= cert_check_factor * max(target, int(K)):
            rows = _nb_rows(g_loc, garc0, loc_start, nbr, gf)
            _, gap_now = _nb_certify(
                rows[:, 0],
                rows[:, 1],
                rows[:, 2],
                g_class,
                g_size,
                need,
                s_cap,
                pcert_of(p),
                loc_start,
                csr_nbr,
                loc_gstart,
                L.phi,
                L.lam,
                L.cos,
                S.phi,
                S.lam,
                S.cos,
                K,
            )
            cert_calls += 1
        trace.append((phases, int(eps), distance, round(time.process_time() - t0, 3), int(gap_now) // int(K)))
        if gap_now >= 0 and (gap_now < int(K) or gap_now <= target):
            break
        if exact_prices_m is not None and int(eps) <= exact_prices_m * int(K) and bound >= int(K):
            # Price refinement: the flow is often optimal long before eps x B < K (the sub-metre phases only
            # tighten potentials). Integer potentials with no negative residual reduced cost prove it; the
            # negative cycles the pass meets on the way are cancelled (``_nb_exact_prices_cc``).
            tp = time.process_time()
            cc_out = np.zeros(2, np.int64)
            pi_m, ok = _nb_exact_prices_cc(
                p,
                K,
                x,
                y,
                gf,
                g_loc,
                g_class,
                g_size,
                garc0,
                s_cap,
                cls_start,
                cls_groups,
                loc_start,
                nbr,
                dl,
                head,
                e_next,
                e_a,
                e_g,
                e_t,
                free_top,
                np.int64(cc_budget * max(int(garc0[-1]), 1)),
                np.int64(max(cc_check_every * (n_g + n_s), 1)),
                cc_out,
            )
            price_calls += 1
            cpu_prices += time.process_time() - tp
            distance += int(cc_out[0])
            cycles += int(cc_out[1])
            if cc_out[1] and not ok:  # arcs got room back: the candidate lists' bounds no longer hold
                qx[:] = np.int64(2**62)
            if ok:
                exact_p = pi_m
                trace.append((phases, int(eps), distance, round(time.process_time() - t0, 3), -2))
                break
    rows = _nb_rows(g_loc, garc0, loc_start, nbr, gf)
    rows = rows[np.lexsort((rows[:, 1], rows[:, 0]))]
    t_cert = time.process_time()
    K_cert = K
    if exact_p is not None:  # integer potentials in metres (price refinement): the certificate runs unscaled
        p, K_cert = exact_p, np.int64(1)
    pcert = pcert_of(p)
    feasible, gap_scaled = _nb_certify(
        rows[:, 0],
        rows[:, 1],
        rows[:, 2],
        g_class,
        g_size,
        need,
        s_cap,
        pcert,
        loc_start,
        csr_nbr,
        loc_gstart,
        L.phi,
        L.lam,
        L.cos,
        S.phi,
        S.lam,
        S.cos,
        K_cert,
    )
    t_end = time.process_time()
    if not feasible:
        raise RuntimeError("cost scaling produced an infeasible flow")
    gap = int(gap_scaled) // int(K_cert)  # the true gap is an integer number of metres <= gap_scaled / K
    stats = {
        "certified_optimal": bool(gap == 0),
        "distance_gap_bound_m": gap,
        "distance_method": "scaling",
        "cs_phases": phases,
        "cs_alpha": alpha,
        "cs_scale_k": int(K),
        "cs_eps_last": int(eps),
        "cs_relabels_group": int(counters[0]),
        "cs_relabels_sponsor": int(counters[1]),
        "cs_relabels_hub": int(counters[2]),
        "cs_pushes": int(counters[3]),
        "cs_relabel_arcs": int(counters[4]),
        "cs_builds": int(counters[6]),
        "cs_scan_arcs": int(counters[5]),
        "cs_certify_calls": cert_calls,
        "cs_price_refinements": price_calls,
        "cs_exact_prices": exact_p is not None,
        "cpu_price_refine_s": round(cpu_prices, 3),
        "cs_cycles_cancelled": cycles,
        "cs_max_violation_m": max_violation // int(K),
        "cs_groups": n_g,
        "cs_group_arcs": int(garc0[-1]),
        "cpu_costs_s": round(t_costs - t0, 3),
        "cpu_spfa_s": round(t_spfa - t_costs, 3),
        "cpu_init_s": round(t_init - t_spfa, 3),
        "cpu_certify_s": round(t_end - t_cert, 3),
        "cpu_exact_polish_s": round(t_end - t0, 3),
        "cs_trace": trace,
    }
    p_m = p.astype(np.float64) / float(K_cert)
    stats["_warm_state"] = {  # for the next run's warm start (popped by the caller)
        "p_g": p_m[:n_g] - p_m[-1],
        "p_s": p_m[n_g : n_g + n_s] - p_m[-1],
        "p_c": p_m[n_g + n_s : n_g + n_s + n_c] - p_m[-1],
        "rows": rows,
    }
    stats["cs_warm_start"] = warm is not None
    return rows, stats
