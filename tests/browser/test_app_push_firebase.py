"""Web push in production mode: with FIREBASE_WEB_CONFIG set, turning notifications on loads the vendored Firebase
JS SDK (never with the shell), whose own getToken asks Google for an FCM registration token; the app registers
that token as the web device, and a push our server sends through firebase-admin to the fake FCM for it carries
the Web Push config and shows in the inbox.

Stand-ins, and only these: Google's two endpoints the SDK calls (Firebase Installations, FCM registrations;
the browser cannot reach Google here) answer through Playwright's page.route with the shapes Google returns,
and headless Chromium's PushManager (it has no push service) returns a subscription with keys, as in
test_app_push.py. The SDK's code, the service worker, the devices API, the outbox and the FCM provider are real."""

import base64
import datetime as dt
import json
import time
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from notifications.models import Device
from notifications.services import notify
from simulators.fcm import FakeFCM
from sponsorship.core.periods import local_today
from sponsorship.people.models import Role, Sponsor
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "rahasia-uji-123"
WEB_CONFIG = {
    "apiKey": "AIzaSyUjiPengampuWebKey0123456789abcde",
    "projectId": "pengampu-uji",
    "messagingSenderId": "123456789012",
    "appId": "1:123456789012:web:0a1b2c3d4e5f60718293a4",
}
# An uncompressed P-256 point, base64url without padding: the shape of the console's Web Push certificate key.
VAPID_KEY = base64.urlsafe_b64encode(b"\x04" + bytes(range(1, 65))).decode().rstrip("=")
FID = "cUjiPengampuFid0123456"
FCM_TOKEN = FID + ":APA91bHUjiPengampuRegistrationToken_0123456789-abcdefghijklmnopqrstuvwxyz"
FCM_TOKEN_2 = FID + ":APA91bHUjiPengampuRefreshedToken_9876543210-zyxwvutsrqponmlkjihgfedcba"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/" + "subscription-from-the-browser-0123"
FAKE_PUSH_MANAGER = f"""
(function () {{
  function bytes(n, seed) {{
    var a = new Uint8Array(n);
    for (var i = 0; i < n; i++) a[i] = (i * 7 + seed) % 256;
    return a.buffer;
  }}
  function makeSub(options) {{
    var endpoint = '{ENDPOINT}' + (localStorage.getItem('test.rotated') || '');  // the push service rotated it
    return {{ endpoint: endpoint, expirationTime: null, options: options || {{}},
      getKey: function (name) {{ return name === 'p256dh' ? bytes(65, 4) : bytes(16, 9); }},
      unsubscribe: function () {{ window.__sub = null; return Promise.resolve(true); }},
      toJSON: function () {{ return {{ endpoint: endpoint }}; }} }};
  }}
  PushManager.prototype.getSubscription = function () {{ return Promise.resolve(window.__sub || null); }};
  PushManager.prototype.subscribe = function (options) {{
    window.__subscribed = (window.__subscribed || 0) + 1;
    window.__sub = makeSub(options);
    return Promise.resolve(window.__sub);
  }};
}})();
"""


@pytest.fixture(scope="module")
def fake_fcm_module():
    """Set up before the browser, torn down after it (see test_app_push.py)."""
    with FakeFCM() as fake:
        yield fake
    from notifications.providers.fcm import close_app

    close_app("app-push-firebase-test")


@pytest.fixture
def fcm(fake_fcm_module, settings):
    fake_fcm_module.reset()
    settings.PUSH_PROVIDER = "fcm"
    settings.FCM_SERVICE_ACCOUNT = json.dumps(fake_fcm_module.service_account)
    settings.FCM_BASE_URL = fake_fcm_module.base_url
    settings.FCM_APP_NAME = "app-push-firebase-test"
    settings.FCM_HTTP_STATUS_RETRIES = 0
    settings.FCM_WEB_LINK = "https://pengampu.example.id/app/#/inbox"
    settings.FIREBASE_WEB_CONFIG = WEB_CONFIG
    settings.WEBPUSH_VAPID_PUBLIC_KEY = VAPID_KEY
    return fake_fcm_module


class Google:
    """Answers the SDK's calls to Google the way Google does, and keeps what the SDK sent."""

    def __init__(self):
        self.installations: list[dict] = []
        self.registrations: list[dict] = []
        self.issued = 0

    def installation(self, route):
        request = route.request
        body = json.loads(request.post_data or "{}")
        self.installations.append({"url": request.url, "headers": request.headers, "body": body})
        route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps(
                {
                    "name": f"projects/{WEB_CONFIG['projectId']}/installations/{body.get('fid', FID)}",
                    "fid": body.get("fid", FID),
                    "refreshToken": "2_UjiRefreshToken0123456789",
                    "authToken": {"token": "eyJhbGciOiJFUzI1NiJ9.uji.installation", "expiresIn": "604800s"},
                }
            ),
        )

    def registration(self, route):
        request = route.request
        self.registrations.append(
            {
                "method": request.method,
                "url": request.url,
                "headers": request.headers,
                "body": json.loads(request.post_data or "{}"),
            }
        )
        # POST registrations: a new token each time (PATCH registrations/{token}: an update, the same answer);
        # DELETE registrations/{token}: an empty answer.
        if request.method == "DELETE":
            route.fulfill(status=200, content_type="application/json", body="{}")
            return
        self.issued += 1
        token = FCM_TOKEN if self.issued == 1 else FCM_TOKEN_2
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"token": token}))


def test_firebase_sdk_loads_on_demand_and_its_token_gets_the_push(
    fake_fcm_module, browser, live_server, fcm, screenshot, no_quiet_hours
):
    factories.load_ponorogo()
    user = factories.make_user("asn.fcmweb", Role.SPONSOR, password=PASSWORD)
    sponsor = factories.make_sponsor(user=user, full_name="Sri Wahyuni")
    Sponsor.objects.filter(pk=sponsor.pk).update(contact_consent=True)

    google = Google()
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="id-ID")
    context.grant_permissions(["notifications"], origin=live_server.url)
    context.add_init_script(FAKE_PUSH_MANAGER)
    context.route("https://firebaseinstallations.googleapis.com/**", google.installation)
    context.route("https://fcmregistrations.googleapis.com/**", google.registration)
    vendor: list[str] = []
    context.on("request", lambda r: vendor.append(r.url) if "/static/pwa/vendor/firebase/" in r.url else None)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/app/")
        page.wait_for_selector("[data-testid=signin]")
        page.wait_for_load_state("networkidle")
        # The first load: the config is there, the SDK is not (neither fetched nor run).
        assert page.evaluate("JSON.parse(document.getElementById('cfg').textContent).firebase") == WEB_CONFIG
        assert page.evaluate("typeof window.firebase") == "undefined" and vendor == []
        page.fill("input[name=username]", "asn.fcmweb")
        page.fill("input[name=password]", PASSWORD)
        page.click("[data-testid=signin]")
        page.wait_for_selector("html[data-ready=home]")
        page.click("[data-testid=tab-inbox]")
        page.wait_for_selector("[data-testid=push-enable]")
        # Permission was granted before (the context's), so signing in already fetched a token quietly; the
        # button asks again and registers whatever the SDK answers.
        page.click("[data-testid=push-enable]")
        page.wait_for_selector("[data-testid=push-state] >> text=Notifikasi aktif", timeout=20_000)

        assert any(u.endswith("/firebase-app-compat.js") for u in vendor), vendor
        assert any(u.endswith("/firebase-messaging-compat.js") for u in vendor), vendor
        assert page.evaluate("firebase.apps[0].options.projectId") == WEB_CONFIG["projectId"]
        # The SDK's own getToken ran: an installation, then a registration of the browser's subscription.
        assert google.installations and google.installations[0]["url"].endswith(
            f"/v1/projects/{WEB_CONFIG['projectId']}/installations"
        )
        assert google.installations[0]["headers"]["x-goog-api-key"] == WEB_CONFIG["apiKey"]
        [registration] = google.registrations
        assert registration["url"].endswith(f"/v1/projects/{WEB_CONFIG['projectId']}/registrations")
        web = registration["body"]["web"]
        assert web["endpoint"] == ENDPOINT and web["p256dh"] and web["auth"]
        assert web["applicationPubKey"] == VAPID_KEY
        assert registration["headers"]["x-goog-firebase-installations-auth"].startswith("FIS ")

        device = Device.objects.get(user=user)
        assert (device.token, device.platform, device.active) == (FCM_TOKEN, "web", True)
        assert page.evaluate("localStorage.getItem('pa.push_token')") == FCM_TOKEN

        daytime = dt.datetime.combine(local_today(), dt.time(10, 0), tzinfo=ZoneInfo("Asia/Jakarta"))
        with transaction.atomic():
            notify(
                user=user,
                kind="payment_received",
                context={"sponsor_name": "Sri", "amount_idr": 16800, "invoice_number": "INV-FCM-WEB-1"},
                dedupe_key="app-push-firebase-1",
                now=daytime,
            )
        deadline = time.monotonic() + 15
        while not fcm.sends() and time.monotonic() < deadline:
            time.sleep(0.1)
        [sent] = fcm.sends()
        message = sent.message
        assert message["token"] == FCM_TOKEN
        assert message["webpush"]["notification"]["title"] == message["notification"]["title"]
        assert "INV-FCM-WEB-1" in message["webpush"]["notification"]["body"]
        assert message["webpush"]["fcm_options"]["link"] == "https://pengampu.example.id/app/#/inbox"

        # The browser gets FCM's Web Push payload (its shape for a message with a webpush notification); the
        # app's own service worker shows it, opening the link when tapped. Delivered through DevTools, the way
        # a push service would hand it to Chromium.
        cdp = context.new_cdp_session(page)
        sw_registrations: list[dict] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: sw_registrations.extend(e["registrations"]))
        cdp.send("ServiceWorker.enable")
        deadline = time.monotonic() + 5
        while not sw_registrations and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        [registration_id] = {r["registrationId"] for r in sw_registrations if r["scopeURL"].endswith("/app/")}
        webpush_notification = message["webpush"]["notification"]
        payload = {
            "notification": webpush_notification,
            "data": message["data"],
            "fcmOptions": message["webpush"]["fcm_options"],
            "from": WEB_CONFIG["messagingSenderId"],
            "priority": "normal",
            "fcmMessageId": sent.message_name.rsplit("/", 1)[-1],
        }
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": live_server.url, "registrationId": registration_id, "data": json.dumps(payload)},
        )
        shown: list = []
        deadline = time.monotonic() + 10
        while not shown and time.monotonic() < deadline:
            page.wait_for_timeout(100)
            shown = page.evaluate(
                """() => navigator.serviceWorker.ready.then(r => r.getNotifications()).then(list =>
                     list.map(n => ({title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url})))"""
            )
        assert shown == [
            {
                "title": webpush_notification["title"],
                "body": webpush_notification["body"],
                "tag": webpush_notification.get("tag", ""),
                "url": "https://pengampu.example.id/app/#/inbox",
            }
        ]

        page.reload()
        page.wait_for_selector("[data-testid=inbox]")
        page.wait_for_selector("[data-testid=inbox] >> text=INV-FCM-WEB-1")
        screenshot(page, "app-sponsor-inbox-push-firebase")

        # The next start asks the SDK again (after the first screen); the same token is not registered twice.
        before = Device.objects.get(user=user).last_seen_at
        registrations = len(google.registrations)
        page.wait_for_function("typeof window.firebase === 'object'", timeout=15_000)
        page.wait_for_timeout(1500)
        assert len(google.registrations) == registrations  # the SDK kept its token (IndexedDB)
        assert Device.objects.filter(user=user).count() == 1
        assert Device.objects.get(user=user).last_seen_at == before

        # The push service rotated the subscription: on the next start the SDK drops its registration with
        # Google and gets another token, which the app registers; the old one is left to FCM's UNREGISTERED.
        page.evaluate("localStorage.setItem('test.rotated', '-rotated')")
        page.reload()
        page.wait_for_selector("[data-testid=inbox]")
        deadline = time.monotonic() + 15
        while not Device.objects.filter(token=FCM_TOKEN_2).exists() and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        dropped, renewed = google.registrations[-2:]
        assert dropped["method"] == "DELETE" and dropped["url"].endswith("/registrations/" + FCM_TOKEN)
        assert renewed["method"] == "POST" and renewed["body"]["web"]["endpoint"] == ENDPOINT + "-rotated"
        refreshed = Device.objects.get(token=FCM_TOKEN_2)
        assert (refreshed.user, refreshed.platform, refreshed.active) == (user, "web", True)
        # the app keeps the token once the service worker's registration answered (just after the row exists)
        page.wait_for_function(f"localStorage.getItem('pa.push_token') === {FCM_TOKEN_2!r}", timeout=10_000)
    finally:
        context.close()
