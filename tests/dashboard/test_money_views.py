"""Money figures of the dashboard, the worker's status and the sponsor's overview, over a real billing history.

History (M = current month): sponsor A (agency, 2 workers) paid M-3 on time, M-2 late, owes M-1;
sponsor B (other agency, 1 worker) paid M-3 on time, owes M-2 and M-1.
"""

import datetime as dt
import sys
import types

import pytest

from sponsorship.billing.models import Invoice, InvoiceLine
from sponsorship.core.models import AuditLog
from sponsorship.dashboard.selectors import admin_scope, agency_league, build_table
from sponsorship.dashboard.selectors.money import arrears_worklist, money_by_month, on_time_rate
from sponsorship.people.models import Sponsor
from tests import factories

from .money_data import at, bill, months_back, pay


@pytest.fixture
def history(agency, other_agency):
    a = factories.make_sponsor(agency=agency, capacity=2, full_name="Andi Prasetyo")
    Sponsor.objects.filter(pk=a.pk).update(show_name_to_workers=True)
    b = factories.make_sponsor(agency=other_agency, capacity=2, full_name="Bambang Susanto")
    wa = [
        factories.make_worker(full_name="Slamet Riyadi", user=True),
        factories.make_worker(full_name="Siti Aminah", sex="F"),
    ]
    wb = [factories.make_worker(full_name="Joko Ojek", occupation="ojek", user=True)]
    for w in wa:
        factories.sponsor_worker(a, w)
    factories.sponsor_worker(b, wb[0])
    m3, m2, m1 = months_back(3), months_back(2), months_back(1)
    inv3, inv2, inv1 = bill(m3), bill(m2), bill(m1)
    pay(inv3[a.pk], at(inv3[a.pk].due_date - dt.timedelta(days=3)))
    pay(inv3[b.pk], at(inv3[b.pk].due_date))
    pay(inv2[a.pk], at(inv2[a.pk].due_date + dt.timedelta(days=4)))
    return types.SimpleNamespace(a=a, b=b, wa=wa, wb=wb, m3=m3, m2=m2, m1=m1, inv3=inv3, inv2=inv2, inv1=inv1)


def line_sum(**filters):
    return sum(InvoiceLine.objects.filter(**filters).values_list("amount_idr", flat=True))


@pytest.mark.django_db
def test_money_per_month(history, regency_admin):
    scope = admin_scope(regency_admin)
    rows = {r["month"]: r for r in money_by_month(scope)}
    assert len(rows) == 12
    h = history
    m3, m2, m1 = (rows[m.isoformat()] for m in (h.m3, h.m2, h.m1))
    assert m3["expected_idr"] == line_sum(month=h.m3) > 0
    assert m3["collected_idr"] == m3["expected_idr"] and m3["outstanding_idr"] == 0
    assert m2["collected_idr"] == line_sum(month=h.m2, invoice__sponsor=h.a)
    assert m2["outstanding_idr"] == line_sum(month=h.m2, invoice__sponsor=h.b)
    assert m1["collected_idr"] == 0 and m1["outstanding_idr"] == m1["expected_idr"]
    assert m3["remitted_idr"] == 0
    assert m3["on_time_pct"] == 100.0 and m2["on_time_pct"] == 0.0
    rate = on_time_rate(scope)
    assert (rate["invoices_due"], rate["paid_on_time"]) == (6, 2)
    assert rate["pct"] == 33.3


@pytest.mark.django_db
def test_agency_admin_sees_only_their_agency(history, agency_admin):
    scope = admin_scope(agency_admin)
    rows = {r["month"]: r for r in money_by_month(scope)}
    assert rows[history.m2.isoformat()]["outstanding_idr"] == 0  # B's arrears belong to another agency
    assert [r["sponsor_name"] for r in arrears_worklist(scope)] == ["Andi Prasetyo"]
    league = agency_league(scope)
    assert [r["agency_id"] for r in league] == [history.a.agency_id]


@pytest.mark.django_db
def test_league_and_arrears_worklist(history, regency_admin):
    scope = admin_scope(regency_admin)
    league = {r["agency_id"]: r for r in agency_league(scope)}
    a_row, b_row = league[history.a.agency_id], league[history.b.agency_id]
    assert a_row["asn"] == 1 and a_row["pledged_pct"] == 100.0 and a_row["workers_covered"] == 2
    assert a_row["on_time_pct"] == 33.3 and a_row["arrears_idr"] == history.inv1[history.a.pk].amount_idr
    assert b_row["arrears_sponsors"] == 1
    work = arrears_worklist(scope)
    assert [r["sponsor_name"] for r in work] == ["Bambang Susanto", "Andi Prasetyo"]  # longest overdue first
    b = work[0]
    assert b["invoices"] == 2 and b["since"] == history.inv2[history.b.pk].due_date.isoformat()
    assert b["amount_idr"] == history.inv2[history.b.pk].amount_idr + history.inv1[history.b.pk].amount_idr
    assert b["last_reminder"] == "" and b["workers"] == 1


@pytest.mark.django_db
def test_remind_action_goes_through_notify_and_shows_as_last_reminder(
    history, api, regency_admin, monkeypatch, agency_admin
):
    sent = []

    def notify(**kwargs):
        if kwargs["dedupe_key"] in {s["dedupe_key"] for s in sent}:
            return None
        sent.append(kwargs)
        return object()

    module = types.ModuleType("notifications.services")
    module.notify = notify
    monkeypatch.setitem(sys.modules, "notifications.services", module)
    client = api(regency_admin)
    url = f"/api/v1/admin/dashboard/arrears/{history.b.pk}/remind/"
    assert client.post(url).json() == {"sent": True, "reason": "sent"}
    assert client.post(url).json() == {"sent": False, "reason": "already_sent_today_or_opted_out"}
    assert sent[0]["kind"] == "invoice_overdue" and sent[0]["user"] == history.b.user
    assert sent[0]["context"]["amount_idr"] > 0
    rows = client.get("/api/v1/admin/dashboard/arrears/").json()["rows"]
    assert rows[0]["last_reminder"] != ""
    assert AuditLog.objects.filter(action="arrears.remind").count() == 2
    # An agency admin cannot remind another agency's ASN.
    assert api(agency_admin).post(url).status_code == 404


@pytest.mark.django_db
def test_worker_status_in_grace_with_sponsor_first_name(history, api):
    worker = history.wa[0]
    r = api(worker.user).get("/api/v1/worker/status/")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["state"] == "grace"
    assert body["protected_until"] == (history.m1 - dt.timedelta(days=1)).isoformat()
    assert body["months_of_contributions"] == 2
    assert body["sponsor_first_name"] == "Andi"
    assert "TIDAK terlindungi" in body["headline"]
    assert body["rules"] == {"jkm_full_benefit": False, "scholarship_eligible": False, "months_to_scholarship": 34}
    assert {p["code"] for p in body["programmes"]} == {"JKK", "JKM"}
    assert any("2 × 24 jam" in s for s in body["after_accident"]["steps"])
    assert "Laporan polisi untuk kecelakaan lalu lintas" in body["after_accident"]["documents"]
    en = api(worker.user).get("/api/v1/worker/status/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert en["state_label"].startswith("Grace") and any("2 × 24 hours" in s for s in en["after_accident"]["steps"])


@pytest.mark.django_db
def test_worker_status_hides_sponsor_name_without_consent_and_other_states(history, api):
    body = api(history.wb[0].user).get("/api/v1/worker/status/").json()
    assert body["sponsor_first_name"] is None and "Bambang" not in str(body)
    lone = factories.make_worker(full_name="Belum Ada", user=True)
    body = api(lone.user).get("/api/v1/worker/status/").json()
    assert body["state"] == "not_enrolled" and body["protected_until"] is None


@pytest.mark.django_db
def test_worker_status_permissions(history, api, regency_admin):
    assert api(None).get("/api/v1/worker/status/").status_code == 401
    assert api(history.a.user).get("/api/v1/worker/status/").status_code == 403
    assert api(regency_admin).get("/api/v1/worker/status/").status_code == 403


@pytest.mark.django_db
def test_sponsor_overview_receipt_and_statement(history, api):
    client = api(history.a.user)
    body = client.get("/api/v1/sponsor/overview/").json()
    assert {w["name"] for w in body["workers"]} == {"Slamet Riyadi", "Siti Aminah"}
    assert all(w["state"] == "grace" for w in body["workers"])
    owed = body["owed"]
    assert owed["total_idr"] == owed["overdue_idr"] == history.inv1[history.a.pk].amount_idr
    assert [i["number"] for i in owed["invoices"]] == [history.inv1[history.a.pk].number]
    assert len(body["payments"]) == 2
    receipt = client.get(body["payments"][0]["receipt_url"])
    assert receipt.status_code == 200 and b"LUNAS" in receipt.content
    assert body["payments"][0]["number"].encode() in receipt.content
    # Someone else's receipt, or an unpaid invoice: 404.
    other = history.inv3[history.b.pk]
    assert client.get(f"/api/v1/sponsor/receipts/{other.pk}/").status_code == 404
    assert client.get(f"/api/v1/sponsor/receipts/{history.inv1[history.a.pk].pk}/").status_code == 404
    year = body["statements"][0]["year"]
    statement = client.get(f"/api/v1/sponsor/statements/{year}/").json()
    paid = Invoice.objects.filter(sponsor=history.a, status="paid", paid_at__year=year)
    assert statement["total_idr"] == sum(i.amount_idr for i in paid)
    assert client.get(f"/api/v1/sponsor/statements/{year}/?print=1").status_code == 200
    assert client.get("/api/v1/sponsor/statements/1900/").status_code == 404
    assert api(history.wa[0].user).get("/api/v1/sponsor/overview/").status_code == 403


@pytest.mark.django_db
def test_dashboard_tables_as_json_and_downloads_are_audited(history, api, regency_admin, sponsor):
    client = api(regency_admin)
    for path in ("summary/", "agencies/", "coverage/", "coverage/?district=35.02.17", "money/", "arrears/"):
        r = client.get(f"/api/v1/admin/dashboard/{path}")
        assert r.status_code == 200, (path, r.content)
    money = client.get("/api/v1/admin/dashboard/money/").json()
    assert money["on_time"]["pct"] == 33.3 and len(money["rows"]) == 12
    r = client.get("/api/v1/admin/dashboard/arrears/?download=csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Nama ASN,NIP,OPD") and "Bambang Susanto" in text
    r = client.get("/api/v1/admin/dashboard/agencies/?download=xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    audit = AuditLog.objects.filter(action__startswith="export.").order_by("at")
    assert [(a.action, a.extra["table"], a.extra["rows"], a.actor_id) for a in audit] == [
        ("export.personal_data", "arrears", 2, regency_admin.pk),
        ("export.report", "agencies", 2, regency_admin.pk),
    ]
    assert client.get("/api/v1/admin/dashboard/arrears/?download=pdf").status_code == 400
    assert api(sponsor.user).get("/api/v1/admin/dashboard/summary/").status_code == 403
    assert api(None).get("/api/v1/admin/dashboard/summary/").status_code == 401


@pytest.mark.django_db
def test_build_table_money_rows_have_labels(history, regency_admin):
    table = build_table("money", admin_scope(regency_admin))
    assert table.rows[-1]["label"].split()[0] in (
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    )
