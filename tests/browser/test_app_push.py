"""Web push in the app: the service worker registers the browser's push subscription as a device (platform web);
a notification then goes out through firebase-admin to the fake FCM with its Web Push config, and the app's
inbox shows the same message.

Headless Chromium has no push service to subscribe to, so the test stands in for the browser's PushManager
(a browser API, not our code); everything after it is real: the service worker, the API, the outbox, the FCM
provider over HTTP."""

import datetime as dt
import json
import time
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from notifications.models import Device, NotificationPreference
from notifications.services import notify
from simulators.fcm import FakeFCM
from sponsorship.core.periods import local_today
from sponsorship.people.models import Role, Sponsor
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "rahasia-uji-123"
WEB_TOKEN = "web-push-token-0123456789"
FAKE_PUSH_MANAGER = f"""
PushManager.prototype.getSubscription = function () {{ return Promise.resolve(window.__sub || null); }};
PushManager.prototype.subscribe = function () {{
  window.__sub = {{ endpoint: 'https://fcm.googleapis.com/fcm/send/{WEB_TOKEN}' }};
  return Promise.resolve(window.__sub);
}};
"""


@pytest.fixture(scope="module")
def fake_fcm_module():
    """Set up before the browser and torn down after it: firebase-admin deletes its app with asyncio.run, which
    fails while Playwright's loop runs (see tests/browser/conftest.py)."""
    with FakeFCM() as fake:
        yield fake
    from notifications.providers.fcm import close_app

    close_app("app-push-test")


@pytest.fixture
def fcm(fake_fcm_module, settings):
    fake_fcm_module.reset()
    settings.PUSH_PROVIDER = "fcm"
    settings.FCM_SERVICE_ACCOUNT = json.dumps(fake_fcm_module.service_account)
    settings.FCM_BASE_URL = fake_fcm_module.base_url
    settings.FCM_APP_NAME = "app-push-test"
    settings.FCM_HTTP_STATUS_RETRIES = 0
    return fake_fcm_module


def test_service_worker_registers_a_web_device_and_the_push_matches_the_inbox(
    fake_fcm_module, browser, live_server, fcm, screenshot, no_quiet_hours
):
    factories.load_ponorogo()
    user = factories.make_user("asn.push", Role.SPONSOR, password=PASSWORD)
    sponsor = factories.make_sponsor(user=user, full_name="Sri Wahyuni")
    Sponsor.objects.filter(pk=sponsor.pk).update(contact_consent=True)

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="id-ID")
    context.grant_permissions(["notifications"], origin=live_server.url)
    context.add_init_script(FAKE_PUSH_MANAGER)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/app/")
        page.fill("input[name=username]", "asn.push")
        page.fill("input[name=password]", PASSWORD)
        page.click("[data-testid=signin]")
        page.wait_for_selector("html[data-ready=home]")
        page.click("[data-testid=tab-inbox]")
        page.wait_for_selector("[data-testid=push-enable]")
        page.click("[data-testid=push-enable]")
        page.wait_for_selector("[data-testid=push-state] >> text=Notifikasi aktif")
        device = Device.objects.get(user=user)
        assert (device.token, device.platform, device.active) == (WEB_TOKEN, "web", True)
        assert device.app_version.startswith("web-")

        daytime = dt.datetime.combine(local_today(), dt.time(10, 0), tzinfo=ZoneInfo("Asia/Jakarta"))
        with transaction.atomic():
            notify(
                user=user,
                kind="payment_received",
                context={"sponsor_name": "Sri", "amount_idr": 16800, "invoice_number": "INV-UJI-1"},
                dedupe_key="app-push-test-1",
                now=daytime,
            )
        deadline = time.monotonic() + 15
        while not fcm.sends() and time.monotonic() < deadline:
            time.sleep(0.1)
        [sent] = fcm.sends()
        message = sent.message
        assert message["token"] == WEB_TOKEN
        assert message["webpush"]["notification"]["title"] == message["notification"]["title"]
        assert "INV-UJI-1" in message["webpush"]["notification"]["body"]

        page.reload()  # the last-seen (empty) inbox first, then redrawn once the fresh one arrives
        page.wait_for_selector("[data-testid=inbox]")
        inbox = page.inner_text("[data-testid=inbox]")
        assert message["notification"]["title"] in inbox and "INV-UJI-1" in inbox
        screenshot(page, "app-sponsor-inbox-push")

        # Preferences: switch one kind off; receipts stay on (mandatory).
        toggle = page.locator("label.check", has_text="Tagihan terbit").locator("input")
        toggle.uncheck()
        page.wait_for_selector("text=Tersimpan.")
        assert NotificationPreference.objects.get(user=user, kind="invoice_issued").enabled is False
        mandatory = page.locator("label.check", has_text="selalu aktif").locator("input")
        assert mandatory.count() >= 1
        assert all(box.is_disabled() for box in mandatory.all())
    finally:
        context.close()
