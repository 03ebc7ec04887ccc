"""Coverage map, village detail, monthly printable report, decile decisions: rendered and scoped."""

import datetime as dt
import re

import pytest
from django.test import Client

from sponsorship.core.models import AuditLog
from sponsorship.people.models import DecileReview, DecileRound, Sponsorship, Worker
from sponsorship.regions.models import Region
from tests import factories

pytestmark = pytest.mark.django_db


def web(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def pledges(agency, other_agency):
    mine = factories.make_sponsor(agency=agency, capacity=2, full_name="Milik OPD Saya")
    theirs = factories.make_sponsor(agency=other_agency, capacity=2, full_name="Milik OPD Lain")
    factories.sponsor_worker(mine, factories.make_worker(full_name="Pekerja Saya"))
    factories.sponsor_worker(theirs, factories.make_worker(full_name="Pekerja Lain"))
    factories.sponsor_worker(theirs, factories.make_worker(village_code="35.02.01.2001", full_name="Jauh Sekali"))
    factories.make_worker(full_name="Belum Diampu")
    return mine, theirs


def circles(html: str) -> dict[str, str]:
    """village code -> colour band of every point drawn."""
    return {code: band for band, code in re.findall(r'<circle class="v (\w+)"[^>]*data-code="([\d.]+)"', html)}


def test_map_draws_every_village_coloured_by_coverage(regency_admin, pledges):
    villages = Region.objects.filter(parent__parent__code="35.02", level=Region.Level.VILLAGE).count()
    html = web(regency_admin).get("/dashboard/map/").content.decode()
    points = circles(html)
    assert len(points) == villages  # the test region file has centres for every village
    assert points["35.02.17.1001"] == "min"  # 2 of a target of 100
    district = web(regency_admin).get("/dashboard/map/?district=35.02.01").content.decode()
    assert set(circles(district)) == set(Region.objects.filter(parent__code="35.02.01").values_list("code", flat=True))


def test_a_village_without_centre_is_placed_at_its_workers_mean_only_with_three(regency_admin, agency):
    v = Region.objects.get(code="35.02.17.1003")
    Region.objects.filter(pk=v.pk).update(lat=None, lon=None)
    for lat in (-7.801, -7.803):
        factories.make_worker(village_code=v.code, lat=lat, lon=111.5)
    assert v.code not in circles(web(regency_admin).get("/dashboard/map/").content.decode())
    factories.make_worker(village_code=v.code, lat=-7.805, lon=111.5)
    html = web(regency_admin).get("/dashboard/map/").content.decode()
    assert v.code in circles(html)


def test_village_detail_is_scoped(regency_admin, agency_admin, other_agency, pledges):
    url = "/dashboard/map/villages/35.02.17.1001.json"
    everyone = {w["name"] for w in web(regency_admin).get(url).json()["workers"]}
    assert everyone == {"Pekerja Saya", "Pekerja Lain", "Belum Diampu"}
    mine = web(agency_admin).get(url).json()["workers"]
    assert [(w["name"], w["covered"]) for w in mine] == [("Pekerja Saya", True)]
    assert "nik" not in str(mine).lower() and "phone" not in str(mine).lower()
    narrowed = web(regency_admin).get(f"{url}?agency={other_agency.pk}").json()["workers"]
    assert {w["name"] for w in narrowed} == {"Pekerja Lain"}
    assert web(agency_admin).get(f"{url}?agency={other_agency.pk}").status_code == 404
    assert web(agency_admin).get(f"/dashboard/map/?agency={other_agency.pk}").status_code == 404
    assert web(regency_admin).get("/dashboard/map/villages/36.01.01.2001.json").status_code == 404


def test_monthly_report_for_the_regency_and_for_an_agency(regency_admin, agency_admin, agency, other_agency, pledges):
    page = web(regency_admin).get("/dashboard/reports/monthly/?month=2026-11")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="monthly-report"' in html
    assert "Kabupaten Ponorogo" in html and 'data-testid="report-league"' in html
    assert "size: A4 portrait" in open("sponsorship/dashboard/static/dashboard/report.css").read()
    assert "<svg" in html and len(circles(html)) > 0
    agency_page = web(agency_admin).get("/dashboard/reports/monthly/").content.decode()
    assert agency.name in agency_page and 'data-testid="report-rank"' in agency_page
    assert 'data-testid="report-league"' not in agency_page  # other agencies' rows stay out
    assert other_agency.name not in agency_page
    by_regency = web(regency_admin).get(f"/dashboard/reports/monthly/?agency={agency.pk}").content.decode()
    assert agency.name in by_regency
    assert web(agency_admin).get(f"/dashboard/reports/monthly/?agency={other_agency.pk}").status_code == 404
    assert web(regency_admin).get("/dashboard/reports/monthly/?month=2026-13").status_code == 404
    assert AuditLog.objects.filter(action="export.report", object_type="dashboard.monthly_report").count() == 3


def test_decile_decisions_from_the_dashboard(regency_admin, agency_admin, pledges):
    mine, theirs = pledges
    w_mine = Sponsorship.objects.get(sponsor=mine).worker
    w_theirs = Sponsorship.objects.filter(sponsor=theirs).first().worker
    Worker.objects.filter(pk__in=[w_mine.pk, w_theirs.pk]).update(decile_review=DecileReview.PENDING, welfare_decile=8)
    DecileRound.objects.create(regency=w_mine.village.parent.parent, ranked_on=dt.date(2026, 10, 1))
    summary = web(agency_admin).get("/dashboard/").content.decode()
    assert 'data-testid="kpi-decile-flagged"' in summary and 'data-testid="kpi-counted"' in summary
    agency_page = web(agency_admin).get("/dashboard/deciles/").content.decode()
    assert "Pekerja Saya" in agency_page and w_theirs.full_name not in agency_page
    assert web(agency_admin).post(f"/dashboard/deciles/{w_theirs.pk}/", {"decision": "end"}).status_code == 404
    r = web(agency_admin).post(f"/dashboard/deciles/{w_mine.pk}/", {"decision": "end"})
    assert r.status_code == 302
    assert Sponsorship.objects.get(sponsor=mine, worker=w_mine).status == Sponsorship.Status.ENDED
    web(regency_admin).post(f"/dashboard/deciles/{w_theirs.pk}/", {"decision": "keep"})
    assert Worker.objects.get(pk=w_theirs.pk).decile_review == DecileReview.KEPT
    assert "01/10/2026" in web(regency_admin).get("/dashboard/deciles/").content.decode()
