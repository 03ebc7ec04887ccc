"""The HR dashboard on a 390 px phone: no page scrolls sideways (tables scroll inside their own box, the nav wraps).

Before the fix the pages were 715–967 px wide on a 390 px screen."""

import datetime as dt

import pytest
from django.utils import timezone

from sponsorship.dashboard.demo.billing_history import generate
from sponsorship.dashboard.models import ImportBatch
from sponsorship.people.models import Role, Sponsorship
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "rahasia-uji-123"


@pytest.fixture
def regency_with_history():
    regency = factories.load_ponorogo()
    agencies = [
        factories.make_agency(regency, name=n)
        for n in ("Dinas Pendidikan dan Kebudayaan", "Badan Perencanaan Pembangunan Daerah", "Dinas Sosial")
    ]
    villages = ["35.02.17.1001", "35.02.17.1002", "35.02.01.2001"]
    for i in range(6):
        sponsor = factories.make_sponsor(
            agency=agencies[i % 3],
            capacity=2,
            full_name=f"Aparatur Sipil Negara Uji Nomor {i}",
            village_code=villages[i % 3],
        )
        for j in range(2):
            worker = factories.make_worker(full_name=f"Pekerja Informal {i}-{j}", village_code=villages[(i + j) % 3])
            factories.sponsor_worker(sponsor, worker)
    for n, s in enumerate(Sponsorship.objects.order_by("pk")):
        Sponsorship.objects.filter(pk=s.pk).update(started_at=timezone.now() - dt.timedelta(days=30 * (12 - n % 10)))
    generate(months=12, seed=11)
    return factories.make_user("admin.kab.hp", Role.REGENCY_ADMIN, regency=regency, password=PASSWORD)


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(
        viewport={"width": PHONE_WIDTH, "height": 844}, is_mobile=True, has_touch=True, locale="id-ID"
    )
    page = context.new_page()
    yield page
    context.close()


PHONE_WIDTH = 390


def page_width(page) -> dict:
    # Not window.innerWidth: on a phone the browser zooms out to show a too-wide page, and innerWidth grows with it.
    return page.evaluate(
        "({scroll: document.scrollingElement.scrollWidth, layout: document.documentElement.clientWidth})"
    )


def test_every_dashboard_page_fits_a_390px_phone(live_server, phone_page, screenshot, regency_with_history):
    page, base = phone_page, live_server.url
    page.goto(f"{base}/dashboard/")
    page.fill("input[name=username]", "admin.kab.hp")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard/")
    page.goto(f"{base}/dashboard/coverage/")
    district = page.locator("[data-testid=coverage] tbody tr >> nth=0 >> a").get_attribute("href")
    pages = [
        "/dashboard/",
        "/dashboard/coverage/",
        "/dashboard/coverage/" + district,
        "/dashboard/money/",
        "/dashboard/arrears/",
    ]
    pages.append("/dashboard/imports/")
    batch = ImportBatch.objects.order_by("-pk").first()
    if batch is not None:
        pages.append(f"/dashboard/imports/{batch.pk}/")
    too_wide = {}
    for path in pages:
        page.goto(base + path)
        page.wait_for_load_state("load")
        width = page_width(page)
        name = "dashboard-phone-" + (path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-") or "index")
        screenshot(page, name[:80])
        if width["scroll"] > PHONE_WIDTH or width["layout"] > PHONE_WIDTH:
            too_wide[path] = width
    assert too_wide == {}, too_wide
    # The wide tables are still whole: they scroll inside their own box.
    page.goto(f"{base}/dashboard/money/")
    box = page.evaluate(
        "(() => { const t = document.querySelector('[data-testid=money]');"
        " const s = t.closest('.table-scroll') || t; return {scroll: s.scrollWidth, client: s.clientWidth,"
        " overflow: getComputedStyle(s).overflowX}; })()"
    )
    assert box["overflow"] in ("auto", "scroll") and box["client"] <= PHONE_WIDTH, box
