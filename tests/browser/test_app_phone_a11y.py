"""The app on small phones and with the system font enlarged: nothing scrolls sideways at 360 px, touch targets
are at least 48 px high, and the screens still fit at twice the font size (what Android's font scaling does to
rem-based pages)."""

import datetime as dt

import pytest
from django.utils import timezone

from sponsorship.people.models import Role, Sponsor, Sponsorship
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "rahasia-uji-123"
SMALL = {"width": 360, "height": 740}
TOO_SMALL_TARGETS = """
[...document.querySelectorAll('main button, main a.button, main input, main select, nav#tabs a')]
  .filter(e => e.offsetParent !== null && !(e.type === 'checkbox'))
  .map(e => [e.textContent.trim() || e.name || e.type, Math.round(e.getBoundingClientRect().height)])
  .filter(([, h]) => h < 48)
"""


@pytest.fixture
def sponsor_home():
    factories.load_ponorogo()
    user = factories.make_user("asn.a11y", Role.SPONSOR, password=PASSWORD)
    sponsor = factories.make_sponsor(user=user, full_name="Raden Ayu Kusumawardhani Sekarningrum Prawirodirdjo")
    Sponsor.objects.filter(pk=sponsor.pk).update(contact_consent=True)
    worker = factories.make_worker(full_name="Bambang Sutrisnohadiwidjojo Mangunkusumo", occupation="ojek")
    factories.sponsor_worker(sponsor, worker)
    Sponsorship.objects.filter(sponsor=sponsor).update(started_at=timezone.now() - dt.timedelta(days=60))
    return sponsor


def fits(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("font_scale", [1, 2])
def test_screens_fit_360px_with_large_targets_and_enlarged_font(
    live_server, browser, screenshot, sponsor_home, font_scale
):
    context = browser.new_context(viewport=SMALL, is_mobile=True, has_touch=True, locale="id-ID")
    if font_scale != 1:  # the system font setting, as Chrome on Android applies it to rem-based pages
        context.add_init_script(
            f"document.addEventListener('DOMContentLoaded', () => "
            f"document.documentElement.style.fontSize = '{100 * font_scale}%')"
        )
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/app/")
        page.wait_for_selector("html[data-ready=signin]")
        problems = {}
        if not fits(page):
            problems["signin"] = "scrolls sideways"
        small = page.evaluate(TOO_SMALL_TARGETS)
        if small:
            problems["signin targets"] = small
        page.fill("input[name=username]", "asn.a11y")
        page.fill("input[name=password]", PASSWORD)
        page.click("[data-testid=signin]")
        page.wait_for_selector("html[data-ready=home]")
        for screen in ("home", "nearby", "pay", "inbox", "account"):
            page.click(f"[data-testid=tab-{screen}]")
            page.wait_for_selector(f"html[data-ready={screen}]")
            page.wait_for_timeout(100)
            if not fits(page):
                problems[screen] = "scrolls sideways"
            small = page.evaluate(TOO_SMALL_TARGETS)
            if small:
                problems[f"{screen} targets"] = small
            screenshot(page, f"app-360-font{font_scale}x-{screen}")
        assert problems == {}, problems
    finally:
        context.close()
