"""Province and national admins: aggregated figures per regency (or province), scoped, no personal data.

Data: Jawa Timur (35) with Ponorogo (35.02, two agencies) and Trenggalek (35.03), Aceh (11) with Aceh Selatan
(11.01); each regency has ASN sponsoring workers, a billed history with one paid-on-time, one late and some
overdue invoices.
"""

import datetime as dt
import types

import pytest
from django.db import IntegrityError, transaction

from sponsorship.dashboard.selectors import admin_scope, headline
from sponsorship.dashboard.selectors.areas import SUMMED, area_figures, area_scope
from sponsorship.dashboard.selectors.money import arrears_worklist, on_time_rate
from sponsorship.people.models import Profile, Role, Sponsor, Worker
from sponsorship.people.scoping import scope
from sponsorship.regions.models import Region
from sponsorship.regions.services import import_regions
from tests import factories

from .money_data import at, bill, months_back, pay

AREAS = "/api/v1/admin/areas/summary/"
VILLAGES = {"35.02": "35.02.17.1001", "35.03": "35.03.01.2001", "11.01": "11.01.01.2001"}
NAMES = ["Andi Prasetyo", "Bambang Susanto", "Citra Lestari", "Dewi Anggraini"]


def area_user(role, province=None):
    user = factories.make_user(role=None)
    Profile.objects.create(user=user, role=role, province=province)
    return user


@pytest.fixture
def regions(regency):
    import_regions(factories.REGION_FILE, only="35.03")
    import_regions(factories.REGION_FILE, only="11")
    return {code: Region.objects.get(code=code) for code in ("35", "11", "35.02", "35.03", "11.01")}


@pytest.fixture
def land(regions):
    """ASN and workers in three regencies, and a billing history over all of them."""
    sponsors = []
    for i, (code, village) in enumerate(VILLAGES.items()):
        for k in range(2 if code == "35.02" else 1):
            agency = factories.make_agency(regions[code], name=f"Dinas {code} {k}")
            s = factories.make_sponsor(
                agency=agency, village_code=village, capacity=3, full_name=NAMES[(i + k) % len(NAMES)]
            )
            for n in range(i + k + 1):
                w = factories.make_worker(village_code=village, full_name=f"Pekerja Rahasia {code}-{k}-{n}")
                factories.sponsor_worker(s, w)
            sponsors.append(s)
        # one registered worker without a sponsor in each regency
        factories.make_worker(village_code=village, full_name=f"Pekerja Menunggu {code}")
    m3, m2, m1 = months_back(3), months_back(2), months_back(1)
    inv3, inv2, _ = bill(m3), bill(m2), bill(m1)
    for j, s in enumerate(sponsors):
        pay(inv3[s.pk], at(inv3[s.pk].due_date - dt.timedelta(days=1 if j % 2 else -3)))
        if j % 2:
            pay(inv2[s.pk], at(inv2[s.pk].due_date))
    return types.SimpleNamespace(sponsors=sponsors, regions=regions)


def _regency_reference(regency: Region) -> dict:
    """The regency dashboard's own figures, as a regency admin sees them."""
    admin = factories.make_user(role=Role.REGENCY_ADMIN, regency=regency)
    s = admin_scope(admin)
    h, on_time, arrears = headline(s), on_time_rate(s), arrears_worklist(s)
    return {
        "asn": h["asn"],
        "pledged": h["pledged"],
        "workers_registered": h["workers_registered"],
        "workers_covered": h["workers_covered"],
        "target": h["target"],
        "invoices_due": on_time["invoices_due"],
        "paid_on_time": on_time["paid_on_time"],
        "arrears_idr": sum(r["amount_idr"] for r in arrears),
        "arrears_sponsors": len(arrears),
    }


@pytest.mark.django_db
def test_province_admin_sees_their_regencies_and_totals_are_their_sum(land, api):
    admin = area_user(Role.PROVINCE_ADMIN, land.regions["35"])
    resp = api(admin).get(AREAS)
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["level"] == "province" and body["unit"] == "regency" and body["scope"] == "Jawa Timur"
    assert [r["code"] for r in body["rows"]] == ["35.02", "35.03"]
    for row in body["rows"]:
        reference = _regency_reference(land.regions[row["code"]])
        assert {k: row[k] for k in SUMMED} == reference
    for key in SUMMED:
        assert body["totals"][key] == sum(r[key] for r in body["rows"])
    t = body["totals"]
    assert t["asn"] == 3 and t["workers_covered"] == 1 + 2 + 2
    assert t["arrears_idr"] > 0 and t["invoices_due"] > t["paid_on_time"] > 0
    assert t["on_time_pct"] == round(100.0 * t["paid_on_time"] / t["invoices_due"], 1)
    assert t["target_pct"] == round(100.0 * t["workers_covered"] / t["target"], 1)


@pytest.mark.django_db
def test_province_admin_cannot_see_another_province(land, api):
    admin = area_user(Role.PROVINCE_ADMIN, land.regions["35"])
    resp = api(admin).get(AREAS, {"province": "11"})
    assert resp.status_code == 403
    assert "message" in resp.json()
    body = api(admin).get(AREAS, {"province": "35"}).json()
    assert "11.01" not in {r["code"] for r in body["rows"]}
    with pytest.raises(Exception):  # noqa: B017, PT011 - PermissionDenied from the selector itself
        area_scope(admin, province_code="11")


@pytest.mark.django_db
def test_area_admins_see_no_personal_data(land, api):
    for admin in (area_user(Role.PROVINCE_ADMIN, land.regions["35"]), area_user(Role.NATIONAL_ADMIN)):
        client = api(admin)
        body = client.get(AREAS).content.decode()
        for secret in ("Pekerja Rahasia", "Pekerja Menunggu", *NAMES, "0812", "nik", "nip", "phone"):
            assert secret not in body
        # every person-level endpoint is closed to them, the regency dashboard too
        for url in (
            "/api/v1/workers/",
            f"/api/v1/workers/{Worker.objects.first().pk}/",
            "/api/v1/sponsors/",
            "/api/v1/admin/dashboard/summary/",
            "/api/v1/admin/dashboard/arrears/",
            "/api/v1/admin/dashboard/agencies/",
            "/api/v1/admin/dashboard/coverage/",
        ):
            resp = client.get(url)
            # closed (403/404), or a list the scoping leaves empty
            assert resp.status_code in (200, 403, 404), url
            assert not any(secret in resp.content.decode() for secret in ("Pekerja Rahasia", *NAMES)), url
        # and the one scoping rule gives them no row
        assert not scope(Worker.objects.all(), admin).exists()
        assert not scope(Sponsor.objects.all(), admin).exists()


@pytest.mark.django_db
def test_national_admin_sees_provinces_summed_from_regencies(land, api):
    national = area_user(Role.NATIONAL_ADMIN)
    body = api(national).get(AREAS).json()
    assert body["level"] == "national" and body["unit"] == "province"
    assert [(r["code"], r["regencies"]) for r in body["rows"]] == [("11", 1), ("35", 2)]
    province = api(area_user(Role.PROVINCE_ADMIN, land.regions["35"])).get(AREAS).json()
    jatim = body["rows"][1]
    assert {k: jatim[k] for k in SUMMED} == {k: province["totals"][k] for k in SUMMED}
    aceh = area_figures(area_scope(national, province_code="11"))
    assert {k: body["rows"][0][k] for k in SUMMED} == {k: aceh["totals"][k] for k in SUMMED}
    for key in (*SUMMED, "regencies"):
        assert body["totals"][key] == sum(r[key] for r in body["rows"])
    assert body["totals"]["asn"] == Sponsor.objects.count() == 4
    # drill down into one province; an unknown code is a 404
    drill = api(national).get(AREAS, {"province": "35"}).json()
    assert drill["level"] == "province" and [r["code"] for r in drill["rows"]] == ["35.02", "35.03"]
    assert api(national).get(AREAS, {"province": "99"}).status_code == 404


@pytest.mark.django_db
def test_other_roles_cannot_read_area_figures(land, api, regency_admin, agency_admin):
    for user in (regency_admin, agency_admin, land.sponsors[0].user):
        assert api(user).get(AREAS).status_code == 403
    assert api(None).get(AREAS).status_code in (401, 403)


@pytest.mark.django_db
def test_province_admin_needs_a_province():
    user = factories.make_user()
    with pytest.raises(IntegrityError), transaction.atomic():
        Profile.objects.create(user=user, role=Role.PROVINCE_ADMIN)


@pytest.mark.django_db
def test_web_page_for_area_admins(land, client):
    admin = area_user(Role.PROVINCE_ADMIN, land.regions["35"])
    client.force_login(admin)
    resp = client.get("/dashboard/")
    assert resp.status_code == 302 and resp["Location"].endswith("/dashboard/areas/")
    page = client.get("/dashboard/areas/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Kabupaten Ponorogo" in html and "Kabupaten Trenggalek" in html and "Aceh Selatan" not in html
    for secret in ("Pekerja Rahasia", "Pekerja Menunggu", *NAMES):
        assert secret not in html
    assert client.get("/dashboard/areas/", {"province": "11"}).status_code == 403
    assert client.get("/dashboard/arrears/").status_code == 302  # to their own page, never the worklist
    client.force_login(area_user(Role.NATIONAL_ADMIN))
    html = client.get("/dashboard/areas/").content.decode()
    assert "Jawa Timur" in html and "Aceh" in html and "?province=35" in html


# -- precomputed rows (dashboard/services/areas.py) --------------------------------------------------------------
@pytest.mark.django_db
def test_precomputed_rows_equal_a_live_computation_and_the_pages_read_them(land, api, client):
    from django.utils import timezone

    from sponsorship.dashboard.models import RegencyFigures
    from sponsorship.dashboard.services.areas import area_figures_refresh

    result = area_figures_refresh()
    assert result == {"regencies": 3, "refreshed": 3, "left": 0}
    stored = {f.regency.code: f for f in RegencyFigures.objects.select_related("regency")}
    assert set(stored) == {"35.02", "35.03", "11.01"}
    for code, figures in stored.items():
        assert {k: getattr(figures, k) for k in SUMMED} == _regency_reference(land.regions[code])
    # the API reads the rows: change a stored figure, the API shows it (and the totals follow)
    RegencyFigures.objects.filter(regency__code="35.03").update(asn=1000)
    admin = area_user(Role.PROVINCE_ADMIN, land.regions["35"])
    body = api(admin).get(AREAS).json()
    row = {r["code"]: r for r in body["rows"]}
    assert row["35.03"]["asn"] == 1000 and body["totals"]["asn"] == row["35.02"]["asn"] + 1000
    assert "11.01" not in row  # the province admin's province only
    oldest = min(f.computed_at for f in stored.values() if f.regency.code.startswith("35"))
    assert body["computed_at"] == body["totals"]["computed_at"]
    assert dt.datetime.fromisoformat(body["computed_at"]) == oldest
    national = api(area_user(Role.NATIONAL_ADMIN)).get(AREAS).json()
    assert national["totals"]["asn"] == 1000 + sum(f.asn for f in RegencyFigures.objects.exclude(regency__code="35.03"))
    for key in SUMMED:
        assert national["totals"][key] == sum(r[key] for r in national["rows"])
    # the page shows how fresh the figures are
    client.force_login(admin)
    html = client.get("/dashboard/areas/").content.decode()
    assert 'data-testid="computed-at"' in html and "1.000" in html
    # a periodic run refreshes only stale rows; a row older than that is recomputed to the live value
    assert area_figures_refresh(stale_after=dt.timedelta(minutes=14))["refreshed"] == 0
    RegencyFigures.objects.filter(regency__code="35.03").update(computed_at=timezone.now() - dt.timedelta(hours=1))
    assert area_figures_refresh(stale_after=dt.timedelta(minutes=14))["refreshed"] == 1
    assert RegencyFigures.objects.get(regency__code="35.03").asn == _regency_reference(land.regions["35.03"])["asn"]


@pytest.mark.django_db
def test_a_regency_without_a_row_is_computed_live_and_the_budget_leaves_the_rest_for_later(land, api):
    from sponsorship.dashboard.models import RegencyFigures
    from sponsorship.dashboard.services.areas import area_figures_refresh
    from sponsorship.dashboard.tasks import refresh_area_figures

    assert area_figures_refresh(budget_s=0.0) == {"regencies": 3, "refreshed": 1, "left": 2}
    body = api(area_user(Role.NATIONAL_ADMIN)).get(AREAS).json()
    assert body["totals"]["asn"] == Sponsor.objects.count()  # two rows live, one stored: the same sums
    assert RegencyFigures.objects.count() == 1  # reading never writes
    assert refresh_area_figures.apply().get() == {"regencies": 3, "refreshed": 2, "left": 0}
