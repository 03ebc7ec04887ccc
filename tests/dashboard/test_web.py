"""Server-rendered dashboard: session login, scoping (regency / agency / 403), exports audited, village targets."""

import pytest
from django.test import Client

from sponsorship.core.models import AuditLog
from sponsorship.dashboard.models import VillageTarget
from sponsorship.dashboard.selectors import admin_scope, coverage_by_district, coverage_by_village, headline
from sponsorship.people.models import Role
from tests import factories


def web(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def pledges(agency, other_agency):
    mine = factories.make_sponsor(agency=agency, capacity=2, full_name="Milik OPD Saya")
    theirs = factories.make_sponsor(agency=other_agency, capacity=2, full_name="Milik OPD Lain")
    factories.sponsor_worker(mine, factories.make_worker())
    factories.sponsor_worker(theirs, factories.make_worker(village_code="35.02.17.1002"))
    factories.sponsor_worker(theirs, factories.make_worker(village_code="35.02.01.2001"))
    return mine, theirs


@pytest.mark.django_db
def test_login_required_and_non_admins_get_403(regency, sponsor):
    r = Client().get("/dashboard/")
    assert r.status_code == 302 and r.url.startswith("/dashboard/login/")
    assert web(sponsor.user).get("/dashboard/").status_code == 403
    assert web(sponsor.user).get("/dashboard/export/agencies.csv").status_code == 403
    worker_user = factories.make_user("pekerja.x", Role.WORKER)
    assert web(worker_user).get("/dashboard/imports/").status_code == 403


@pytest.mark.django_db
def test_login_form(regency_admin):
    client = Client()
    r = client.post("/dashboard/login/", {"username": "admin.kab", "password": "secret-pass-123"})
    assert r.status_code == 302 and r.url == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert Client().post("/dashboard/login/", {"username": "admin.kab", "password": "salah"}).status_code == 200


@pytest.mark.django_db
def test_every_page_renders_for_a_regency_admin(regency_admin, pledges):
    client = web(regency_admin)
    for url in (
        "/dashboard/",
        "/dashboard/coverage/",
        "/dashboard/coverage/?district=35.02.17",
        "/dashboard/money/",
        "/dashboard/arrears/",
        "/dashboard/imports/",
    ):
        r = client.get(url)
        assert r.status_code == 200, url
    body = client.get("/dashboard/").content.decode()
    assert "Dinas Kesehatan" in body and "Dinas Pendidikan dan Kebudayaan" in body
    assert "cdn" not in body.lower() and "/static/dashboard/vendor/chart.umd.min.js" in body


@pytest.mark.django_db
def test_agency_admin_sees_their_agency_only(agency_admin, pledges, regency_admin):
    scope = admin_scope(agency_admin)
    assert headline(scope)["workers_covered"] == 1
    assert headline(admin_scope(regency_admin))["workers_covered"] == 3
    body = web(agency_admin).get("/dashboard/").content.decode()
    assert "Dinas Kesehatan" not in body
    csv = web(agency_admin).get("/dashboard/export/agencies.csv").content.decode("utf-8-sig")
    assert "Dinas Pendidikan" in csv and "Dinas Kesehatan" not in csv


@pytest.mark.django_db
def test_coverage_against_default_and_overridden_targets(regency_admin, pledges, agency_admin):
    scope = admin_scope(regency_admin)
    districts = {d["code"]: d for d in coverage_by_district(scope)}
    kota = districts["35.02.17"]
    assert kota["target"] == 100 * kota["villages"]
    assert kota["workers_covered"] == 2 and kota["workers_registered"] == 2
    client = web(regency_admin)
    r = client.post("/dashboard/coverage/villages/35.02.17.1001/target/", {"target": "150", "district": "35.02.17"})
    assert r.status_code == 302
    villages = {v["code"]: v for v in coverage_by_village(scope, "35.02.17")}
    assert villages["35.02.17.1001"]["target"] == 150 and villages["35.02.17.1001"]["target_overridden"]
    assert villages["35.02.17.1001"]["target_pct"] == round(100 / 150, 1)
    assert coverage_by_district(scope)[0]["target"] >= 0
    assert AuditLog.objects.filter(action="village_target.set").count() == 1
    client.post("/dashboard/coverage/villages/35.02.17.1001/target/", {"target": "abc", "district": "35.02.17"})
    assert VillageTarget.objects.get().target == 150
    client.post("/dashboard/coverage/villages/35.02.17.1001/target/", {"target": "", "district": "35.02.17"})
    assert not VillageTarget.objects.exists()
    # Agency admins cannot change targets.
    web(agency_admin).post("/dashboard/coverage/villages/35.02.17.1001/target/", {"target": "5"})
    assert not VillageTarget.objects.exists()


@pytest.mark.django_db
def test_web_exports_are_audited_and_formula_safe(regency_admin, agency):
    factories.make_sponsor(agency=agency, full_name='=HYPERLINK("http://x")')
    agency.name = "=cmd|' /C calc'!A0"
    agency.save()
    r = web(regency_admin).get("/dashboard/export/agencies.csv")
    text = r.content.decode("utf-8-sig")
    assert "'=cmd" in text
    assert r["Content-Disposition"].startswith('attachment; filename="agencies-')
    log = AuditLog.objects.get(action="export.report")
    assert log.actor == regency_admin and log.extra["format"] == "csv" and log.extra["rows"] == 1
    assert web(regency_admin).get("/dashboard/export/nope.csv").status_code == 404
    assert web(regency_admin).get("/dashboard/export/agencies.pdf").status_code == 404


@pytest.mark.django_db
def test_import_pages_upload_and_report(regency_admin, agency):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .conftest import csv_bytes
    from .test_imports import SPONSOR_HEADER

    content = csv_bytes([SPONSOR_HEADER, [1, "123", "Salah", "PNS", agency.name, "", "", "35.02.17.1001", "", 2]])
    client = web(regency_admin)
    r = client.post("/dashboard/imports/", {"kind": "sponsors", "file": SimpleUploadedFile("asn.csv", content)})
    assert r.status_code == 302
    page = client.get(r.url).content.decode()
    assert "NIP harus 18 digit" in page and "Baris" in page
    r = client.post("/dashboard/imports/", {"kind": "sponsors", "file": SimpleUploadedFile("asn.pdf", b"%PDF")})
    assert r.status_code == 200 and "tidak didukung" in r.content.decode()
    assert client.get("/dashboard/imports/templates/sponsors.xlsx").status_code == 200
    assert client.get("/dashboard/imports/templates/sponsors.csv").content.decode("utf-8-sig").startswith("No,NIP")


@pytest.mark.django_db
def test_layout_follows_the_readers_language(client):
    """The layout and navigation come from the catalogue: Indonesian by default, English when the browser asks."""
    assert "Masuk ke dasbor" in client.get("/dashboard/login/").content.decode()
    english = client.get("/dashboard/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sign in to the dashboard" in english and '<html lang="en">' in english
