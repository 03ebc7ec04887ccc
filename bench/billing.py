"""Monthly billing run on PostgreSQL: 14,000 sponsors × 3 workers = 42,000 worker-months.

    python bench/billing.py [--sponsors 14000] [--repeat 3]

Prints sizes, the median run time, the query count (and the count for a run 1/10 the size: it must be
equal), and the ratio against a baseline in the same run: a raw bulk insert of the same invoice and line rows.
"""
import argparse
import datetime as dt
import time

from _setup import django_setup, median


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sponsors", type=int, default=14_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    django_setup()
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from sponsorship.crypto import keyed_hash
    from sponsorship.models import (Agency, AuditLog, CreditEntry, Invoice, InvoiceLine, Occupation, Sponsor, Sponsorship,
                                    Worker)
    from sponsorship.services.billing import billing_run
    from tests import factories

    regency = factories.load_ponorogo()
    agency, _ = Agency.objects.get_or_create(regency=regency, name="Dinas Bench")
    village = factories.village()
    occupations = list(Occupation.objects.all())
    n_s = Sponsor.objects.filter(agency__name="Dinas Bench").count()
    if n_s < args.sponsors:
        t = time.perf_counter()
        sponsors = Sponsor.objects.bulk_create([
            Sponsor(nip=f"B{i:017d}", asn_type="pns", full_name=f"ASN Bench {i}", birth_date=dt.date(1980, 1, 1),
                    sex="M", agency=agency, home_village=village, capacity=3, active_sponsorships=3)
            for i in range(n_s, args.sponsors)], batch_size=2000)
        workers = Worker.objects.bulk_create([
            Worker(nik=f"3502{i:012d}", nik_hash=keyed_hash(f"bench{i}"), full_name=f"Pekerja {i}",
                   birth_date=dt.date(1985, 1, 1), sex="M", occupation=occupations[i % len(occupations)],
                   village=village, current_payer="sponsor")
            for i in range(n_s * 3, args.sponsors * 3)], batch_size=2000)
        now = dt.datetime.now(dt.timezone.utc)
        Sponsorship.objects.bulk_create([
            Sponsorship(sponsor=sponsors[i // 3], worker=w, source="import", started_at=now)
            for i, w in enumerate(workers)], batch_size=5000)
        print(f"setup: {len(sponsors)} sponsors, {len(workers)} workers in {time.perf_counter() - t:.1f} s")
    bench_sponsors = Sponsor.objects.filter(agency=agency)
    n_sponsors = bench_sponsors.count()
    n_lines = Sponsorship.objects.filter(sponsor__agency=agency, status="active").count()
    print(flush=True)
    print(f"sizes: {n_sponsors} sponsors, {n_lines} active sponsorships (worker-months per run)")

    def clean():
        with connection.cursor() as cursor:  # bench database only
            cursor.execute("TRUNCATE sponsorship_invoiceline, sponsorship_invoice, sponsorship_creditentry CASCADE")
            # What autovacuum does in production after bulk changes; without it the planner assumes empty tables.
            cursor.execute("ANALYZE sponsorship_invoiceline, sponsorship_invoice, sponsorship_coveragemonth, "
                           "sponsorship_sponsorship, sponsorship_worker, sponsorship_sponsor")
        AuditLog.objects.filter(action="billing.run").delete()

    period = dt.date(2026, 12, 1)
    runs, baseline, counts = [], [], []
    for _ in range(args.repeat):
        clean()
        with CaptureQueriesContext(connection) as queries:
            t = time.perf_counter()
            result = billing_run(period=period, notify=False)
            runs.append(time.perf_counter() - t)
        counts.append(len(queries.captured_queries))
        assert result.invoices == n_sponsors and result.lines == n_lines, result
        # Baseline: the same rows, raw bulk inserts, nothing else.
        rows = list(Invoice.objects.values("sponsor_id", "number", "period", "due_date", "subtotal_idr", "amount_idr",
                                           "issued_at"))
        lines = list(InvoiceLine.objects.values("worker_id", "month", "jkk_idr", "jkm_idr", "amount_idr",
                                                "invoice__sponsor_id"))
        clean()
        t = time.perf_counter()
        with transaction.atomic():
            made = Invoice.objects.bulk_create([Invoice(**r) for r in rows], batch_size=2000)
            by_sponsor = {i.sponsor_id: i.pk for i in made}
            InvoiceLine.objects.bulk_create([
                InvoiceLine(invoice_id=by_sponsor[line.pop("invoice__sponsor_id")], **line) for line in lines],
                batch_size=5000)
        baseline.append(time.perf_counter() - t)
        print(f"  run {runs[-1]:.2f} s ({counts[-1]} queries), baseline {baseline[-1]:.2f} s", flush=True)
    # Query count at 1/10 of the size: the run must use the same number of queries.
    clean()
    keep = list(bench_sponsors.order_by("pk").values_list("pk", flat=True)[: max(n_sponsors // 10, 1)])
    Sponsorship.objects.filter(sponsor__agency=agency).exclude(sponsor_id__in=keep).update(status="ended",
                                                                                          ended_at=dt.datetime.now(dt.timezone.utc))
    with CaptureQueriesContext(connection) as small:
        billing_run(period=period, notify=False)
    Sponsorship.objects.filter(sponsor__agency=agency).update(status="active", ended_at=None)
    clean()
    print(f"billing run: median {median(runs):.2f} s over {len(runs)} runs {[round(r, 2) for r in runs]} "
          f"(goal < 10 s); queries {counts[0]} at {n_sponsors} sponsors, {len(small.captured_queries)} at {len(keep)}")
    print(f"baseline raw bulk insert of the same rows: median {median(baseline):.2f} s; "
          f"ratio run/baseline = {median(runs) / median(baseline):.2f}×")


if __name__ == "__main__":
    main()
