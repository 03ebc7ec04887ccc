"""Benchmark: the certified distance step at 1x and 10x regency size, this branch against a baseline ref.

    python -m bench.matching_scale                          # scale 1, baseline = main, 3 solves per variant
    python -m bench.matching_scale --scales 1,10 --repeats 3 --repeats-10 1
    python -m bench.matching_scale --variants fast,exact,warm --baseline-ref main

Variants (each in its own subprocess, after an untimed small solve that loads the cached numba kernels):
``fast`` (default path: exact weight, restricted distance polish), ``exact`` (``exact_distance=True``, run to the
certified optimum), ``warm`` (the same, re-run with ``warm_start_key`` after one untimed run that saved the
duals: a re-run of an unchanged regency), ``warm_changed`` (re-run after 2% of workers left and 10% of sponsors
changed capacity: measures the fallback). The baseline runs the same variants with the solver of
``--baseline-ref`` (``git archive`` into a temp dir put first on sys.path; ``warm`` does not exist there).
Prints sizes, medians (wall and CPU: the machine is shared, CPU is the steadier figure), the ratio against the
baseline, the load average and whether (W, D) agree and are certified.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _baseline_dir(ref: str) -> Path:
    sha = subprocess.run(["git", "rev-parse", ref], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    out = Path(tempfile.gettempdir()) / f"pengampu-matching-baseline-{sha.strip()[:12]}"
    if not (out / "sponsorship/matching/solver/strategies.py").exists():
        out.mkdir(parents=True, exist_ok=True)
        paths = ["sponsorship/__init__.py", "sponsorship/matching/__init__.py", "sponsorship/matching/solver"]
        arch = subprocess.run(["git", "archive", ref, *paths], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(out)], input=arch, check=True)
    return out


def _perturbed(reg):
    import numpy as np

    from sponsorship.matching.solver.strategies import SponsorPoints, WorkerPoints

    rng = np.random.default_rng(1)
    w, s = reg.workers, reg.sponsors
    keep = rng.random(len(w.ids)) > 0.02
    w2 = WorkerPoints(w.ids[keep], w.lat[keep], w.lon[keep], w.decile[keep], w.about_to_lapse[keep])
    cap = s.capacity.copy()
    ch = rng.random(len(cap)) < 0.1
    cap[ch] = rng.integers(0, 4, int(ch.sum()))
    return SponsorPoints(s.ids, s.lat, s.lon, cap), w2


def child(variant: str, scale: float, seed: int, repeats: int, baseline: str | None) -> dict:
    if baseline:
        sys.path.insert(0, baseline)
    sys.path.insert(1 if baseline else 0, str(ROOT))
    import resource

    from bench.synthetic import generate_regency
    from sponsorship.matching.solver import strategies

    small = generate_regency(scale=0.05, seed=3)
    warm_kw = {} if baseline else {"warm_start_key": "warm-up"}  # the warm path's kernels too (branch only)
    os.environ["MATCHING_WARM_CACHE_DIR"] = tempfile.mkdtemp(prefix="pengampu-warm-bench-")
    for _ in range(2):
        strategies.solve_matching(small.sponsors, small.workers, exact_arc_limit=1_000, exact_distance=True, **warm_kw)
    reg = generate_regency(scale=scale, seed=seed)
    s, w = reg.sponsors, reg.workers
    kw: dict = {"exact_distance": variant != "fast"}
    if variant in ("warm", "warm_changed"):
        kw["warm_start_key"] = f"bench-{scale}"
        strategies.solve_matching(s, w, **kw)  # the previous run: saves its duals
        if variant == "warm_changed":
            s, w = _perturbed(reg)
    walls, cpus, res = [], [], None
    for _ in range(repeats):
        if variant == "warm_changed" and res is not None:  # every repeat must start from the unchanged run's state
            strategies.solve_matching(reg.sponsors, reg.workers, **kw)
        c0, t0 = time.process_time(), time.perf_counter()
        res = strategies.solve_matching(s, w, **kw)
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - t0)
    st = res.stats
    return {
        "variant": variant,
        "scale": scale,
        "sponsors": len(s.ids),
        "free_slots": int(s.capacity.sum()),
        "workers": len(w.ids),
        "locations": st.get("locations"),
        "arcs": st.get("arcs"),
        "wall_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "walls": [round(x, 2) for x in walls],
        "cpus": [round(x, 2) for x in cpus],
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "weight": res.covered_weight,
        "covered": res.covered_count,
        "distance_m": res.total_distance_m,
        "certified": st.get("certified_optimal"),
        "gap_m": st.get("distance_gap_bound_m"),
        "phases": st.get("cs_phases"),
        "exact_prices": st.get("cs_exact_prices"),
        "warm_start": st.get("cs_warm_start"),
        "warm_miss": st.get("warm_miss", False),
        "cpu_split": {k: v for k, v in st.items() if k.startswith("cpu_")},
    }


def _run(variant, scale, args, baseline: str | None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--scales", str(scale)]
    cmd += ["--seed", str(args.seed), "--repeats", str(args.repeats if scale <= 1 else args.repeats_10)]
    if baseline:
        cmd += ["--baseline-dir", baseline]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    ap = argparse.ArgumentParser(description="certified matching distance at regency scale")
    ap.add_argument("--scales", default="1")
    ap.add_argument("--seed", type=int, default=20240101)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--repeats-10", type=int, default=1, help="solves per variant above scale 1")
    ap.add_argument("--variants", default="fast,exact,warm,warm_changed")
    ap.add_argument("--baseline-ref", default="main", help="git ref whose solver is the baseline ('' = none)")
    ap.add_argument("--json")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--baseline-dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, float(args.scales), args.seed, args.repeats, args.baseline_dir)))
        return
    base = str(_baseline_dir(args.baseline_ref)) if args.baseline_ref else None
    rows = []
    for scale in (float(x) for x in args.scales.split(",")):
        for variant in args.variants.split(","):
            for who, bdir in (("baseline", base), ("branch", None)):
                if who == "baseline" and (bdir is None or variant.startswith("warm")):
                    continue
                load0 = _load()
                print(f"scale {scale:g} {variant} {who} ... (load {load0})", file=sys.stderr, flush=True)
                r = _run(variant, scale, args, bdir)
                r.update(who=who, load_before=load0, load_after=_load())
                rows.append(r)
    print(
        f"\n{'scale':>5} {'variant':<13} {'solver':<8} {'sponsors':>8} {'workers':>8} {'arcs':>11} "
        f"{'wall s':>7} {'cpu s':>7} {'x base':>6} {'rss MB':>7} {'weight':>10} {'distance m':>12} "
        f"{'cert':>5} {'phases':>6}  load"
    )
    for r in rows:
        b = next(
            (
                x
                for x in rows
                if x["who"] == "baseline"
                and x["scale"] == r["scale"]
                and x["variant"] == ("exact" if r["variant"].startswith("warm") else r["variant"])
            ),
            None,
        )
        ratio = f"{r['cpu_s'] / b['cpu_s']:.2f}" if b and b["cpu_s"] else "-"
        print(
            f"{r['scale']:>5g} {r['variant']:<13} {r['who']:<8} {r['sponsors']:>8,} {r['workers']:>8,} "
            f"{r['arcs'] or 0:>11,} {r['wall_s']:>7.2f} {r['cpu_s']:>7.2f} {ratio:>6} {r['maxrss_mb']:>7.0f} "
            f"{r['weight']:>10,} {r['distance_m']:>12,} {str(r['certified']):>5} {str(r['phases']):>6}  "
            f"{r['load_before']} -> {r['load_after']}"
        )
    for r in rows:
        print(f"{r['scale']:g} {r['variant']} {r['who']}: cpu {r['cpus']} wall {r['walls']} split {r['cpu_split']}")
    for scale in sorted({r["scale"] for r in rows}):
        ex = [r for r in rows if r["scale"] == scale and r["variant"] != "fast" and r["variant"] != "warm_changed"]
        if ex:
            same = len({(r["weight"], r["distance_m"]) for r in ex}) == 1
            print(f"scale {scale:g}: exact/warm (W, D) agree across solvers: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
