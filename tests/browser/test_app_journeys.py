"""The installable app (/app/) in headless Chromium on a 390×844 phone: the sponsor's and the worker's journeys,
the status screen offline, installability. Real live server, real Midtrans simulator over HTTP, real service worker.
Screenshots go to artifacts/ (kept by CI)."""

import datetime as dt
import re
import time

import pytest
from django.utils import timezone

from simulators.midtrans import MidtransSimulator
from sponsorship.billing.gateways.base import TransactionStatus
from sponsorship.billing.models import Invoice, PaymentAttempt
from sponsorship.billing.services.billing import billing_run
from sponsorship.billing.services.settlement import payment_settle
from sponsorship.core.periods import local_today, month_start
from sponsorship.matching.models import Proposal
from sponsorship.people.models import Role, Sponsor, Sponsorship
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "rahasia-uji-123"
PHONE = {"width": 390, "height": 844}
SIM_KEY = "SB-Mid-server-APPFLOW"


@pytest.fixture
def phone_context(browser):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="id-ID", service_workers="allow"
    )
    yield context
    context.close()


@pytest.fixture
def phone(phone_context):
    page = phone_context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return page


@pytest.fixture
def midtrans(live_server, settings):
    sim = MidtransSimulator(
        server_key=SIM_KEY,
        retry_scale=0.001,
        jitter=0.0,
        notification_url=f"{live_server.url}/api/v1/payments/midtrans/notification/",
    ).start()
    settings.MIDTRANS_API_BASE_URL = sim.base_url
    settings.MIDTRANS_SERVER_KEY = SIM_KEY
    settings.PUBLIC_BASE_URL = live_server.url
    yield sim
    sim.stop()


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def wait_for_service_worker(page):
    page.wait_for_function(
        "navigator.serviceWorker.controller !== null || "
        "navigator.serviceWorker.getRegistration('/app/').then(r => !!(r && r.active))",
        timeout=15_000,
    )
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")


def pay_history(sponsor):
    """This month billed and paid through the real services (what a billing run and a settlement do)."""
    billing_run(period=month_start(local_today()), notify=False)
    for invoice in Invoice.objects.filter(sponsor=sponsor, status=Invoice.Status.ISSUED):
        attempt = PaymentAttempt.objects.create(
            invoice=invoice, order_id=f"{invoice.number}-T", amount_idr=invoice.amount_idr, status="pending"
        )
        payment_settle(
            attempt=attempt,
            status=TransactionStatus(
                order_id=attempt.order_id,
                transaction_id=f"t-{invoice.pk}",
                transaction_status="settlement",
                status_code="200",
                gross_amount_idr=invoice.amount_idr,
                fraud_status="accept",
            ),
        )


@pytest.fixture
def sponsor_world():
    regency = factories.load_ponorogo()
    agency = factories.make_agency(regency, name="Dinas Kesehatan")
    user = factories.make_user("asn.app", Role.SPONSOR, password=PASSWORD)
    sponsor = factories.make_sponsor(agency=agency, user=user, capacity=2, full_name="Sri Wahyuni")
    known = factories.make_worker(full_name="Paijo Santoso")
    factories.sponsor_worker(sponsor, known)
    Sponsorship.objects.filter(sponsor=sponsor).update(started_at=timezone.now() - dt.timedelta(days=60))
    billing_run(period=month_start(local_today()), notify=False)  # this month's invoice, unpaid
    nearby = factories.make_worker(full_name="Sumarni Lestari", sex="F")  # nobody pays for her yet
    return sponsor, known, nearby


def test_sponsor_signs_in_with_nip_accepts_a_proposal_pays_on_the_simulator_and_sees_protection(
    live_server, phone, screenshot, midtrans, sponsor_world
):
    sponsor, known, nearby = sponsor_world
    invoice = Invoice.objects.get(sponsor=sponsor, status=Invoice.Status.ISSUED)
    page, base = phone, live_server.url

    page.goto(f"{base}/app/")
    page.wait_for_selector("html[data-ready=signin]")
    screenshot(page, "app-signin")
    page.fill("input[name=username]", sponsor.nip)  # the NIP, not the username
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=signin]")

    page.wait_for_selector("html[data-ready=onboarding]")
    screenshot(page, "app-sponsor-onboarding")
    page.click("[data-testid=capacity-2]")
    page.check("input[name=contact_consent]")
    page.click("[data-testid=onboarding-save]")
    page.wait_for_selector("html[data-ready=home] [data-testid=workers]")
    assert Sponsor.objects.get(pk=sponsor.pk).contact_consent is True
    assert "Paijo Santoso" in page.inner_text("[data-testid=workers]")
    assert no_horizontal_scroll(page)

    page.click("[data-testid=tab-nearby]")
    page.wait_for_selector("[data-testid=proposal]")
    card = page.locator("[data-testid=proposal]").first
    assert "Sumarni" in card.inner_text() and "Lestari" not in card.inner_text()  # first name only
    screenshot(page, "app-sponsor-nearby")
    card.locator("[data-testid=accept]").click()
    page.wait_for_selector("html[data-ready=home] [data-testid=workers] >> text=Sumarni")
    assert Sponsorship.objects.filter(sponsor=sponsor, worker=nearby, status=Sponsorship.Status.ACTIVE).exists()
    assert Proposal.objects.get(sponsor=sponsor, worker=nearby).status == Proposal.Status.ACCEPTED

    page.click("[data-testid=tab-pay]")
    page.wait_for_selector(f"[data-testid=pay-{invoice.pk}]")
    screenshot(page, "app-sponsor-pay")
    page.click(f"[data-testid=pay-{invoice.pk}]")
    page.wait_for_url(re.compile(re.escape(midtrans.base_url) + r"/snap/v4/redirection/.*"))
    page.locator("button[name=method]").first.click()
    page.wait_for_selector("button.pay")
    screenshot(page, "app-sponsor-simulator")
    page.click("button.pay")

    # The simulator sends the payer back to the app, which waits for the signed notification to land.
    page.wait_for_url(re.compile(re.escape(base) + r"/app/.*"))
    page.wait_for_selector("[data-testid=paid-ok]", timeout=60_000)
    paijo = page.locator("[data-testid=worker]", has_text="Paijo")
    assert paijo.get_attribute("data-state") == "protected"
    assert "Terlindungi sampai" in paijo.inner_text() and "sisa" in paijo.inner_text()
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
    screenshot(page, "app-sponsor-paid")

    page.click("[data-testid=tab-pay]")
    page.click("[data-testid=go-receipts]")
    page.wait_for_selector("[data-testid=payments]")
    assert invoice.number in page.inner_text("[data-testid=payments]")
    assert no_horizontal_scroll(page)
    with page.expect_popup() as popup:  # the printable receipt, fetched with the token, opened in a new tab
        page.locator("[data-testid=payments] button").first.click()
    receipt = popup.value
    receipt.wait_for_url(re.compile(r"^blob:"))
    receipt.wait_for_load_state()
    assert invoice.number in receipt.inner_text("body")
    receipt.close()

    # Prepay two months for both workers, on the simulator again.
    page.click("[data-testid=tab-pay]")
    page.select_option("[data-testid=prepay-months]", "2")
    page.click("[data-testid=prepay]")
    page.wait_for_url(re.compile(re.escape(midtrans.base_url) + r"/snap/v4/redirection/.*"))
    page.locator("button[name=method]").first.click()
    page.click("button.pay")
    page.wait_for_selector("[data-testid=paid-ok]", timeout=60_000)
    prepaid = Invoice.objects.filter(sponsor=sponsor, kind=Invoice.Kind.PREPAY).get()
    assert prepaid.status == Invoice.Status.PAID and prepaid.months >= 2  # and any unbilled earlier month
    assert page.js_errors == []


def test_sponsor_account_language_switch_and_leave_request(live_server, phone, screenshot, sponsor_world):
    sponsor, _known, _nearby = sponsor_world
    Sponsor.objects.filter(pk=sponsor.pk).update(contact_consent=True)
    page, base = phone, live_server.url
    page.goto(f"{base}/app/")
    page.fill("input[name=username]", "asn.app")  # the username works too
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=signin]")
    page.wait_for_selector("html[data-ready=home]")
    page.click("[data-testid=tab-account]")
    page.wait_for_selector("html[data-ready=account]")
    page.select_option("[data-testid=capacity]", "3")
    page.click("text=Simpan")
    page.wait_for_selector("text=Tersimpan.")
    assert Sponsor.objects.get(pk=sponsor.pk).capacity == 3
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=leave]")
    page.wait_for_selector("text=Permintaan Anda sudah dikirim")
    assert Sponsor.objects.get(pk=sponsor.pk).status == Sponsor.Status.ACTIVE  # the admin decides the hand-over
    page.click("button[lang=en]")
    page.wait_for_selector("html[lang=en][data-ready=account]")
    assert "My pledge" in page.inner_text("main")
    screenshot(page, "app-sponsor-account-en")
    assert no_horizontal_scroll(page)


@pytest.fixture
def protected_worker():
    factories.load_ponorogo()
    sponsor = factories.make_sponsor(full_name="Sri Wahyuni")
    Sponsor.objects.filter(pk=sponsor.pk).update(show_name_to_workers=True)
    nik = factories.make_nik(sex="F", birth=dt.date(1979, 8, 17))
    worker = factories.make_worker(full_name="Sumarni Lestari", sex="F", nik=nik)
    factories.sponsor_worker(sponsor, worker)
    Sponsorship.objects.filter(worker=worker).update(started_at=timezone.now() - dt.timedelta(days=60))
    pay_history(sponsor)
    return worker, nik


def sign_in_worker(page, base, nik, birth, capsys):
    page.goto(f"{base}/app/")
    page.wait_for_selector("html[data-ready=signin]")
    page.click("[data-testid=mode-worker]")
    page.fill("input[name=nik]", nik)
    page.fill("input[name=birth_date]", birth.isoformat())
    page.click("[data-testid=request-code]")
    page.wait_for_selector("input[name=code]")
    code = None
    deadline = time.monotonic() + 10
    while code is None and time.monotonic() < deadline:  # the console provider prints it after commit
        found = re.findall(r"kode masuk Pengampu untuk \S+: (\d{6})", capsys.readouterr().out)
        code = found[-1] if found else None
        time.sleep(0.1)
    assert code, "no sign-in code printed"
    page.fill("input[name=code]", code)
    page.click("[data-testid=verify-code]")
    page.wait_for_selector("html[data-ready=status] [data-testid=state]")


def test_worker_signs_in_with_a_code_sees_status_and_it_opens_offline(
    live_server, phone, phone_context, screenshot, protected_worker, capsys
):
    worker, nik = protected_worker
    page, base = phone, live_server.url
    sign_in_worker(page, base, nik, worker.birth_date, capsys)
    state = page.locator("[data-testid=state]")
    assert state.get_attribute("data-state") == "protected"
    text = state.inner_text()
    assert re.search(r"terlindungi sampai \d{1,2} \w+ \d{4}", text), text
    assert re.search(r"sisa \d+ hari", text), text
    assert "Sri" in page.inner_text("main") and "Wahyuni" not in page.inner_text("main")  # first name, agreed
    assert no_horizontal_scroll(page)
    screenshot(page, "app-worker-status")

    page.click("[data-testid=go-help]")
    page.wait_for_selector("[data-testid=call-bpjs]")
    assert "2 × 24 jam" in page.inner_text("main")
    screenshot(page, "app-worker-accident")

    page.click("[data-testid=tab-mydata]")
    page.wait_for_selector("[data-testid=mydata]")
    screenshot(page, "app-worker-mydata")

    # Once the service worker controls the app, the status it shows is kept for the next offline start.
    page.click("[data-testid=tab-status]")
    wait_for_service_worker(page)
    page.reload()
    page.wait_for_selector("html[data-ready=status] [data-testid=state]")
    phone_context.set_offline(True)
    try:
        page.reload()
        page.wait_for_selector("html[data-ready=status] [data-testid=state]")
        assert page.locator("[data-testid=state]").get_attribute("data-state") == "protected"
        assert "Offline" in page.inner_text("main")
        screenshot(page, "app-worker-status-offline")
    finally:
        phone_context.set_offline(False)
    assert page.js_errors == []


def test_app_is_installable_manifest_icons_and_service_worker(live_server, phone, phone_context):
    page, base = phone, live_server.url
    page.goto(f"{base}/app/")
    page.wait_for_selector("html[data-ready=signin]")
    wait_for_service_worker(page)
    manifest = page.evaluate("fetch('/app/manifest.webmanifest').then(r => r.json())")
    assert manifest["start_url"] == "/app/" and manifest["scope"] == "/app/"
    assert manifest["display"] == "standalone" and manifest["lang"] == "id"
    sizes = {(i["sizes"], i["purpose"]) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        assert page.evaluate(f"fetch('{icon['src']}').then(r => r.ok && r.headers.get('content-type'))") == "image/png"
    scope = page.evaluate("navigator.serviceWorker.getRegistration('/app/').then(r => r && r.active && r.scope)")
    assert scope == f"{base}/app/"
    # Chromium's own verdict: no installability errors (a Playwright context is incognito-like: that one is
    # about the test's browser profile, not the app).
    cdp = phone_context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [e for e in errors if e["errorId"] != "in-incognito"] == [], errors


def test_sponsor_nominates_someone_they_know_with_the_consent_record(live_server, phone, screenshot, sponsor_world):
    from sponsorship.matching.models import Nomination

    sponsor, _known, _nearby = sponsor_world
    Sponsor.objects.filter(pk=sponsor.pk).update(contact_consent=True)
    page, base = phone, live_server.url
    page.goto(f"{base}/app/")
    page.fill("input[name=username]", sponsor.nip)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=signin]")
    page.wait_for_selector("html[data-ready=home]")
    page.click("[data-testid=tab-nearby]")
    page.click("[data-testid=go-nominate]")
    page.wait_for_selector("html[data-ready=nominate]")
    nik = factories.make_nik("35.02.17.1002", sex="F", birth=dt.date(1970, 5, 9))
    page.fill("input[name=nik]", nik)
    page.fill("input[name=full_name]", "Tukiyem Rahayu")
    page.select_option("select[name=occupation]", "petani")
    page.fill("input[name=village]", "35.02.17.1002")
    page.select_option("select[name=relationship]", "household_helper")
    page.select_option("select[name=consent_channel]", "in_person")
    assert "2026.1" in page.inner_text("main")  # the version of the text read out
    page.check("input[name=consent_given]")
    screenshot(page, "app-sponsor-nominate")
    page.click("[data-testid=nominate-send]")
    page.wait_for_selector("text=Usulan untuk Tukiyem Rahayu terkirim")
    nomination = Nomination.objects.get(sponsor=sponsor)
    assert nomination.full_name == "Tukiyem Rahayu" and nomination.relationship == "household_helper"
    assert nomination.consent_channel == "in_person" and nomination.consent_text_version == "2026.1"
    assert nomination.consent_collected_at is not None
    assert no_horizontal_scroll(page)


def test_worker_erases_own_data_from_the_app(live_server, phone, protected_worker, capsys):
    from sponsorship.people.models import Worker

    worker, nik = protected_worker
    sign_in_worker(phone, live_server.url, nik, worker.birth_date, capsys)
    phone.click("[data-testid=tab-mydata]")
    phone.wait_for_selector("[data-testid=mydata]")
    assert "Sumarni Lestari" in phone.inner_text("[data-testid=mydata]")
    with phone.expect_download() as download:
        phone.click("[data-testid=export]")
    assert nik in download.value.path().read_text()
    phone.on("dialog", lambda dialog: dialog.accept())
    phone.click("[data-testid=erase]")
    phone.wait_for_selector("html[data-ready=signin]")
    assert "Data Anda sudah dihapus." in phone.inner_text("body")
    assert Worker.objects.get(pk=worker.pk).anonymized_at is not None
