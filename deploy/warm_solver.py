"""Compile the matching solver's numba kernels once, into the image (Dockerfile, build stage).

Without it the first matching run of every fresh container compiles them (~20-60 s of CPU on top of the run:
numba caches next to the sources, `cache=True`). One small solve on a random instance takes every path a regency
run takes: the augmenting pass, the restricted polish, the exact distance step, a warm start and a warm miss.
Numba recompiles on a host whose CPU differs from the build host's; the cache then only costs its lookup.

    python deploy/warm_solver.py        # prints the seconds it took
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    import numpy as np

    os.environ.setdefault("MATCHING_WARM_CACHE_DIR", tempfile.mkdtemp(prefix="pengampu-warm-build-"))
    from sponsorship.matching.solver.strategies import SponsorPoints, WorkerPoints, solve_matching

    rng = np.random.default_rng(7)
    n_s, n_w = 600, 1_800
    lat0, lon0 = -7.87, 111.46  # Ponorogo; a 12 km square
    sponsors = SponsorPoints(
        np.arange(1, n_s + 1),
        lat0 + rng.uniform(0, 0.11, n_s),
        lon0 + rng.uniform(0, 0.11, n_s),
        rng.integers(0, 4, n_s),
    )
    keep = rng.random(n_w)
    workers = WorkerPoints(
        np.arange(1, n_w + 1),
        lat0 + rng.uniform(0, 0.11, n_w),
        lon0 + rng.uniform(0, 0.11, n_w),
        rng.integers(0, 11, n_w),
        keep < 0.1,
    )
    t0 = time.perf_counter()
    kw = {"radius_m": 5_000, "exact_arc_limit": 1_000, "exact_distance": True, "warm_start_key": "build"}
    solve_matching(sponsors, workers, **kw)  # cold: every kernel of the exact path
    solve_matching(sponsors, workers, **kw)  # warm hit
    m = keep > 0.05
    fewer = WorkerPoints(workers.ids[m], workers.lat[m], workers.lon[m], workers.decile[m], workers.about_to_lapse[m])
    solve_matching(sponsors, fewer, **kw)  # warm miss (workers gone)
    solve_matching(sponsors, workers, radius_m=5_000, exact_arc_limit=1_000)  # the fast path
    print(f"matching solver kernels compiled and cached in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
