"""Synthetic regency for matching benchmarks (reusable by other benchmarks; NumPy only).

Shape (scale 1): 14,000 sponsors and 42,000 workers over a 60 x 60 km regency centred near
Ponorogo (-7.87, 111.46), 300 villages. A quarter of the villages form a town (spread ~4 km)
where civil servants live: ~57% of sponsors, but fewer workers per village than the
countryside. Points scatter ~1 km around their village centre; 55% of workers have no precise
coordinates and sit on the village centre (what the registry gives). Free capacity 0-3
(mean 1.8), deciles skewed to the poorest, 8% unknown decile, 12% "about to lapse". About 22
million sponsor-worker pairs lie within 5 km (free capacity > 0), as in the issue's instance.

``scale`` multiplies counts and area (side x sqrt(scale)), keeping density: scale 10 is
140,000 / 420,000 over ~190 x 190 km, a province-like run.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from sponsorship.matching.solver.strategies import SponsorPoints, WorkerPoints

CENTRE_LAT, CENTRE_LON = -7.87, 111.46
M_PER_DEG_LAT = 111_195.0

DECILE_P = np.array([0.08, 0.20, 0.18, 0.15, 0.12, 0.09, 0.07, 0.05, 0.03, 0.02, 0.01])  # 0..10
CAPACITY_P = np.array([0.12, 0.23, 0.35, 0.30])  # free capacity 0, 1, 2, 3


@dataclass(frozen=True)
class SyntheticRegency:
    sponsors: SponsorPoints
    workers: WorkerPoints
    village_lat: np.ndarray
    village_lon: np.ndarray
    seed: int
    scale: float


def generate_regency(
    *,
    scale: float = 1.0,
    seed: int = 20240101,
    n_sponsors: int = 14_000,
    n_workers: int = 42_000,
    side_km: float = 60.0,
    n_villages: int = 300,
    precise_worker_share: float = 0.45,
) -> SyntheticRegency:
    rng = np.random.default_rng(seed)
    ns, nw, nv = int(n_sponsors * scale), int(n_workers * scale), int(n_villages * scale)
    side = side_km * 1000.0 * np.sqrt(scale)
    half = side / 2

    # Villages: a town cluster (several towns at larger scales) and a rural spread.
    n_towns = max(1, int(round(scale)))
    towns = rng.uniform(-half * 0.6, half * 0.6, size=(n_towns, 2))
    towns[0] = (0.0, 0.0)
    n_town_v = nv // 4
    tv = towns[rng.integers(0, n_towns, n_town_v)] + rng.normal(0, 4_000, (n_town_v, 2))
    rv = rng.uniform(-half, half, size=(nv - n_town_v, 2))
    villages = np.clip(np.vstack([tv, rv]), -half, half)
    is_town = np.arange(nv) < n_town_v
    population = rng.lognormal(0.0, 0.5, nv)

    def place(n, village_p, spread_m):
        v = rng.choice(nv, size=n, p=village_p / village_p.sum())
        return v, villages[v] + rng.normal(0, spread_m / 2, (n, 2))

    # Sponsors: half of them in town villages.
    sp_p = population * np.where(is_town, 4.0, 1.0)  # ~57% of sponsors live in town villages
    _, s_xy = place(ns, sp_p, 1_000)
    w_p = population * np.where(is_town, 0.3, 1.0)
    w_vil, w_xy = place(nw, w_p, 1_000)
    no_coords = rng.random(nw) >= precise_worker_share
    w_xy[no_coords] = villages[w_vil[no_coords]]

    def to_latlon(xy):
        lat = CENTRE_LAT + xy[:, 1] / M_PER_DEG_LAT
        lon = CENTRE_LON + xy[:, 0] / (M_PER_DEG_LAT * np.cos(np.radians(CENTRE_LAT)))
        return np.round(lat, 6), np.round(lon, 6)

    s_lat, s_lon = to_latlon(s_xy)
    w_lat, w_lon = to_latlon(w_xy)
    v_lat, v_lon = to_latlon(villages)
    w_lat[no_coords], w_lon[no_coords] = v_lat[w_vil[no_coords]], v_lon[w_vil[no_coords]]
    sponsors = SponsorPoints(
        ids=rng.permutation(ns).astype(np.int64) + 1,
        lat=s_lat,
        lon=s_lon,
        capacity=rng.choice(4, size=ns, p=CAPACITY_P).astype(np.int64),
    )
    workers = WorkerPoints(
        ids=rng.permutation(nw).astype(np.int64) + 1_000_001,
        lat=w_lat,
        lon=w_lon,
        decile=rng.choice(11, size=nw, p=DECILE_P).astype(np.int64),
        about_to_lapse=rng.random(nw) < 0.12,
        village_ids=w_vil.astype(np.int64) + 1,
    )
    return SyntheticRegency(sponsors, workers, v_lat, v_lon, seed, scale)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=20240101)
    args = ap.parse_args()
    reg = generate_regency(scale=args.scale, seed=args.seed)
    s, w = reg.sponsors, reg.workers
    print(f"sponsors {len(s.ids):,} (free slots {int(s.capacity.sum()):,}), workers {len(w.ids):,}")
    print("distinct worker locations", len(np.unique(np.c_[w.lat, w.lon], axis=0)))
    print("decile counts", np.bincount(w.decile, minlength=11).tolist())
