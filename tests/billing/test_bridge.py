"""The bridge fund (issue 18, point 2): pools, their rules and balance, paying before protection ends, never a
worker-month twice, the APBD rate without the PP 50/2025 discount, and the pool stopping when a new sponsor accepts.

Sponsors pay through the Midtrans simulator over HTTP (so the ledger check's money balance holds); the bridge scan
runs on given days.
"""

import datetime as dt

import pytest

from notifications.models import Notification
from sponsorship.billing.models import (
    Bridge,
    BridgePool,
    CoverageMonth,
    Invoice,
    InvoiceLine,
    PoolEntry,
    ProtectionAction,
)
from sponsorship.billing.selectors.coverage import worker_coverage_status
from sponsorship.billing.services.billing import billing_run
from sponsorship.billing.services.bridge import bridge_scan, pool_statement, pool_statements_send, pool_top_up
from sponsorship.core.models import AuditLog
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.dashboard.invariants import ledger_check
from sponsorship.people.models import MatchPriority, Occupation, Role
from sponsorship.people.services.sponsorships import sponsorship_end, sponsorship_start
from tests import factories
from tests.billing.test_billfix import pay_invoice

pytestmark = pytest.mark.django_db
WIB = dt.timezone(dt.timedelta(hours=7))
NOV, DEC, JAN = dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1)
POOLS = "/api/v1/admin/bridge-pools/"


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=WIB)


def assert_ledger(regency, today):
    report = ledger_check(regency=regency, today=today)
    assert report.ok, report.to_dict()


@pytest.fixture
def paid_through_november(agency, gateway_settings, api, sim, http, client):
    """A sponsor with one farmer (decile 3) sponsored since October, November paid through the simulator."""
    sponsor = factories.make_sponsor(agency=agency, capacity=3)
    worker = factories.make_worker(full_name="Sarinah Wulandari", sex="F", user=True)
    sponsorship = sponsorship_start(sponsor=sponsor, worker=worker, source="admin", started_at=at(dt.date(2026, 10, 1)))
    billing_run(period=NOV, notify=False, now=at(dt.date(2026, 10, 25)))
    pay_invoice(api, sim, http, client, Invoice.objects.get(sponsor=sponsor, period=NOV), "bca_va")
    return sponsor, worker, sponsorship


def make_pool(api, admin, **values) -> BridgePool:
    top_up = values.pop("top_up", 0)
    body = {"kind": "csr", "name": "CSR Bank Jatim", "contact_name": "Ibu Rina", **values}
    response = api(admin).post(POOLS, body, format="json")
    assert response.status_code == 201, response.content
    pool = BridgePool.objects.get(pk=response.json()["id"])
    if top_up:
        answer = api(admin).post(f"{POOLS}{pool.pk}/top-ups/", {"amount_idr": top_up, "reference": "TRF-1"})
        assert answer.status_code == 201, answer.content
    pool.refresh_from_db()
    return pool


# ---- pools: admin API ----------------------------------------------------------------------------------------
def test_regency_admin_registers_and_tops_up_a_pool_validated_and_audited(api, regency, regency_admin, agency_admin):
    pool = make_pool(api, regency_admin, decile_max=4, max_months_per_worker=2, top_up=100_000)
    assert (pool.regency_id, pool.balance_idr, pool.days_before_lapse) == (regency.pk, 100_000, 7)
    assert PoolEntry.objects.get(pool=pool).amount_idr == 100_000
    actions = set(AuditLog.objects.filter(object_id=str(pool.pk)).values_list("action", flat=True))
    assert {"bridge_pool.create", "bridge_pool.top_up"} <= actions
    # Bad input: clear 4xx in Indonesian by default, English on request.
    bad = api(regency_admin).post(POOLS, {"kind": "lottery", "name": ""}, format="json")
    assert bad.status_code == 400
    neg = api(regency_admin).post(f"{POOLS}{pool.pk}/top-ups/", {"amount_idr": -5}, HTTP_ACCEPT_LANGUAGE="en")
    assert neg.status_code == 400
    other_regency_village = factories.village("35.02.17.1001").pk  # inside: accepted
    ok = api(regency_admin).patch(f"{POOLS}{pool.pk}/", {"area_ids": [other_regency_village]}, format="json")
    assert ok.status_code == 200 and ok.json()["areas"] == [other_regency_village]
    wrong_area = api(regency_admin).patch(f"{POOLS}{pool.pk}/", {"area_ids": [regency.pk]}, format="json")
    assert wrong_area.status_code == 400 and "kecamatan" in wrong_area.json()["message"]
    # Agency admins and sponsors may not touch pools.
    assert api(agency_admin).get(POOLS).status_code == 403
    assert api(factories.make_user(role=Role.SPONSOR)).post(POOLS, {"kind": "csr", "name": "x"}).status_code == 403
    listing = api(regency_admin).get(POOLS)
    assert [p["id"] for p in listing.json()] == [pool.pk]


# ---- paying before protection ends ---------------------------------------------------------------------------
def test_sponsor_left_pool_pays_the_coming_month_before_protection_ends(
    paid_through_november, api, regency, regency_admin
):
    sponsor, worker, sponsorship = paid_through_november
    pool = make_pool(api, regency_admin, top_up=50_000)
    assert sponsorship_end(sponsorship=sponsorship, reason="pensiun", ended_at=at(dt.date(2026, 11, 10)))

    too_early = bridge_scan(today=dt.date(2026, 11, 20))  # 10 days left > 7
    assert (too_early.checked, too_early.bridged) == (1, 0)
    assert not CoverageMonth.objects.filter(worker=worker, month=DEC).exists()

    result = bridge_scan(today=dt.date(2026, 11, 24))  # 6 days left
    assert (result.bridged, result.amount_idr) == (1, 8_400)  # CSR is not state budget: the PP 50/2025 discount
    cover = CoverageMonth.objects.get(worker=worker, month=DEC)
    invoice = cover.invoice
    assert (invoice.payer_kind, invoice.pool_id, invoice.sponsor_id, cover.sponsor_id) == ("pool", pool.pk, None, None)
    pool.refresh_from_db()
    assert pool.balance_idr == 50_000 - 8_400
    assert PoolEntry.objects.get(invoice=invoice).amount_idr == -8_400
    assert worker_coverage_status(worker, today=dt.date(2026, 12, 5)).protected_until == dt.date(2026, 12, 31)
    bridged = ProtectionAction.objects.get(worker=worker, kind="bridged")
    assert bridged.detail["pool_id"] == pool.pk and bridged.detail["days_left"] == 6
    assert MatchPriority.objects.get(worker=worker, reason="bridged", cleared_at__isnull=True).until == dt.date(
        2026, 12, 31
    )
    assert Bridge.objects.get(worker=worker, ended_at__isnull=True).pool_id == pool.pk
    # Idempotent: the same day again pays nothing more.
    assert bridge_scan(today=dt.date(2026, 11, 24)).bridged == 0
    assert CoverageMonth.objects.filter(worker=worker, month=DEC).count() == 1
    assert_ledger(regency, dt.date(2026, 11, 24))

    booked = month_start(local_today())  # entries carry the real time they were written
    statement = pool_statement(pool=pool, month=booked)
    assert (statement["opening_idr"], statement["closing_idr"], statement["worker_months"]) == (0, 41_600, 1)
    assert statement["rows"][-1]["worker_first_name"] == "Sarinah"
    csv_text = api(regency_admin).get(f"{POOLS}{pool.pk}/statement/?month={booked:%Y-%m}&download=csv").content.decode()
    assert "Saldo akhir,41600" in csv_text and "Wulandari" not in csv_text
    pool.manager = regency_admin
    pool.save(update_fields=["manager"])
    assert pool_statements_send(today=add_months(booked, 1)) == 1
    note = Notification.objects.get(recipient=regency_admin, kind="bridge_statement")
    assert "CSR Bank Jatim" in note.body and "Rp8.400" in note.body


def test_rules_and_balance_pick_the_pool_and_apbd_pays_without_discount(
    paid_through_november, api, regency, regency_admin
):
    sponsor, worker, sponsorship = paid_through_november
    richest_but_wrong_decile = make_pool(api, regency_admin, name="Baznas", kind="zakat", decile_max=2, priority=20)
    pool_top_up(pool=richest_but_wrong_decile, amount_idr=1_000_000, actor=regency_admin)
    wrong_occupation = make_pool(
        api,
        regency_admin,
        name="CSR Ojek",
        priority=15,
        occupation_ids=[Occupation.objects.get(code="ojek").pk],
        top_up=1_000_000,
    )
    too_poor = make_pool(api, regency_admin, name="CSR kecil", priority=10, top_up=5_000)
    apbd = make_pool(api, regency_admin, name="APBD Ponorogo", kind="regency_budget", top_up=100_000)
    sponsorship_end(sponsorship=sponsorship, reason="mutasi", ended_at=at(dt.date(2026, 11, 10)))

    assert bridge_scan(today=dt.date(2026, 11, 25)).bridged == 1
    invoice = CoverageMonth.objects.get(worker=worker, month=DEC).invoice
    assert invoice.pool_id == apbd.pk
    assert invoice.amount_idr == 16_800  # PP 50/2025's discount does not apply to APBD-funded premiums
    for pool, balance in ((richest_but_wrong_decile, 1_000_000), (wrong_occupation, 1_000_000), (too_poor, 5_000)):
        pool.refresh_from_db()
        assert pool.balance_idr == balance
    apbd.refresh_from_db()
    assert apbd.balance_idr == 100_000 - 16_800
    assert_ledger(regency, dt.date(2026, 11, 25))


def test_limit_per_worker_then_no_pool_hands_over_to_self_pay(paid_through_november, api, regency, regency_admin):
    sponsor, worker, sponsorship = paid_through_november
    pool = make_pool(api, regency_admin, max_months_per_worker=1, top_up=100_000)
    sponsorship_end(sponsorship=sponsorship, reason="pensiun", ended_at=at(dt.date(2026, 11, 10)))
    assert bridge_scan(today=dt.date(2026, 11, 26)).bridged == 1

    result = bridge_scan(today=dt.date(2026, 12, 26))  # January: the pool's one month is used up
    assert (result.bridged, result.handed_over) == (0, 1)
    bridge = Bridge.objects.get(worker=worker)
    assert bridge.ended_at is not None and bridge.end_reason == "limit"
    link_invoice = Invoice.objects.get(payer_kind="worker", payer_worker=worker)
    assert (link_invoice.status, link_invoice.period, link_invoice.amount_idr) == ("issued", JAN, 16_800)
    kinds = list(ProtectionAction.objects.filter(worker=worker).order_by("at", "pk").values_list("kind", flat=True))
    assert kinds == ["bridged", "bridge_ended", "handed_over"]
    message = Notification.objects.get(recipient=worker.user, kind="self_pay_link")
    assert "/bayar/" in message.body and "JMO" in message.body
    assert bridge_scan(today=dt.date(2026, 12, 27)).handed_over == 0  # one link per month
    pool.refresh_from_db()
    assert pool.balance_idr == 100_000 - 8_400
    assert_ledger(regency, dt.date(2026, 12, 27))


def test_sponsor_not_paying_month_taken_off_the_invoice_then_new_sponsor_stops_the_pool(
    paid_through_november, agency, api, sim, http, client, regency, regency_admin
):
    sponsor, worker, sponsorship = paid_through_november
    neighbour = factories.make_worker(full_name="Tono Sugiarto")
    sponsorship_start(sponsor=sponsor, worker=neighbour, source="admin", started_at=at(dt.date(2026, 10, 1)))
    pool = make_pool(api, regency_admin, kind="regency_budget", name="APBD", top_up=200_000)
    billing_run(period=DEC, notify=False, now=at(dt.date(2026, 11, 24)))
    december = Invoice.objects.get(sponsor=sponsor, period=DEC)
    assert bridge_scan(today=dt.date(2026, 11, 26)).bridged == 0  # the December bill is not due yet

    result = bridge_scan(today=dt.date(2026, 12, 16))  # the 15th passed unpaid
    assert result.bridged == 1 and result.amount_idr == 16_800  # the neighbour was never protected: not bridged
    december.refresh_from_db()
    assert december.status == "void"
    reissue = Invoice.objects.get(replaces=december)  # the sponsor still owes the neighbour's month, alone
    assert list(reissue.lines.values_list("worker_id", flat=True)) == [neighbour.pk]
    live = InvoiceLine.objects.filter(worker=worker, month=DEC, invoice__status__in=["issued", "paid"])
    assert [line.invoice.payer_kind for line in live] == ["pool"]  # nobody is billed twice
    assert_ledger(regency, dt.date(2026, 12, 16))

    # The old sponsor's sponsorship ends; a new sponsor accepts: the pool stops, the flag clears.
    sponsorship_end(sponsorship=sponsorship, reason="tidak membayar", ended_at=at(dt.date(2026, 12, 17)))
    newcomer = factories.make_sponsor(agency=agency, full_name="Dewi Lestari")
    sponsorship_start(sponsor=newcomer, worker=worker, source="admin", started_at=at(dt.date(2026, 12, 18)))
    bridge = Bridge.objects.get(worker=worker)
    assert bridge.end_reason == "rematched"
    assert not MatchPriority.objects.filter(worker=worker, cleared_at__isnull=True).exists()
    assert {"bridge_ended", "rematched"} <= set(
        ProtectionAction.objects.filter(worker=worker).values_list("kind", flat=True)
    )
    billing_run(period=JAN, notify=False, now=at(dt.date(2026, 12, 24)))
    january = Invoice.objects.get(sponsor=newcomer, period=JAN)
    assert january.lines.filter(worker=worker).exists()
    before = PoolEntry.objects.filter(pool=pool).count()
    assert bridge_scan(today=dt.date(2026, 12, 26)).bridged == 0
    pay_invoice(api, sim, http, client, january, "bca_va")
    assert PoolEntry.objects.filter(pool=pool).count() == before
    assert CoverageMonth.objects.get(worker=worker, month=JAN).sponsor_id == newcomer.pk
    assert_ledger(regency, dt.date(2026, 12, 26))


def test_late_payment_of_the_voided_sponsor_invoice_is_surplus_not_a_second_month(
    paid_through_november, api, sim, http, client, regency, regency_admin
):
    sponsor, worker, sponsorship = paid_through_november
    make_pool(api, regency_admin, top_up=50_000)
    billing_run(period=DEC, notify=False, now=at(dt.date(2026, 11, 24)))
    december = Invoice.objects.get(sponsor=sponsor, period=DEC)
    order = api(sponsor.user).post(f"/api/v1/sponsor/invoices/{december.pk}/pay/").json()["order_id"]
    assert bridge_scan(today=dt.date(2026, 12, 16)).bridged == 1
    from tests.billing.conftest import sim_control
    from tests.billing.test_billfix import note_for, post_note

    sim_control(http, sim, "pay", {"order_id": order, "method": "bca_va"})
    assert post_note(client, note_for(order)).status_code == 200
    assert CoverageMonth.objects.filter(worker=worker, month=DEC).count() == 1
    assert CoverageMonth.objects.get(worker=worker, month=DEC).invoice.payer_kind == "pool"
    assert sponsor.credit_entries.filter(kind="surplus").get().amount_idr == 8_400
    assert_ledger(regency, dt.date(2026, 12, 16))
