"""Rates and holidays edited in the Django admin go through services/premium_rates.py: checked (form errors, never a
500) and audited with old and new values; a rate already billed keeps what its invoice lines were computed from."""

import datetime as dt

import pytest
from django.urls import reverse

from backend.api.errors import ApplicationError
from sponsorship.billing.models import Holiday, InvoiceLine, PremiumRate
from sponsorship.billing.services import premium_rates
from sponsorship.billing.services.billing import billing_run
from sponsorship.core.models import AuditLog

D = dt.date


# rate_form() as the service takes it
RATE = {
    "name": "Tarif uji",
    "valid_from": D(2030, 1, 1),
    "valid_to": None,
    "sector": "any",
    "funding_source": "any",
    "declared_income_idr": 1_000_000,
    "jkk_rate_bp": 100,
    "jkm_idr": 6_800,
    "jht_rate_bp": 200,
    "discount_pct": 0,
    "priority": 30,
    "legal_basis": "uji",
}


def rate_form(**override) -> dict:
    data = {
        "name": "Tarif uji",
        "valid_from": "2030-01-01",
        "valid_to": "",
        "sector": "any",
        "funding_source": "any",
        "declared_income_idr": "1000000",
        "jkk_rate_bp": "100",
        "jkm_idr": "6800",
        "jht_rate_bp": "200",
        "discount_pct": "0",
        "priority": "30",
        "legal_basis": "uji",
    }
    data.update(override)
    return data


@pytest.fixture
def staff(admin_client):
    return admin_client


def test_adding_a_rate_in_the_admin_writes_an_audit_row(staff, admin_user):
    response = staff.post(reverse("admin:billing_premiumrate_add"), rate_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    rate = PremiumRate.objects.get(name="Tarif uji")
    assert (rate.valid_from, rate.jkm_idr, rate.priority) == (D(2030, 1, 1), 6_800, 30)
    entry = AuditLog.objects.get(action="premium_rate.create")
    assert entry.actor == admin_user and entry.object_id == str(rate.pk)
    assert entry.object_type == "billing.premiumrate"
    assert entry.before is None
    assert entry.after["valid_from"] == "2030-01-01" and entry.after["jkm_idr"] == 6_800
    assert entry.after["declared_income_idr"] == 1_000_000 and entry.after["valid_to"] is None


@pytest.mark.parametrize(
    "override,field",
    [
        ({"jkm_idr": "0"}, "jkm_idr"),
        ({"declared_income_idr": "0"}, "declared_income_idr"),
        ({"discount_pct": "101"}, "discount_pct"),
        ({"valid_to": "2029-12-31"}, "valid_to"),
        # the seeded standard rate (any/any, priority 0, open-ended since 2015) is valid in 2030 too
        ({"priority": "0"}, "valid_from"),
    ],
)
def test_an_invalid_rate_is_a_form_error_not_a_500(staff, override, field):
    count = PremiumRate.objects.count()
    response = staff.post(reverse("admin:billing_premiumrate_add"), rate_form(**override))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert PremiumRate.objects.count() == count
    assert not AuditLog.objects.filter(action__startswith="premium_rate.").exists()


def test_overlap_only_counts_the_same_sector_funding_source_and_priority(db):
    base = {**RATE, "name": "x"}
    del base["valid_from"], base["sector"], base["funding_source"], base["priority"]
    existing = premium_rates.premium_rate_create(
        actor=None, valid_from=D(2030, 1, 1), sector="transport", funding_source="sponsor", priority=40, **base
    )
    # same keys, later start: overlaps the open-ended row
    with pytest.raises(ApplicationError) as exc:
        premium_rates.premium_rate_create(
            actor=None, valid_from=D(2031, 1, 1), sector="transport", funding_source="sponsor", priority=40, **base
        )
    assert "valid_from" in exc.value.extra["fields"]
    # another sector, or another priority, is a different row of the rate book
    premium_rates.premium_rate_create(
        actor=None, valid_from=D(2031, 1, 1), sector="non_transport", funding_source="sponsor", priority=40, **base
    )
    premium_rates.premium_rate_create(
        actor=None, valid_from=D(2031, 1, 1), sector="transport", funding_source="sponsor", priority=41, **base
    )
    # end the first one, then the next period may start
    premium_rates.premium_rate_update(rate=existing, actor=None, valid_to=D(2030, 12, 31))
    premium_rates.premium_rate_create(
        actor=None, valid_from=D(2031, 1, 1), sector="transport", funding_source="sponsor", priority=40, **base
    )


def test_editing_a_rate_audits_only_what_changed(staff, admin_user):
    rate = premium_rates.premium_rate_create(actor=None, **RATE)
    response = staff.post(
        reverse("admin:billing_premiumrate_change", args=[rate.pk]), rate_form(jkm_idr="7000", name="Tarif uji 2")
    )
    assert response.status_code == 302
    rate.refresh_from_db()
    assert (rate.jkm_idr, rate.name) == (7_000, "Tarif uji 2")
    entry = AuditLog.objects.get(action="premium_rate.update")
    assert entry.actor == admin_user
    assert entry.before == {"name": "Tarif uji", "jkm_idr": 6_800}
    assert entry.after == {"name": "Tarif uji 2", "jkm_idr": 7_000}


def test_a_billed_rate_keeps_its_amounts_and_may_only_end_after_its_last_month(staff, family):
    billing_run(period=D(2027, 1, 1), notify=False)
    line = InvoiceLine.objects.filter(rate__isnull=False).select_related("rate").first()
    rate = line.rate
    url = reverse("admin:billing_premiumrate_change", args=[rate.pk])

    page = staff.get(url)
    assert page.status_code == 200
    readonly = set(page.context["adminform"].readonly_fields)
    assert set(premium_rates.RATE_LOCKED_WHEN_USED) <= readonly
    assert "sudah dipakai pada baris tagihan" in page.content.decode()
    assert not staff.get(reverse("admin:billing_premiumrate_delete", args=[rate.pk])).status_code == 200

    # a read-only field posted anyway is ignored; the end of validity may move, but not before 2027-01
    jkm = rate.jkm_idr
    response = staff.post(
        url,
        rate_form(
            name=rate.name,
            valid_from=str(rate.valid_from),
            valid_to="2026-12-31",
            sector=rate.sector,
            funding_source=rate.funding_source,
            priority=str(rate.priority),
            jkm_idr="1",
        ),
    )
    assert response.status_code == 200 and "valid_to" in response.context["adminform"].form.errors
    response = staff.post(
        url,
        rate_form(
            name=rate.name,
            valid_to="2027-01-31",
            priority=str(rate.priority),
            legal_basis=rate.legal_basis,
            jkm_idr="1",
        ),
    )
    assert response.status_code == 302
    rate.refresh_from_db()
    assert rate.valid_to == D(2027, 1, 31) and rate.jkm_idr == jkm
    entry = AuditLog.objects.get(action="premium_rate.update", object_id=str(rate.pk))
    assert set(entry.after) == {"valid_to"}

    # the service says the same to any other caller
    with pytest.raises(ApplicationError) as exc:
        premium_rates.premium_rate_update(rate=rate, actor=None, jkm_idr=jkm + 1)
    assert "jkm_idr" in exc.value.extra["fields"]
    with pytest.raises(ApplicationError):
        premium_rates.premium_rate_delete(rate=rate, actor=None)
    line.refresh_from_db()
    assert line.rate_id == rate.pk


def test_an_unused_rate_is_deleted_through_the_service(staff):
    rate = premium_rates.premium_rate_create(actor=None, **{**RATE, "name": "Salah ketik", "priority": 99})
    response = staff.post(reverse("admin:billing_premiumrate_delete", args=[rate.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not PremiumRate.objects.filter(pk=rate.pk).exists()
    entry = AuditLog.objects.get(action="premium_rate.delete")
    assert entry.object_id == str(rate.pk) and entry.before["name"] == "Salah ketik" and entry.after is None


def test_holidays_in_the_admin_are_audited_and_checked(staff):
    response = staff.post(reverse("admin:billing_holiday_add"), {"date": "2031-08-17", "name": "HUT RI"})
    assert response.status_code == 302
    holiday = Holiday.objects.get(date=D(2031, 8, 17))
    assert AuditLog.objects.get(action="holiday.create").after == {"date": "2031-08-17", "name": "HUT RI"}
    response = staff.post(reverse("admin:billing_holiday_add"), {"date": "2031-08-17", "name": "Lagi"})
    assert response.status_code == 200 and response.context["adminform"].form.errors
    response = staff.post(
        reverse("admin:billing_holiday_change", args=[holiday.pk]), {"date": "2031-08-17", "name": "Hari Kemerdekaan"}
    )
    assert response.status_code == 302
    entry = AuditLog.objects.get(action="holiday.update")
    assert (entry.before, entry.after) == ({"name": "HUT RI"}, {"name": "Hari Kemerdekaan"})
