"""Benchmark (not part of the suite): apply a 300-row confirmation file. PAYROLL_BENCH=300 to run."""

import os
import time

import pytest

from sponsorship.billing.services.payroll import consent_create, payroll_list_produce, payroll_list_send
from sponsorship.billing.services.payroll_settle import payroll_confirmation_apply
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.dashboard.services.payroll_import import confirmation_preview
from sponsorship.people.models import Role
from tests import factories

N = int(os.environ.get("PAYROLL_BENCH", "0"))


@pytest.mark.skipif(not N, reason="benchmark: PAYROLL_BENCH=300")
@pytest.mark.django_db
def test_apply_bench(agency, regency, django_capture_on_commit_callbacks):
    today = local_today()
    month = add_months(month_start(today), 1)
    for i in range(N):
        sponsor = factories.make_sponsor(agency=agency, capacity=3, full_name=f"ASN {i}")
        factories.sponsor_worker(sponsor, factories.make_worker())
        consent_create(
            sponsor=sponsor,
            kind="salary",
            actor=sponsor.user,
            consent_text_version="2026.1",
            confirmed=True,
            today=today,
        )
    admin = factories.make_user("admin.bench", Role.REGENCY_ADMIN, regency=regency)
    with django_capture_on_commit_callbacks(execute=True):
        payroll_list = payroll_list_produce(agency=agency, month=month, actor=admin)
    payroll_list_send(payroll_list=payroll_list, actor=admin)
    lines = ["NIP,Jumlah,Referensi,Tanggal"] + [
        f"{r.nip},{r.amount_idr},TRF-1,{today:%d/%m/%Y}" for r in payroll_list.rows.all()
    ]
    confirmation = confirmation_preview(
        payroll_list=payroll_list, file_name="k.csv", content=("\n".join(lines) + "\n").encode(), actor=admin
    )
    assert len(confirmation.rows) == N
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    profiler = None
    if os.environ.get("PAYROLL_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu, wall = time.process_time(), time.perf_counter()
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        result = payroll_confirmation_apply(confirmation=confirmation, actor=admin)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        from collections import Counter

        shapes = Counter(q["sql"][:90] for q in queries.captured_queries)
        for sql, n in shapes.most_common(30):
            print(n, sql)
    print(
        f"\nBENCH apply {N} rows: cpu {cpu:.2f} s, wall {wall:.2f} s, {1000 * cpu / N:.1f} ms cpu/row, "
        f"{len(queries.captured_queries) / N:.1f} queries/row; {result}"
    )
    assert result["outcomes"].get("confirmed") == N
