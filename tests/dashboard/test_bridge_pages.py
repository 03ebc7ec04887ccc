"""Dashboard pages of the bridge fund: regency admins register pools, record top-ups and read statements;
agency admins get 403; bad input is a message, never a 500."""

import pytest

from sponsorship.billing.models import BridgePool, PoolEntry
from sponsorship.core.models import AuditLog

pytestmark = pytest.mark.django_db


def test_regency_admin_registers_tops_up_and_reads_the_statement(client, regency_admin):
    client.force_login(regency_admin)
    page = client.get("/dashboard/bridge-fund/")
    assert page.status_code == 200 and "Belum ada dana talangan" in page.content.decode()
    created = client.post(
        "/dashboard/bridge-fund/",
        {"name": "Baznas Ponorogo", "kind": "zakat", "decile_max": "3", "max_months_per_worker": "2"},
    )
    assert created.status_code == 302
    pool = BridgePool.objects.get()
    assert (pool.kind, pool.decile_max, pool.max_months_per_worker, pool.days_before_lapse) == ("zakat", 3, 2, 7)
    assert client.post(f"/dashboard/bridge-fund/{pool.pk}/top-up/", {"amount_idr": "250000"}).status_code == 302
    pool.refresh_from_db()
    assert pool.balance_idr == 250_000 and PoolEntry.objects.get().created_by == regency_admin
    assert AuditLog.objects.filter(action="bridge_pool.top_up", actor=regency_admin).exists()
    listing = client.get("/dashboard/bridge-fund/").content.decode()
    assert "Baznas Ponorogo" in listing and "250.000" in listing
    bad = client.post(f"/dashboard/bridge-fund/{pool.pk}/top-up/", {"amount_idr": "abc"}, follow=True)
    assert bad.status_code == 200 and "tidak valid" in bad.content.decode()
    bad_pool = client.post("/dashboard/bridge-fund/", {"name": "", "kind": "csr"}, follow=True)
    assert bad_pool.status_code == 200 and BridgePool.objects.count() == 1
    statement = client.get(f"/dashboard/bridge-fund/{pool.pk}/statement/")
    assert statement.status_code == 200 and "Saldo akhir" in statement.content.decode()
    csv_file = client.get(f"/dashboard/bridge-fund/{pool.pk}/statement/?download=csv")
    assert csv_file["Content-Type"].startswith("text/csv") and "250000" in csv_file.content.decode()
    assert client.get(f"/dashboard/bridge-fund/{pool.pk}/statement/?month=2026-13").status_code == 302


def test_agency_admin_gets_403(client, agency_admin):
    client.force_login(agency_admin)
    assert client.get("/dashboard/bridge-fund/").status_code == 403
