"""The trigger-maintained per agency-month summary (PostgreSQL) gives exactly the raw definitions.

Every write path is exercised: billing runs (bulk lines), payments through the coverage service, a raw
queryset update, a prepay invoice, a void, a remittance, deleting lines, a sponsor moving agency.
"""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from sponsorship.billing.models import CoverageMonth, Invoice, InvoiceLine
from sponsorship.billing.services.billing import invoice_create_prepay, invoice_void
from sponsorship.dashboard.selectors import AdminScope, admin_scope, money
from sponsorship.people.models import Sponsor, Worker

from .money_data import at, pay
from .test_money_views import history  # noqa: F401  (fixture)


def table() -> dict:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT agency_id, month, outstanding_idr, collected_idr, remitted_idr, "
            f"paid_invoices, paid_on_time FROM {money.SUMMARY_TABLE}"
        )
        return {(r[0], r[1]): r[2:] for r in cur.fetchall() if any(r[2:])}


def rebuilt() -> dict:
    with connection.cursor() as cur:
        cur.execute("SAVEPOINT rebuild_check")
        cur.execute("SELECT sponsorship_dash_rebuild()")
        out = table()
        cur.execute("ROLLBACK TO SAVEPOINT rebuild_check")
    return out


def assert_agrees(scopes, today=None):
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [money.SUMMARY_TABLE])
        assert cur.fetchone()[0]
    assert table() == rebuilt()
    for scope in scopes:
        for months in (12, 3):
            assert money.money_by_month(scope, today=today, months=months) == money.money_by_month_raw(
                scope, today=today, months=months
            )
            assert money.on_time_rate(scope, today=today, months=months) == money.on_time_rate_raw(
                scope, today=today, months=months
            )
            assert money.agency_money(scope, today=today, months=months) == money.agency_money_raw(
                scope, today=today, months=months
            )


@pytest.mark.django_db
def test_summary_equals_raw_through_every_write_path(history, regency_admin, agency_admin, other_agency):  # noqa: F811
    h = history
    scopes = [
        admin_scope(regency_admin),
        admin_scope(agency_admin),
        AdminScope(regency=other_agency.regency, agency=other_agency),
    ]
    assert_agrees(scopes)
    assert any(v[0] for v in table().values())  # the fixture's billing runs and payments are in it

    # pay B's M-2 invoice late (coverage service), A's M-1 on time
    pay(h.inv2[h.b.pk], at(h.inv2[h.b.pk].due_date + dt.timedelta(days=9)))
    pay(h.inv1[h.a.pk], at(h.inv1[h.a.pk].due_date))
    assert_agrees(scopes)

    # a prepay invoice (3 months) issued through the billing service, then voided
    prepay = invoice_create_prepay(sponsor=h.a, months=3)
    assert_agrees(scopes)
    invoice_void(invoice=prepay, reason="uji")
    assert_agrees(scopes)

    # remittance marks coverage months as sent (bulk queryset update)
    CoverageMonth.objects.filter(month=h.m3).update(remitted_at=timezone.now())
    assert_agrees(scopes)

    # a raw status flip back and forth, a line deleted, amounts edited
    Invoice.objects.filter(pk=h.inv1[h.b.pk].pk).update(status=Invoice.Status.VOID, void_reason="x")
    assert_agrees(scopes)
    Invoice.objects.filter(pk=h.inv1[h.b.pk].pk).update(status=Invoice.Status.ISSUED, void_reason="")
    InvoiceLine.objects.filter(invoice=h.inv1[h.b.pk]).update(jkk_idr=0, jkm_idr=1, jht_idr=0, amount_idr=1)
    assert_agrees(scopes)
    CoverageMonth.objects.filter(invoice=h.inv1[h.a.pk]).delete()
    InvoiceLine.objects.filter(invoice=h.inv1[h.a.pk]).delete()
    assert_agrees(scopes)

    # a sponsor moves to another agency and takes the history along
    Sponsor.objects.filter(pk=h.b.pk).update(agency=h.a.agency)
    assert_agrees(scopes)
    s = Sponsor.objects.get(pk=h.a.pk)
    s.agency = other_agency
    s.save()
    assert_agrees(scopes)
    # on other days the open invoices are read live: still equal
    for days in (-40, 20, 75):
        assert_agrees(scopes, today=timezone.localdate() + dt.timedelta(days=days))


@pytest.mark.django_db
def test_single_query_tables_equal_the_orm_versions(history, regency_admin, agency_admin, other_agency):  # noqa: F811
    from sponsorship.core.audit import audit_record
    from sponsorship.dashboard.models import VillageTarget
    from sponsorship.dashboard.selectors import coverage_by_district, coverage_by_village
    from sponsorship.dashboard.selectors.figures import _covered_by
    from sponsorship.regions.models import Region

    h = history
    audit_record(actor=regency_admin, action=money.REMIND_ACTION, object_type="people.sponsor", object_id=str(h.b.pk))
    scopes = [
        admin_scope(regency_admin),
        admin_scope(agency_admin),
        AdminScope(regency=other_agency.regency, agency=other_agency),
    ]
    village = Region.objects.get(code="35.02.17.1001")
    VillageTarget.objects.create(village=village, target=7)
    for scope in scopes:
        for today in (None, timezone.localdate() + dt.timedelta(days=45)):
            assert money.arrears_worklist(scope, today=today) == money.arrears_worklist_raw(scope, today=today)
            assert money.arrears_worklist(scope, today=today, limit=1) == money.arrears_worklist_raw(
                scope, today=today, limit=1
            )
        districts = coverage_by_district(scope)
        covered = _covered_by(scope, "village__parent_id")
        protected = money.protected_this_month(scope, by="village__parent_id")
        for row in districts:
            district = Region.objects.get(code=row["code"])
            assert row["workers_registered"] == Worker.objects.filter(village__parent=district).count()
            assert row["workers_covered"] == covered.get(district.pk, 0)
            assert row["workers_protected"] == protected.get(district.pk, 0)
        assert sum(r["workers_registered"] for r in districts) == 3
        villages = coverage_by_village(scope, "35.02.17")
        covered = _covered_by(scope, "village_id", worker__village__parent=village.parent)
        protected = money.protected_this_month(scope, by="village_id")
        for row in villages:
            v = Region.objects.get(code=row["code"])
            assert row["workers_registered"] == Worker.objects.filter(village=v).count()
            assert row["workers_covered"] == covered.get(v.pk, 0)
            assert row["workers_protected"] == protected.get(v.pk, 0)
    assert (
        money.arrears_worklist(scopes[0])[0]["last_reminder"] or money.arrears_worklist(scopes[0])[1]["last_reminder"]
    )
