"""Distances and radius search for the matching solver (NumPy only, no Django).

Distance convention used everywhere in matching (solver, greedy, exact reference, tests):
``distance_m`` = Earth radius x sqrt(dphi^2 + (cos_mid * dlambda)^2), the equirectangular
formula evaluated at the pair's own mid latitude (cos_mid = mean of the two cosines). For
pairs up to 10 km its difference from haversine is below 1 cm (see test_distance_matches_
haversine), so it is "haversine" for every practical purpose while costing no trig per pair.
A pair is within the radius when that float distance is <= radius_m; the integer metres used
as cost and reported in results are ``round(distance)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in metres (degrees in); used to check the fast formula."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h))


@dataclass(frozen=True)
class GeoArrays:
    """Points prepared once: radians, cosine of latitude, and planar metres for indexing."""

    phi: np.ndarray
    lam: np.ndarray
    cos: np.ndarray
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.phi)


def prepare(lat: np.ndarray, lon: np.ndarray, ref_cos: float) -> GeoArrays:
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    return GeoArrays(phi, lam, np.cos(phi), EARTH_RADIUS_M * ref_cos * lam, EARTH_RADIUS_M * phi)


def distance_m(a: GeoArrays, ia, b: GeoArrays, ib) -> np.ndarray:
    """Distance between a[ia] and b[ib] (broadcasting index arrays), float metres."""
    dphi = a.phi[ia] - b.phi[ib]
    dlam = (a.lam[ia] - b.lam[ib]) * (0.5 * (a.cos[ia] + b.cos[ib]))
    return EARTH_RADIUS_M * np.sqrt(dphi * dphi + dlam * dlam)


def prepare_pair(lat_a, lon_a, lat_b, lon_b) -> tuple[GeoArrays, GeoArrays, float]:
    """Prepare two point sets on one shared plane.

    The plane uses the cosine of the latitude nearest the equator, so planar distance is never
    shorter than the true one; ``stretch`` bounds how much longer it can be (1.002 for a
    60 km regency), and radius searches on the plane use radius * stretch.
    """
    all_lat = np.concatenate([np.asarray(lat_a, float), np.asarray(lat_b, float)])
    if len(all_lat) == 0:
        ref_cos, stretch = 1.0, 1.0
    else:
        cos_all = np.cos(np.radians(all_lat))
        ref_cos, stretch = float(cos_all.max()), float(cos_all.max() / cos_all.min())
    return prepare(lat_a, lon_a, ref_cos), prepare(lat_b, lon_b, ref_cos), stretch * (1 + 1e-9)


class Grid:
    """Points of one set bucketed in square cells of the shared plane (cell >= 1 m)."""

    def __init__(self, pts: GeoArrays, cell_m: float, x0: float, y0: float, width: int):
        self.cell, self.x0, self.y0, self.width = cell_m, x0, y0, width
        cx = ((pts.x - x0) // cell_m).astype(np.int64)
        cy = ((pts.y - y0) // cell_m).astype(np.int64)
        key = cy * width + cx
        self.order = np.argsort(key, kind="stable")
        self.keys = key[self.order]
        self.cx, self.cy = cx, cy

    def slice_of(self, key_lo: int, key_hi: int) -> np.ndarray:
        lo, hi = np.searchsorted(self.keys, [key_lo, key_hi + 1])
        return self.order[lo:hi]


def grids_for(a: GeoArrays, b: GeoArrays, cell_m: float) -> tuple[Grid, Grid]:
    x0 = min(a.x.min(), b.x.min()) - 1.0
    y0 = min(a.y.min(), b.y.min()) - 1.0
    x1 = max(a.x.max(), b.x.max()) + 1.0
    width = int((x1 - x0) // cell_m) + 8  # margin: a row's +-2 columns never wrap
    return Grid(a, cell_m, x0, y0, width), Grid(b, cell_m, x0, y0, width)


def iter_pair_blocks(
    a: GeoArrays,
    b: GeoArrays,
    radius_m: float,
    stretch: float,
    *,
    max_block: int = 1_500_000,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield (ia, ib, dist) for every pair with distance <= radius_m, in bounded blocks.

    Deterministic order. Each a-cell is matched with the rows of b-cells that can hold a point
    within reach; a-points are chunked so one dense block stays under ``max_block`` entries.
    """
    if len(a) == 0 or len(b) == 0:
        return
    reach = radius_m * stretch + 1.0
    cell = max(reach / 2.0, 1.0)
    ga, gb = grids_for(a, b, cell)
    r = 2  # cell = reach / 2
    cells, starts = np.unique(ga.keys, return_index=True)
    ends = np.append(starts[1:], len(ga.keys))
    for key, s, e in zip(cells.tolist(), starts.tolist(), ends.tolist(), strict=True):
        cy, cx = divmod(key, ga.width)
        parts = []
        for dy in range(-r, r + 1):
            # Rows farther than reach in y contribute nothing; columns are trimmed likewise.
            gap_y = max(abs(dy) - 1, 0) * cell
            if gap_y > reach:
                continue
            span = r if gap_y == 0 else int(np.ceil(np.sqrt(reach**2 - gap_y**2) / cell))
            row = (cy + dy) * gb.width
            parts.append(gb.slice_of(row + cx - span, row + cx + span))
        ib_all = np.concatenate(parts) if parts else np.empty(0, np.int64)
        if len(ib_all) == 0:
            continue
        ia_cell = ga.order[s:e]
        step = max(1, max_block // len(ib_all))
        for k in range(0, len(ia_cell), step):
            ia = ia_cell[k : k + step]
            d = distance_m(a, ia[:, None], b, ib_all[None, :])
            ri, rj = np.nonzero(d <= radius_m)
            if len(ri):
                yield ia[ri], ib_all[rj], d[ri, rj]
