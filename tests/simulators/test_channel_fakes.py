"""The WhatsApp and Twilio fakes on their own: receipts posted over HTTP, signed as the providers sign them."""

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from simulators.sms import FakeTwilio, twilio_signature
from simulators.whatsapp import FakeWhatsApp


@pytest.fixture
def receiver():
    posts = []

    class H(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.append((self.path, dict(self.headers), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", posts
    server.shutdown()


def _post_json(url, payload, token):
    request = urllib.request.Request(  # noqa: S310 - loopback fake
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return json.loads(response.read())


def test_whatsapp_fake_posts_signed_receipts_and_a_failure_for_a_non_whatsapp_number(receiver):
    url, posts = receiver
    with FakeWhatsApp(access_token="t", app_secret="s", webhook_url=url + "/wa") as fake:
        fake.set_not_on_whatsapp("+6289900000000")
        send = f"{fake.base_url}/v21.0/{fake.phone_number_id}/messages"
        template = {"name": "pengampu_tip", "language": {"code": "id"}}
        ok = _post_json(
            send,
            {"messaging_product": "whatsapp", "to": "6281234567890", "type": "template", "template": template},
            "t",
        )
        bad = _post_json(
            send,
            {"messaging_product": "whatsapp", "to": "6289900000000", "type": "template", "template": template},
            "t",
        )
        fake.wait_idle()
        with urllib.request.urlopen(fake.base_url + "/", timeout=5) as page:  # noqa: S310
            assert "6281234567890" in page.read().decode()
    statuses = []
    for _, headers, body in posts:
        expected = "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest()
        assert headers["X-Hub-Signature-256"] == expected
        item = json.loads(body)["entry"][0]["changes"][0]["value"]["statuses"][0]
        statuses.append((item["id"], item["status"], (item.get("errors") or [{}])[0].get("code")))
    ok_id, bad_id = ok["messages"][0]["id"], bad["messages"][0]["id"]
    assert (ok_id, "sent", None) in statuses and (ok_id, "delivered", None) in statuses
    assert (bad_id, "failed", 131026) in statuses


def test_twilio_fake_posts_signed_status_callbacks(receiver):
    url, posts = receiver
    callback = url + "/twilio/status?x=1"
    with FakeTwilio(account_sid="AC1", auth_token="tok") as fake:
        fake.set_unreachable("+6281299999999")
        for to in ("+6281234567890", "+6281299999999"):
            data = urllib.parse.urlencode({"To": to, "From": "PENGAMPU", "Body": "halo", "StatusCallback": callback})
            request = urllib.request.Request(  # noqa: S310 - loopback fake
                f"{fake.base_url}/2010-04-01/Accounts/AC1/Messages.json",
                data=data.encode(),
                headers={"Authorization": "Basic " + base64.b64encode(b"AC1:tok").decode()},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                assert response.status == 201 and json.loads(response.read())["status"] == "queued"
        fake.wait_idle()
    seen = []
    for _, headers, body in posts:
        params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        assert headers["X-Twilio-Signature"] == twilio_signature(callback, params, "tok")
        seen.append((params["To"], params["MessageStatus"], params.get("ErrorCode")))
    assert ("+6281234567890", "delivered", None) in seen
    assert ("+6281299999999", "undelivered", "30003") in seen
