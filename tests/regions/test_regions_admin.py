"""Regency settings and regions edited in the Django admin go through regions/services.py: checked (form errors,
never a 500) and audited with old and new values."""

import pytest
from django.urls import reverse

from backend.api.errors import ApplicationError
from sponsorship.core.models import AuditLog
from sponsorship.regions import services
from sponsorship.regions.models import RegencyConfig, Region


def config_form(config: RegencyConfig, **override) -> dict:
    data = {
        "timezone": config.timezone,
        "matching_radius_m": str(config.matching_radius_m),
        "decline_cooldown_days": str(config.decline_cooldown_days),
        "village_target": str(config.village_target),
        "max_new_member_age": str(config.max_new_member_age),
        "decile_cutoff": "" if config.decile_cutoff is None else str(config.decile_cutoff),
        "dtsen_round_months": str(config.dtsen_round_months),
        "bpjs_counted_months": str(config.bpjs_counted_months),
        # payday and schedule (payday branch): the form carries every setting
        "salary_day": str(config.salary_day),
        "tpp_day": "" if config.tpp_day is None else str(config.tpp_day),
        "thr_month": "" if config.thr_month is None else str(config.thr_month),
        "thirteenth_month": "" if config.thirteenth_month is None else str(config.thirteenth_month),
        "billing_hour": str(config.billing_hour),
        "reminder_hour": str(config.reminder_hour),
        "payday_shift": config.payday_shift,
    }
    if config.payday_reminders:
        data["payday_reminders"] = "on"
    data.update(override)
    return data


def test_changing_a_regency_setting_in_the_admin_writes_an_audit_row(admin_client, admin_user, regency):
    config = RegencyConfig.objects.get(regency=regency)
    assert config.matching_radius_m == 5_000
    response = admin_client.post(
        reverse("admin:regions_regencyconfig_change", args=[config.pk]),
        config_form(config, matching_radius_m="3000", village_target="120"),
    )
    assert response.status_code == 302
    config.refresh_from_db()
    assert (config.matching_radius_m, config.village_target) == (3_000, 120)
    entry = AuditLog.objects.get(action="regency_config.update")
    assert entry.actor == admin_user
    assert (entry.object_type, entry.object_id) == ("regions.regencyconfig", str(config.pk))
    assert entry.before == {"matching_radius_m": 5_000, "village_target": 100}
    assert entry.after == {"matching_radius_m": 3_000, "village_target": 120}
    assert entry.extra == {"regency": regency.code}


@pytest.mark.parametrize(
    "field,value", [("matching_radius_m", "0"), ("max_new_member_age", "650"), ("village_target", "1000000")]
)
def test_an_invalid_regency_setting_is_a_form_error(admin_client, regency, field, value):
    config = RegencyConfig.objects.get(regency=regency)
    response = admin_client.post(
        reverse("admin:regions_regencyconfig_change", args=[config.pk]), config_form(config, **{field: value})
    )
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    config.refresh_from_db()
    assert getattr(config, field) != int(value)
    assert not AuditLog.objects.filter(action="regency_config.update").exists()


def test_the_regency_of_a_setting_cannot_change_and_unchanged_saves_write_nothing(admin_client, regency):
    config = RegencyConfig.objects.get(regency=regency)
    page = admin_client.get(reverse("admin:regions_regencyconfig_change", args=[config.pk]))
    assert "regency" in page.context["adminform"].readonly_fields
    response = admin_client.post(reverse("admin:regions_regencyconfig_change", args=[config.pk]), config_form(config))
    assert response.status_code == 302
    assert not AuditLog.objects.filter(action="regency_config.update").exists()
    with pytest.raises(ApplicationError):
        services.regency_config_update(config=config, actor=None, regency=Region.objects.get(code="35.02.17"))


def test_adding_and_deleting_regency_settings_are_audited(admin_client, regency):
    other = Region.objects.create(code="35.99", name="Kabupaten Uji", level=Region.Level.REGENCY, parent=regency.parent)
    response = admin_client.post(
        reverse("admin:regions_regencyconfig_add"),
        {"regency": str(other.pk), **config_form(RegencyConfig(), timezone="Asia/Makassar")},
    )
    assert response.status_code == 302
    config = RegencyConfig.objects.get(regency=other)
    assert config.timezone == "Asia/Makassar"
    entry = AuditLog.objects.get(action="regency_config.create")
    assert entry.before is None and entry.after["regency"] == "35.99" and entry.after["timezone"] == "Asia/Makassar"
    response = admin_client.post(reverse("admin:regions_regencyconfig_delete", args=[config.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not RegencyConfig.objects.filter(regency=other).exists()
    assert AuditLog.objects.get(action="regency_config.delete").before["matching_radius_m"] == 5_000


def test_region_edits_are_audited_and_the_code_stays(admin_client, admin_user, regency):
    village = Region.objects.get(code="35.02.17.1001")
    url = reverse("admin:regions_region_change", args=[village.pk])
    page = admin_client.get(url)
    assert {"code", "level", "parent"} <= set(page.context["adminform"].readonly_fields)
    response = admin_client.post(
        url, {"name": village.name, "village_kind": "desa", "lat": "-7.9", "lon": "111.5", "code": "99.99"}
    )
    assert response.status_code == 302
    village.refresh_from_db()
    assert village.code == "35.02.17.1001" and (village.lat, village.lon) == (-7.9, 111.5)
    entry = AuditLog.objects.get(action="region.update")
    assert entry.actor == admin_user and entry.after["lat"] == -7.9 and "code" not in entry.after
    # half a coordinate is a form error
    response = admin_client.post(url, {"name": village.name, "village_kind": "desa", "lat": "-7.8", "lon": ""})
    assert response.status_code == 200 and "lon" in response.context["adminform"].form.errors
    # regions are never deleted
    assert admin_client.get(reverse("admin:regions_region_delete", args=[village.pk])).status_code == 403


def test_adding_a_region_derives_level_and_parent(admin_client, regency):
    response = admin_client.post(
        reverse("admin:regions_region_add"), {"code": "35.02.17.2999", "name": "Desa Uji", "village_kind": "desa"}
    )
    assert response.status_code == 302
    region = Region.objects.get(code="35.02.17.2999")
    assert region.level == Region.Level.VILLAGE and region.parent.code == "35.02.17"
    assert AuditLog.objects.get(action="region.create").after["code"] == "35.02.17.2999"
    response = admin_client.post(reverse("admin:regions_region_add"), {"code": "35.02.88.2001", "name": "Yatim"})
    assert response.status_code == 200 and "code" in response.context["adminform"].form.errors


def test_the_decile_cutoff_is_a_regency_setting_checked_in_the_admin(admin_client, regency):
    config = RegencyConfig.objects.get(regency=regency)
    url = reverse("admin:regions_regencyconfig_change", args=[config.pk])
    assert admin_client.post(url, config_form(config, decile_cutoff="11")).status_code == 200  # the form shows why
    assert RegencyConfig.objects.get(pk=config.pk).decile_cutoff is None
    assert admin_client.post(url, config_form(config, decile_cutoff="4")).status_code == 302
    assert RegencyConfig.objects.get(pk=config.pk).decile_cutoff == 4
