"""Exact distance step: price refinement (early stop) and warm starts from the previous run's duals.

Pure NumPy/OR-Tools: no database. Every result is checked against the full-arc OR-Tools reference and must
carry the certificate (gap 0), whatever the warm state was.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.matching_reference import solve_exact_reference
from bench.synthetic import generate_regency
from sponsorship.matching.solver import warm
from sponsorship.matching.solver.strategies import SponsorPoints, WorkerPoints, get_policy, solve_matching

KW = {"radius_m": 5_000, "exact_arc_limit": 100_000, "exact_distance": True}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MATCHING_WARM_CACHE_DIR", str(tmp_path))
    return tmp_path


def _check(res, ref):
    assert res.method == "augmenting"
    assert (res.covered_weight, res.total_distance_m) == (ref.covered_weight, ref.total_distance_m)
    assert res.stats["certified_optimal"] is True and res.stats["distance_gap_bound_m"] == 0


def _perturbed(reg, seed=1):
    """2% of the workers gone, 10% of the sponsors with another free capacity."""
    rng = np.random.default_rng(seed)
    w, s = reg.workers, reg.sponsors
    keep = rng.random(len(w.ids)) > 0.02
    w2 = WorkerPoints(w.ids[keep], w.lat[keep], w.lon[keep], w.decile[keep], w.about_to_lapse[keep])
    cap = s.capacity.copy()
    ch = rng.random(len(cap)) < 0.1
    cap[ch] = rng.integers(0, 4, int(ch.sum()))
    return SponsorPoints(s.ids, s.lat, s.lon, cap), w2


@pytest.mark.parametrize("policy", ["lowest_decile_first", "uniform"])
def test_price_refinement_stops_early_with_a_certificate(policy):
    """Integer potentials found on the eps-optimal flow end the run before eps x B < K: the same (W, D) as the
    reference, certified with unscaled potentials, in fewer phases than the bound alone would need."""
    reg = generate_regency(scale=0.05, seed=3)
    pol = get_policy(policy)
    ref = solve_exact_reference(reg.sponsors, reg.workers, radius_m=5_000, policy=pol)
    res = solve_matching(reg.sponsors, reg.workers, policy=pol, **KW)
    _check(res, ref)
    st = res.stats
    assert st["cs_exact_prices"] is True and st["cs_price_refinements"] >= 1
    assert st["cs_eps_last"] > 1  # stopped before the last scaled phase


def test_warm_start_from_the_previous_run(cache):
    """Same regency again: the previous flow still fits and the repaired duals prove it optimal - no restricted
    polish, no phase; the certificate is recomputed from scratch. The pairs are the cold run's."""
    reg = generate_regency(scale=0.05, seed=3)
    ref = solve_exact_reference(reg.sponsors, reg.workers, radius_m=5_000, policy=get_policy("lowest_decile_first"))
    cold = solve_matching(reg.sponsors, reg.workers, **KW, warm_start_key="regency-7")
    _check(cold, ref)
    assert cold.stats["cs_warm_start"] is False
    files = list(cache.glob("*.npz"))
    assert [f.name for f in files] == ["regency-7-r5000-lowest_decile_first.npz"]
    again = solve_matching(reg.sponsors, reg.workers, **KW, warm_start_key="regency-7")
    _check(again, ref)
    assert again.stats["cs_warm_start"] is True and again.stats["cs_phases"] == 0
    assert "distance_restricted_m" not in again.stats and "warm_miss" not in again.stats
    assert np.array_equal(again.pairs, cold.pairs)
    # another policy or radius is another key: a cold start
    other = solve_matching(reg.sponsors, reg.workers, **KW, policy=get_policy("uniform"), warm_start_key="regency-7")
    assert other.stats["cs_warm_start"] is False and len(list(cache.glob("*.npz"))) == 2


def test_warm_start_after_changes_falls_back_to_a_warm_assisted_cold_start(cache):
    """Workers gone and capacities changed: the previous flow no longer fits, so the run starts cold (measured:
    routing the difference from the old duals is slower), its restricted network widened by the previous run's
    pairs that are still within the radius - and is still exactly the reference's optimum."""
    reg = generate_regency(scale=0.05, seed=3)
    solve_matching(reg.sponsors, reg.workers, **KW, warm_start_key="regency-7")
    s2, w2 = _perturbed(reg)
    ref = solve_exact_reference(s2, w2, radius_m=5_000, policy=get_policy("lowest_decile_first"))
    res = solve_matching(s2, w2, **KW, warm_start_key="regency-7")
    _check(res, ref)
    assert res.stats["warm_miss"] is True and res.stats["cs_warm_start"] is False
    assert res.stats["warm_arcs_added"] > 0  # pairs of the previous optimum outside the k-nearest arcs
    # without a cache the same changed regency gives the same optimum, with the narrower restricted network
    plain = solve_matching(s2, w2, **KW)
    _check(plain, ref)
    assert "warm_arcs_added" not in plain.stats
    assert plain.stats["polish_arcs"] < res.stats["polish_arcs"]
    assert res.stats["distance_restricted_m"] <= plain.stats["distance_restricted_m"]
    # the new state replaced the old one: the same changed regency again is a warm hit
    again = solve_matching(s2, w2, **KW, warm_start_key="regency-7")
    _check(again, ref)
    assert again.stats["cs_warm_start"] is True


def test_a_foreign_or_broken_cache_file_only_costs_time(cache):
    """Another regency's state under this key (nothing in common) and an unreadable file: cold starts,
    the optimum either way."""
    a, b = generate_regency(scale=0.05, seed=3), generate_regency(scale=0.05, seed=4)
    solve_matching(a.sponsors, a.workers, **KW, warm_start_key="k")
    ref = solve_exact_reference(b.sponsors, b.workers, radius_m=5_000, policy=get_policy("lowest_decile_first"))
    res = solve_matching(b.sponsors, b.workers, **KW, warm_start_key="k")
    _check(res, ref)
    assert res.stats["cs_warm_start"] is False
    (cache / "k-r5000-lowest_decile_first.npz").write_bytes(b"not a numpy file")
    assert warm.load("k-r5000-lowest_decile_first") is None
    res = solve_matching(b.sponsors, b.workers, **KW, warm_start_key="k")
    _check(res, ref)


def test_location_keys_hash_coordinates():
    phi = np.array([0.1, 0.1, 0.2])
    lam = np.array([1.9, 1.9, 1.9])
    k = warm.location_keys(phi, lam)
    assert k.dtype == np.int64 and k[0] == k[1] != k[2]
    assert warm.location_keys(lam[:1], phi[:1])[0] != k[0]  # order matters
