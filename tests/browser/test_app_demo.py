"""The README's demo on a phone: asn.demo and the printed demo worker use the app (issue 15's "Done when")."""

import io
import re
import time

import pytest
from django.core.management import call_command

from tests.factories import restore_reference_rows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_output():
    restore_reference_rows()
    out = io.StringIO()
    call_command("seed_demo", "--sponsors", "30", "--workers", "90", stdout=out)
    call_command("seed_dashboard_demo", "--if-empty", stdout=out)
    return out.getvalue()


def test_demo_asn_and_demo_worker_use_the_app_on_a_phone(live_server, browser, screenshot, demo_output, capsys):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="id-ID")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{live_server.url}/app/")
        page.fill("input[name=username]", "asn.demo")
        page.fill("input[name=password]", "demo-pengampu")
        page.click("[data-testid=signin]")
        page.wait_for_selector("html[data-ready=onboarding], html[data-ready=home]")
        if page.get_attribute("html", "data-ready") == "onboarding":
            page.check("input[name=contact_consent]")
            page.click("[data-testid=onboarding-save]")
        page.wait_for_selector("html[data-ready=home] [data-testid=workers]")
        assert page.locator("[data-testid=worker]").count() >= 1
        screenshot(page, "app-demo-asn-home")
        page.click("[data-testid=tab-pay]")
        page.wait_for_selector("[data-testid=owed]")  # the demo has next month's invoice to pay
        page.click("[data-testid=tab-account]")
        page.click("[data-testid=sign-out]")
        page.wait_for_selector("html[data-ready=signin]")

        nik, birth = re.search(r"NIK (\d{16}), birth date (\d{4}-\d{2}-\d{2})", demo_output).groups()
        capsys.readouterr()
        page.click("[data-testid=mode-worker]")
        page.fill("input[name=nik]", nik)
        page.fill("input[name=birth_date]", birth)
        page.click("[data-testid=request-code]")
        page.wait_for_selector("input[name=code]")
        code, deadline = None, time.monotonic() + 10
        while code is None and time.monotonic() < deadline:
            found = re.findall(r"kode masuk Pengampu untuk \S+: (\d{6})", capsys.readouterr().out)
            code = found[-1] if found else None
            time.sleep(0.1)
        assert code
        page.fill("input[name=code]", code)
        page.click("[data-testid=verify-code]")
        page.wait_for_selector("html[data-ready=status] [data-testid=state]")
        screenshot(page, "app-demo-worker-status")
        assert errors == []
    finally:
        context.close()
