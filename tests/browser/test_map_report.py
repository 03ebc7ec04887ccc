"""The coverage map and the monthly printable report in headless Chromium (screenshots in artifacts/)."""

import re

import pytest

from sponsorship.people.models import Role
from sponsorship.regions.models import Region
from tests import factories
from tests.browser.test_dashboard import PASSWORD, demo_regency, login  # noqa: F401 - the demo_regency fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _empty_summary_after(django_db_blocker):
    """The flush after a transactional test empties the model tables but not the trigger-maintained summary table
    (not a model): its rows for the deleted agencies made later summary-vs-ledger tests in the same database fail."""
    yield
    from django.db import connection

    from sponsorship.dashboard.selectors.money import SUMMARY_TABLE

    with django_db_blocker.unblock(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {SUMMARY_TABLE}")  # noqa: S608 - a constant table name


def _targets_near_the_workers():
    """Small village targets where the demo's workers live, so the screenshots show every colour band."""
    from sponsorship.dashboard.models import VillageTarget

    for code, target in (("35.02.17.1001", 6), ("35.02.17.1002", 8), ("35.02.01.2001", 12), ("35.02.17.1003", 0)):
        VillageTarget.objects.update_or_create(village=Region.objects.get(code=code), defaults={"target": target})


def test_map_renders_and_a_click_lists_the_village(live_server, page, screenshot, demo_regency):  # noqa: F811
    _targets_near_the_workers()
    login(page, live_server.url, "admin.kab.uji")
    page.goto(f"{live_server.url}/dashboard/map/")
    page.wait_for_selector("html[data-map=ready]")
    villages = Region.objects.filter(parent__parent__code="35.02", level=Region.Level.VILLAGE).count()
    assert page.locator("[data-testid=coverage-map] circle.v").count() == villages
    page.click("[data-testid=coverage-map] circle[data-code='35.02.17.1001']")
    page.wait_for_selector("[data-testid=village-panel][data-loaded='35.02.17.1001']")
    assert page.locator("[data-testid=village-panel] tbody tr").count() > 0
    assert page.js_errors == []
    screenshot(page, "dashboard-map")
    page.select_option("select[name=district]", "35.02.17")
    page.click("[data-testid=map-filters] button")
    page.wait_for_selector("html[data-map=ready]")
    assert (
        page.locator("[data-testid=coverage-map] circle.v").count()
        == Region.objects.filter(parent__code="35.02.17").count()
    )


def test_map_is_readable_on_a_phone(live_server, browser, screenshot, demo_regency):  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID", is_mobile=True)
    phone = context.new_page()
    login(phone, live_server.url, "admin.kab.uji")
    phone.goto(f"{live_server.url}/dashboard/map/")
    phone.wait_for_selector("html[data-map=ready]")
    _targets_near_the_workers()
    phone.reload()
    phone.wait_for_selector("html[data-map=ready]")
    box = phone.locator("[data-testid=coverage-map]").bounding_box()
    assert box is not None and box["width"] <= 390 and box["height"] > 150
    dot = phone.locator("[data-testid=coverage-map] circle.v").first.bounding_box()
    assert dot is not None and dot["width"] >= 4  # still a visible dot
    screenshot(phone, "dashboard-map-phone")
    context.close()


def test_monthly_report_prints_on_one_a4_page(live_server, page, screenshot, demo_regency, tmp_path):  # noqa: F811
    _targets_near_the_workers()
    login(page, live_server.url, "admin.kab.uji")
    page.goto(f"{live_server.url}/dashboard/reports/monthly/")
    page.wait_for_selector("[data-testid=monthly-report]")
    assert page.locator("[data-testid=report-league] tbody tr").count() == 3
    dots = page.locator("[data-testid=monthly-report] circle.v")
    assert dots.count() > 0
    drawn = dots.first.bounding_box()  # a radius the browser can read (not "2,5" from a localized float)
    assert drawn is not None and drawn["width"] > 2
    screenshot(page, "report-monthly-regency")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    # an agency admin's report: their agency only
    agency = demo_regency.profile.regency.agencies.order_by("name").first()
    factories.make_user("admin.opd.uji", Role.AGENCY_ADMIN, agency=agency, password=PASSWORD)
    page.context.clear_cookies()
    login(page, live_server.url, "admin.opd.uji")
    page.goto(f"{live_server.url}/dashboard/reports/monthly/")
    page.wait_for_selector("[data-testid=report-rank]")
    assert agency.name in page.inner_text("[data-testid=report-scope]")
    screenshot(page, "report-monthly-agency")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
