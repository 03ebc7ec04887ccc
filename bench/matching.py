"""Benchmark: greedy vs solve_matching vs the full-arc exact reference on a synthetic regency.

    python -m bench.matching                 # scale 1: 14,000 sponsors, 42,000 workers
    python -m bench.matching --scale 10      # 140,000 / 420,000 (exact skipped unless --exact)
    python -m bench.matching --with-db       # then the PostgreSQL end-to-end run (bench/matching_e2e.py)
    python -m bench.matching --methods solver,solver_gap05,solver_exact,exact   # + the certified distance step

Each method runs in its own subprocess so peak memory (ru_maxrss, and tracemalloc of the solve
itself in a separate run) is its own. Times: median of --repeats solves, wall and CPU (the
machine is shared; CPU time is the steadier figure). ``--with-db`` then runs the end-to-end
benchmark (bench/matching_e2e.py) on the same regency and policy.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from bench.matching_reference import solve_exact_reference, solve_greedy
from bench.synthetic import generate_regency
from sponsorship.matching.solver.strategies import (
    get_policy,
    solve_matching,
)


def solve_matching_exact_distance(sponsors, workers, **kw):
    """The augmenting path with the certified distance step (cost scaling + dual certificate), run to optimal."""
    return solve_matching(sponsors, workers, exact_distance=True, **kw)


def solve_matching_gap05(sponsors, workers, **kw):
    """The same, stopped once the certificate proves the distance within 0.5% of the optimum."""
    return solve_matching(sponsors, workers, exact_distance=True, gap_tolerance=0.005, **kw)


def solve_matching_repair(sponsors, workers, **kw):
    """The earlier certified distance step (column generation with one-arc Dijkstra repairs): minutes at scale 1."""
    return solve_matching(sponsors, workers, exact_distance=True, distance_method="repair", **kw)


METHODS = {
    "greedy": solve_greedy,
    "solver": solve_matching,
    "solver_exact": solve_matching_exact_distance,
    "solver_gap05": solve_matching_gap05,
    "solver_repair": solve_matching_repair,
    "exact": solve_exact_reference,
}
# single solve, no tracemalloc re-run (tens of seconds to minutes of CPU at scale 1)
SINGLE_RUN = {"exact", "solver_exact", "solver_gap05", "solver_repair"}


def with_db(*, scale: float, seed: int, policy: str, repeats: int) -> None:
    """End to end on PostgreSQL (bench/matching_e2e.py: DB read -> solve -> preview -> apply writes) for the
    same synthetic regency, in its own process; prints its per-run lines and medians."""
    cmd = [
        sys.executable,
        str(Path(__file__).with_name("matching_e2e.py")),
        "--scale",
        str(scale),
        "--seed",
        str(seed),
        "--policy",
        policy,
        "--repeat",
        str(repeats),
    ]
    subprocess.run(cmd, check=True)


def run_one(method: str, scale: float, seed: int, radius_m: int, policy: str, repeats: int) -> dict:
    """Runs inside the child process; returns one row of figures."""
    reg = generate_regency(scale=scale, seed=seed)
    fn, pol = METHODS[method], get_policy(policy)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    walls, cpus = [], []
    for _ in range(repeats):
        c0 = time.process_time()
        res = fn(reg.sponsors, reg.workers, radius_m=radius_m, policy=pol)
        cpus.append(time.process_time() - c0)
        walls.append(res.solve_seconds)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = float("nan")
    if method not in SINGLE_RUN:
        tracemalloc.start()
        fn(reg.sponsors, reg.workers, radius_m=radius_m, policy=pol)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "method": method,
        "result_method": res.method,
        "wall_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "repeats": repeats,
        "tracemalloc_peak_mb": peak / 2**20,
        "maxrss_mb": rss_after / 1024,
        "maxrss_before_solve_mb": rss_before / 1024,
        "covered": res.covered_count,
        "weight": res.covered_weight,
        "total_distance_m": res.total_distance_m,
        "mean_m": res.mean_distance_m,
        "max_m": res.max_distance_m,
        "per_decile": res.per_decile,
        "stats": {k: v for k, v in res.stats.items() if isinstance(v, (int, float, bool, str))},
        "sponsors": len(reg.sponsors.ids),
        "free_slots": int(reg.sponsors.capacity.sum()),
        "workers": len(reg.workers.ids),
    }


def run_in_subprocess(method, args) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "bench.matching",
        "--child",
        method,
        "--scale",
        str(args.scale),
        "--seed",
        str(args.seed),
        "--radius",
        str(args.radius),
        "--policy",
        args.policy,
        "--repeats",
        str(1 if method in SINGLE_RUN else args.repeats),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_table(rows: list[dict]) -> None:
    exact = next((r for r in rows if r["method"] == "exact"), None)
    r0 = rows[0]
    print(f"\nregency: {r0['sponsors']:,} sponsors ({r0['free_slots']:,} free slots), {r0['workers']:,} workers")
    head = (
        f"{'method':<12} {'wall s':>7} {'cpu s':>7} {'trace MB':>8} {'rss MB':>7} {'covered':>8} "
        f"{'weight':>10} {'% opt':>7} {'total dist m':>13} {'vs exact':>8} {'mean m':>7} {'max m':>6}  "
        f"covered by decile 0..10"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        pct = f"{100 * r['weight'] / exact['weight']:.2f}" if exact and exact["weight"] else "n/a"
        dec = " ".join(
            str(r["per_decile"][str(d)] if str(d) in r["per_decile"] else r["per_decile"][d]) for d in range(11)
        )
        vs = (
            f"{100 * (r['total_distance_m'] / exact['total_distance_m'] - 1):+.2f}%"
            if exact and exact["total_distance_m"]
            else "n/a"
        )
        print(
            f"{r['method']:<12} {r['wall_s']:>7.2f} {r['cpu_s']:>7.2f} {r['tracemalloc_peak_mb']:>8.0f} "
            f"{r['maxrss_mb']:>7.0f} {r['covered']:>8,} {r['weight']:>10,} {pct:>7} "
            f"{r['total_distance_m']:>13,} {vs:>8} {r['mean_m']:>7.0f} {r['max_m']:>6}  {dec}"
        )
    solver = next((r for r in rows if r["method"] == "solver"), None)
    if exact and solver:
        print(
            f"\nsolver / exact time: wall {solver['wall_s'] / exact['wall_s']:.3f}, "
            f"cpu {solver['cpu_s'] / exact['cpu_s']:.3f}; total distance solver "
            f"{solver['total_distance_m']:,} m vs exact {exact['total_distance_m']:,} m"
        )
    greedy = next((r for r in rows if r["method"] == "greedy"), None)
    if greedy and solver:
        print(
            f"solver / greedy: weight {solver['weight'] / greedy['weight']:.4f}, covered "
            f"{solver['covered'] / greedy['covered']:.4f}, cpu {solver['cpu_s'] / greedy['cpu_s']:.2f}"
        )
    if solver:
        print("solver stats:", solver["stats"])
    for r in rows:
        st = r["stats"]
        if "certified_optimal" not in st:
            continue
        gap = st["distance_gap_bound_m"]
        lower = r["total_distance_m"] - gap
        print(
            f"{r['method']} certificate: certified_optimal={st['certified_optimal']}, proven gap {gap:,} m "
            f"(total distance {r['total_distance_m']:,} m, dual lower bound {lower:,} m, at most "
            f"{100 * gap / max(lower, 1):.3f}% above the optimum); "
            + (
                f"{st['cs_phases']} cost-scaling phases (alpha {st['cs_alpha']}, last eps {st['cs_eps_last']} / K "
                f"{st['cs_scale_k']}), {st['cs_certify_calls']} certificate checks, "
                if st.get("distance_method") == "scaling"
                else f"{st['cg_rounds']} pricing rounds, {st['cg_arcs_added']:,} arcs added, "
            )
            + f"restricted polish {st['distance_restricted_m']:,} m, cpu exact step {st['cpu_exact_polish_s']} s"
        )
        if exact:
            ok = (r["weight"], r["total_distance_m"]) == (exact["weight"], exact["total_distance_m"])
            print(f"{r['method']} (W, D) equals the exact reference's: {ok}")


def main() -> None:
    ap = argparse.ArgumentParser(description="matching benchmark")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=20240101)
    ap.add_argument("--radius", type=int, default=5_000)
    ap.add_argument("--policy", default="lowest_decile_first")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--methods", default="greedy,solver,exact")
    ap.add_argument("--exact", action="store_true", help="run the exact reference above scale 1")
    ap.add_argument("--with-db", action="store_true", help="then run bench/matching_e2e.py (PostgreSQL)")
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.scale, args.seed, args.radius, args.policy, args.repeats)))
        return
    methods = args.methods.split(",")
    if args.scale > 1 and not args.exact and "exact" in methods:
        methods.remove("exact")
        print("exact reference skipped above scale 1 (pass --exact; ~10x the arcs of scale 1)")
    rows = []
    load0 = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    for m in methods:
        print(f"running {m} ...", file=sys.stderr, flush=True)
        rows.append(run_in_subprocess(m, args))
    print(f"load average before: {load0}, after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print_table(rows)
    if args.with_db:
        print("\nend to end on PostgreSQL (DATABASE_URL, default pengampu_pmatch_bench):", flush=True)
        with_db(scale=args.scale, seed=args.seed, policy=args.policy, repeats=args.repeats)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
