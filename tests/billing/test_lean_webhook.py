"""The Midtrans webhook through the lean path (backend/lean.py): the same answers, headers and stored rows as
through the whole middleware stack, and it goes through the real WSGI application the way gunicorn calls it."""

import io
import json
import sys

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import close_old_connections
from django.test import Client, TestCase

from sponsorship.billing.models import CoverageMonth, Invoice, PaymentNotification
from sponsorship.billing.services.billing import billing_run
from tests.billing.conftest import DEC_2026, notification_from_status, signed, sim_control

NOTIFY = "/api/v1/payments/midtrans/notification/"
COMPARED_HEADERS = (
    "Content-Type",
    "Content-Language",
    "Vary",
    "Allow",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Strict-Transport-Security",
    "Content-Length",
    "Set-Cookie",
)
ROW_FIELDS = (
    "id",
    "raw_body",
    "headers",
    "remote_ip",
    "order_id",
    "transaction_id",
    "transaction_status",
    "status_code",
    "gross_amount",
    "signature_valid",
    "state",
    "outcome",
    "error",
    "attempts",
)


def post(body, *, lean: bool, settings, lean_calls, method="post", **extra):
    settings.LEAN_PATHS = lean
    before = len(lean_calls)
    data = body if isinstance(body, str) else json.dumps(body)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = getattr(Client(), method)(
            NOTIFY, data=data, content_type="application/json", HTTP_USER_AGENT="Veritrans", **extra
        )
    assert (len(lean_calls) > before) == lean
    settings.LEAN_PATHS = True
    return response


def last_row() -> dict:
    row = PaymentNotification.objects.order_by("-pk").values(*ROW_FIELDS).first()
    return row


def assert_same_answer(lean, whole, *, skip=()):
    assert lean.status_code == whole.status_code, (lean.content, whole.content)
    assert lean.content == whole.content
    for name in set(COMPARED_HEADERS) - set(skip):
        assert lean.get(name) == whole.get(name), (name, lean.get(name), whole.get(name))


@pytest.fixture
def two_paid_orders(family, gateway_settings, api, sim, http):
    """Two invoices of two sponsors, each paid at the simulator: one notified via each path."""
    from tests import factories

    billing_run(period=DEC_2026, notify=False)
    other = factories.make_sponsor(agency=family[0].agency, capacity=3)
    factories.sponsor_worker(other, factories.make_worker(full_name="Tini Lestari", sex="F"))
    billing_run(period=DEC_2026, notify=False)
    orders = []
    for invoice in Invoice.objects.order_by("pk"):
        order_id = api(invoice.sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/").json()["order_id"]
        sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
        orders.append(order_id)
    assert len(orders) == 2
    return orders


@pytest.mark.django_db
def test_settlement_and_duplicate_are_recorded_the_same_way(two_paid_orders, settings, lean_calls):
    rows, answers = {}, {}
    for lean, order_id in zip((True, False), two_paid_orders, strict=True):
        body = notification_from_status(order_id)
        first = post(body, lean=lean, settings=settings, lean_calls=lean_calls)
        stored = last_row()
        again = post(body, lean=lean, settings=settings, lean_calls=lean_calls)
        duplicate = last_row()
        answers[lean] = (first, again)
        rows[lean] = (stored, duplicate, body)
        assert first.status_code == 200 and first.json() == {"status": "accepted"}
        assert again.status_code == 200 and again.json() == {"status": "duplicate"}
        assert Invoice.objects.get(attempts__order_id=order_id).status == "paid"
    for i in range(2):
        assert_same_answer(answers[True][i], answers[False][i])
    # The rows differ only by what belongs to the order (its id, transaction, body); the rest is equal.
    order_specific = ("id", "raw_body", "order_id", "transaction_id", "gross_amount")
    for lean in (True, False):  # a duplicate points at its original
        stored, duplicate, _ = rows[lean]
        assert duplicate.pop("outcome") == f"duplicate_of_{stored['id']}"
        del stored["outcome"]
        assert stored["state"] == "processed"
    for i in range(2):
        lean_row, whole_row = rows[True][i], rows[False][i]
        for row in (lean_row, whole_row):  # the body's length belongs to the order too
            assert int(row["headers"].pop("Content-Length")) == len(row["raw_body"].encode())
        assert {k: v for k, v in lean_row.items() if k not in order_specific} == {
            k: v for k, v in whole_row.items() if k not in order_specific
        }
    lean_first, _, lean_body = rows[True]
    assert json.loads(lean_first["raw_body"]) == lean_body
    assert lean_first["headers"]["User-Agent"] == "Veritrans" and lean_first["remote_ip"] == "127.0.0.1"
    assert "Cookie" not in lean_first["headers"] and "Authorization" not in lean_first["headers"]
    assert rows[True][1]["state"] == "duplicate"
    assert CoverageMonth.objects.count() == 4


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["id", "en"])
def test_rejections_answer_the_same_on_both_paths(two_paid_orders, settings, lean_calls, language):
    extra = {
        "HTTP_ACCEPT_LANGUAGE": language,
        "HTTP_COOKIE": "sessionid=abc; csrftoken=x",
        "HTTP_AUTHORIZATION": "Bearer whatever",
    }
    forged = notification_from_status(two_paid_orders[0])
    forged["gross_amount"] = "1.00"  # signature no longer matches

    def unknown(tag):  # a different order per path: the second copy of one would be a duplicate
        return signed(
            {
                "order_id": f"TEST-NOPE-{tag}-{language}",
                "status_code": "200",
                "gross_amount": "25200.00",
                "transaction_status": "settlement",
                "transaction_id": "t-1",
            }
        )

    cases = [
        (lambda tag: forged, 403, {"status": "invalid_signature"}, "rejected"),
        (unknown, 404, {"status": "unknown_order"}, "unknown_order"),
        (lambda tag: "{not json", 400, {"status": "invalid_json"}, "rejected"),
        (lambda tag: "[1, 2]", 400, {"status": "invalid_json"}, "rejected"),
    ]
    for body, code, answer, state in cases:
        lean = post(body("lean"), lean=True, settings=settings, lean_calls=lean_calls, **extra)
        lean_row = last_row()
        whole = post(body("whole"), lean=False, settings=settings, lean_calls=lean_calls, **extra)
        whole_row = last_row()
        assert lean.status_code == code and lean.json() == answer
        # The one difference: with a cookie, the whole stack's session/messages middleware add "Vary: Cookie";
        # the lean answer does not read cookies, so it varies by language only.
        assert_same_answer(lean, whole, skip=("Vary",))
        assert lean["Vary"] == "Accept-Language" and whole["Vary"] in ("Accept-Language", "Cookie, Accept-Language")
        assert lean["Content-Language"] == language and lean["X-Content-Type-Options"] == "nosniff"
        assert lean_row.pop("id") != whole_row.pop("id")
        for row in (lean_row, whole_row):
            row["headers"].pop("Content-Length")
            if state == "unknown_order":
                row.pop("raw_body"), row.pop("order_id")
        assert lean_row == whole_row and lean_row["state"] == state
        assert "Cookie" not in lean_row["headers"] and "Authorization" not in lean_row["headers"]
    assert not Invoice.objects.filter(status="paid").exists()
    # GET is not allowed: 405 with Allow: POST, nothing stored
    count = PaymentNotification.objects.count()
    lean = post("", lean=True, settings=settings, lean_calls=lean_calls, method="get")
    whole = post("", lean=False, settings=settings, lean_calls=lean_calls, method="get")
    assert lean.status_code == 405 and lean["Allow"] == "POST"
    assert_same_answer(lean, whole)
    assert PaymentNotification.objects.count() == count


@pytest.mark.django_db(transaction=True)
def test_store_failure_is_503_through_the_lean_path(two_paid_orders, settings, lean_calls, monkeypatch):
    from sponsorship.billing.services import webhook

    body = notification_from_status(two_paid_orders[0])
    with monkeypatch.context() as patched:
        patched.setattr(
            webhook, "_ACCEPT_SQL", webhook._ACCEPT_SQL.replace("INSERT INTO {note}", "INSERT INTO {note}_gone")
        )
        failed = post(body, lean=True, settings=settings, lean_calls=lean_calls)
    assert failed.status_code == 503 and failed.json() == {"status": "retry_later"}
    assert not PaymentNotification.objects.exists()
    retried = post(body, lean=True, settings=settings, lean_calls=lean_calls)
    assert retried.status_code == 200
    assert Invoice.objects.get(attempts__order_id=two_paid_orders[0]).status == "paid"
    from tests.factories import restore_reference_rows

    restore_reference_rows()


@pytest.mark.django_db
def test_unexpected_error_in_the_view_is_django_500_with_headers(two_paid_orders, settings, lean_calls, monkeypatch):
    from sponsorship.billing.services import webhook

    def boom(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(webhook, "notification_receive", boom)
    client = Client(raise_request_exception=False)
    response = client.post(NOTIFY, data="{}", content_type="application/json")
    assert response.status_code == 500 and lean_calls == [NOTIFY]
    assert response["X-Content-Type-Options"] == "nosniff" and response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_the_real_wsgi_application_takes_the_lean_path(two_paid_orders, lean_calls, settings):
    """What gunicorn calls: backend.wsgi's handler, a raw environ, bytes back."""
    body = json.dumps(notification_from_status(two_paid_orders[0])).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": NOTIFY,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.1.2.3",
        "HTTP_HOST": "127.0.0.1:8000",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_USER_AGENT": "Veritrans",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    seen = {}
    # The test's transaction must survive the request: what Django's test client does too.
    request_started.disconnect(close_old_connections)
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            chunks = WSGIHandler()(
                environ, lambda status, headers, exc_info=None: seen.update(status=status, headers=dict(headers))
            )
            content = b"".join(chunks)
    finally:
        request_started.connect(close_old_connections)
    assert seen["status"] == "200 OK" and json.loads(content) == {"status": "accepted"}
    assert seen["headers"]["Content-Length"] == str(len(content))
    assert seen["headers"]["X-Content-Type-Options"] == "nosniff"
    assert lean_calls == [NOTIFY]
    row = PaymentNotification.objects.get()
    assert row.remote_ip == "10.1.2.3" and row.state == "processed"
