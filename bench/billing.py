"""Monthly billing run on PostgreSQL: 14,000 sponsors × 3 workers = 42,000 worker-months.

    python bench/billing.py [--sponsors 14000] [--repeat 3]

Prints sizes, the median run time, the query count (and the count for a run 1/10 the size: it must be
equal), and the ratio against two baselines in the same run, both writing exactly the invoice and line rows
the run wrote: COPY into the final tables (psycopg 3 `cursor.copy()`, one round trip per table) and
Django `bulk_create`. Load average is printed with the figures (the machine is shared).
"""

import argparse
import datetime as dt
import os
import time

from _setup import django_setup, ensure_bench_sponsors, median


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sponsors", type=int, default=14_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    django_setup()
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from sponsorship.billing.models import Invoice, InvoiceLine
    from sponsorship.billing.services.billing import billing_run
    from sponsorship.core.models import AuditLog
    from sponsorship.people.models import Sponsor, Sponsorship

    agency = ensure_bench_sponsors(args.sponsors)
    bench_sponsors = Sponsor.objects.filter(agency=agency)
    n_sponsors = bench_sponsors.count()
    n_lines = Sponsorship.objects.filter(sponsor__agency=agency, status="active").count()
    print(flush=True)
    print(f"sizes: {n_sponsors} sponsors, {n_lines} active sponsorships (worker-months per run)")

    def clean():
        with connection.cursor() as cursor:  # bench database only
            cursor.execute("TRUNCATE sponsorship_invoiceline, sponsorship_invoice, sponsorship_creditentry CASCADE")
            # What autovacuum does in production after bulk changes; without it the planner assumes empty tables.
            cursor.execute(
                "ANALYZE sponsorship_invoiceline, sponsorship_invoice, sponsorship_coveragemonth, "
                "sponsorship_sponsorship, sponsorship_worker, sponsorship_sponsor"
            )
        AuditLog.objects.filter(action="billing.run").delete()

    period = dt.date(2026, 12, 1)
    inv_cols = [
        "id",
        "sponsor_id",
        "number",
        "kind",
        "period",
        "months",
        "sequence",
        "status",
        "issued_at",
        "due_date",
        "subtotal_idr",
        "credit_applied_idr",
        "amount_idr",
        "void_reason",
        "batch",
    ]
    line_cols = ["id", "invoice_id", "worker_id", "month", "rate_id", "jkk_idr", "jkm_idr", "jht_idr", "amount_idr"]

    def copy_in(table, cols, rows):
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    runs, copy_base, orm_base, counts = [], [], [], []
    for _ in range(args.repeat):
        clean()
        with CaptureQueriesContext(connection) as queries:
            t = time.perf_counter()
            result = billing_run(period=period, notify=False)
            runs.append(time.perf_counter() - t)
        counts.append(len(queries.captured_queries))
        assert result.invoices == n_sponsors and result.lines == n_lines, result
        # Baselines: exactly the rows the run wrote (same ids), written raw, nothing else computed.
        inv_rows = list(Invoice.objects.order_by("id").values_list(*inv_cols))
        line_rows = list(InvoiceLine.objects.order_by("id").values_list(*line_cols))
        # (a) COPY into the final tables, one round trip per table: the fastest way in.
        clean()
        t = time.perf_counter()
        with transaction.atomic():
            copy_in("sponsorship_invoice", inv_cols, inv_rows)
            copy_in("sponsorship_invoiceline", line_cols, line_rows)
        copy_base.append(time.perf_counter() - t)
        assert InvoiceLine.objects.count() == n_lines
        # (b) the previous baseline: Django bulk_create of the same rows.
        clean()
        t = time.perf_counter()
        with transaction.atomic():
            Invoice.objects.bulk_create(
                [Invoice(**dict(zip(inv_cols, r, strict=True))) for r in inv_rows], batch_size=2000
            )
            InvoiceLine.objects.bulk_create(
                [InvoiceLine(**dict(zip(line_cols, r, strict=True))) for r in line_rows], batch_size=5000
            )
        orm_base.append(time.perf_counter() - t)
        print(
            f"  run {runs[-1]:.2f} s ({counts[-1]} queries), COPY {copy_base[-1]:.2f} s, "
            f"bulk_create {orm_base[-1]:.2f} s",
            flush=True,
        )
    # A second run with nothing left to bill (every worker-month is on a live line): the full candidate check.
    clean()
    billing_run(period=period, notify=False)
    with CaptureQueriesContext(connection) as noop_q:
        t = time.perf_counter()
        noop = billing_run(period=period, notify=False)
        noop_s = time.perf_counter() - t
    assert noop.invoices == 0, noop
    # Late additions: one worker of every 10th sponsor joins after the month's invoices were issued.
    clean()
    late_ids = list(
        Sponsorship.objects.filter(
            sponsor__agency=agency, sponsor_id__in=bench_sponsors.order_by("pk").values_list("pk", flat=True)[::10]
        )
        .order_by("sponsor_id", "worker_id")
        .distinct("sponsor_id")
        .values_list("pk", flat=True)
    )
    Sponsorship.objects.filter(pk__in=late_ids).update(status="ended", ended_at=dt.datetime.now(dt.UTC))
    billing_run(period=period, notify=False)
    Sponsorship.objects.filter(pk__in=late_ids).update(status="active", ended_at=None)
    with CaptureQueriesContext(connection) as late_q:
        t = time.perf_counter()
        late = billing_run(period=period, notify=False)
        late_s = time.perf_counter() - t
    assert late.invoices == len(late_ids) == late.lines, (late, len(late_ids))
    assert Invoice.objects.filter(sequence=2).count() == len(late_ids)
    print(
        f"re-run with nothing to bill: {noop_s:.2f} s ({len(noop_q.captured_queries)} queries); "
        f"supplementary run for {len(late_ids)} late additions: {late_s:.2f} s "
        f"({len(late_q.captured_queries)} queries)"
    )
    # Query count at 1/10 of the size: the run must use the same number of queries.
    clean()
    keep = list(bench_sponsors.order_by("pk").values_list("pk", flat=True)[: max(n_sponsors // 10, 1)])
    Sponsorship.objects.filter(sponsor__agency=agency).exclude(sponsor_id__in=keep).update(
        status="ended", ended_at=dt.datetime.now(dt.UTC)
    )
    with CaptureQueriesContext(connection) as small:
        billing_run(period=period, notify=False)
    Sponsorship.objects.filter(sponsor__agency=agency).update(status="active", ended_at=None)
    clean()
    print(
        f"billing run: median {median(runs):.2f} s over {len(runs)} runs {[round(r, 2) for r in runs]} "
        f"(goal < 10 s); queries {counts[0]} at {n_sponsors} sponsors, {len(small.captured_queries)} at {len(keep)}"
    )
    print(
        f"baseline COPY of the same rows into the final tables: median {median(copy_base):.2f} s; "
        f"ratio run/COPY = {median(runs) / median(copy_base):.2f}×"
    )
    print(
        f"baseline Django bulk_create of the same rows: median {median(orm_base):.2f} s; "
        f"ratio run/bulk_create = {median(runs) / median(orm_base):.2f}×"
    )
    print(
        f"load average at the end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
        f"({os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
