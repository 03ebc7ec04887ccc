"""The hourly reminder scan per regency vs the whole-deployment scan, measured in the same run.

    python bench/reminder_zones.py                  # 3 regencies at bench/synthetic.py scale 1 (42,000 workers
                                                    # each), 3 repeats: ~45 s here
    python bench/reminder_zones.py --regencies 4 --scale 0.1 --repeat 1

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/pengampu_zones_bench), created and
migrated on first use; regencies 98.NN loaded with COPY by bench/scale_regencies.py's loader (all in WIB, so the
per-regency scans and the whole scan evaluate the same day). Next month is billed once, a paid history is written
(bench/scale_regencies.py: paid_history), and the scan runs on the day the "due in 3 days" reminder goes out, at
10:00 WIB (nothing held for quiet hours):

  whole         reminders_scan(now=...)                      one pass over every regency (the old hourly scan)
  per regency   reminders_scan(regency_id=r, now=...) for r  what the hourly dispatcher's tasks do, run one after
                                                             the other here (a broker spreads them over the hour)

Each timed scan starts from an empty outbox (truncated between runs) and writes its rows (invoice reminders,
coverage, new sponsor) in its own transaction; send tasks that the commit would enqueue are dropped (no broker).
The rows written by both ways are compared (dedupe key, recipient, kind): they must be the same set. The
synthetic workers have no app accounts, so the new-sponsor part writes nothing. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pengampu_zones_bench")

from _setup import BENCH_DB, django_setup, median  # noqa: E402

WIB = dt.timezone(dt.timedelta(hours=7))


def scan(regency_ids: list[int | None], now: dt.datetime) -> tuple[list[float], set[tuple], dict[str, int]]:
    """Each scan's seconds, the rows written (key, recipient, kind), and the counts summed over the scans."""
    from django.db import connection, transaction
    from scale_regencies import _cursor

    from notifications.models import Notification
    from sponsorship.billing.reminders import reminders_scan

    with _cursor() as cur:
        cur.execute("TRUNCATE notifications_notification CASCADE")
    times, counts = [], {"invoices": 0, "coverage": 0, "new_sponsor": 0}
    for rid in regency_ids:
        t = time.perf_counter()
        with transaction.atomic():
            result = reminders_scan(regency_id=rid, now=now)
            connection.run_on_commit.clear()
        times.append(time.perf_counter() - t)
        for name, n in result.items():
            assert isinstance(n, int), (rid, result)  # a part failed
            counts[name] += n
    rows = set(Notification.objects.values_list("dedupe_key", "recipient_id", "kind"))
    return times, rows, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regencies", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="bench/synthetic.py scale of each regency")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240101)
    args = parser.parse_args()
    django_setup()
    import scale_regencies as sr

    from sponsorship.people.models import Sponsorship, Worker
    from sponsorship.regions.models import Region

    print(f"bench database {BENCH_DB.rsplit('/', 1)[1]}; {sr.load_str()}", flush=True)
    sr.wipe()
    for r in range(args.regencies):
        info = sr.load_regency(r, scale=args.scale, seed=args.seed)
        print(
            f"  loaded {info['code']}: {info['sponsors']:,} ASN, {info['workers']:,} workers "
            f"({info['sponsored']:,} sponsored) in {info['load_s']:.1f} s",
            flush=True,
        )
    sr.fix_sequences()
    _, billed, _ = sr.bench_billing(1)
    today = sr.reminder_day()
    months = sr.paid_history(today)
    now = dt.datetime.combine(today, dt.time(10), tzinfo=WIB)
    # the sponsorships started "a few days ago", so the new-sponsor part has work too
    Sponsorship.objects.filter(status=Sponsorship.Status.ACTIVE).update(started_at=now - dt.timedelta(days=2))
    regencies = list(
        Region.objects.filter(code__startswith=sr.PROVINCE + ".", level=Region.Level.REGENCY)
        .order_by("code")
        .values_list("pk", flat=True)
    )
    in_scan = Worker.objects.filter(village__parent__parent_id__in=regencies).count()
    print(
        f"\n== {len(regencies)} regencies, {in_scan:,} workers, {billed.invoices:,} invoices "
        f"({billed.lines:,} worker-months), {months:,} paid months; scan day {today}, now {now:%H:%M} WIB; "
        f"{sr.load_str()}",
        flush=True,
    )
    whole_t, per_t, per_each = [], [], []
    whole_rows = per_rows = set()
    whole_counts = per_counts = {}
    for i in range(args.repeat):  # alternate, so load on the shared machine hits both alike
        times, whole_rows, whole_counts = scan([None], now)
        whole_t.append(times[0])
        times, per_rows, per_counts = scan(list(regencies), now)
        per_t.append(sum(times))
        per_each.append(times)
        print(
            f"  repeat {i + 1}: whole {whole_t[-1]:.2f} s; per regency {[round(t, 2) for t in times]} "
            f"= {per_t[-1]:.2f} s; {sr.load_str()}",
            flush=True,
        )
    assert whole_rows == per_rows, (len(whole_rows), len(per_rows), len(whole_rows ^ per_rows))
    assert whole_counts == per_counts, (whole_counts, per_counts)
    each = [median([t[k] for t in per_each]) for k in range(len(regencies))]
    print(f"\n== outbox rows per scan (the same set both ways: {len(whole_rows):,} rows): {whole_counts}")
    print(
        f"  whole scan:            median {median(whole_t):.2f} s over {args.repeat} {[round(t, 2) for t in whole_t]}"
    )
    print(f"  per-regency scans sum: median {median(per_t):.2f} s over {args.repeat} {[round(t, 2) for t in per_t]}")
    print(f"  one regency's scan:    median {median(each):.2f} s (max {max(each):.2f}) = the longest task")
    print(
        f"  ratio per-regency total / whole: {median(per_t) / median(whole_t):.2f}×; "
        f"longest regency task / whole: {max(each) / median(whole_t):.2f}×; "
        f"{1e6 * median(whole_t) / max(in_scan, 1):.0f} µs per worker (whole)"
    )
    print(f"\n{sr.load_str()} at the end")


if __name__ == "__main__":
    main()
