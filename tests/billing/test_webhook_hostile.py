"""Issue 13 defect 3 and issue 14 (webhook): hostile bytes never give a 5xx and are kept as evidence; the body
size and the request rate are capped before anything is stored; another deployment's orders are ignored."""

import datetime as dt
import json
import time

import pytest
from django.test import Client, TestCase

from sponsorship.billing.models import Invoice, PaymentAttempt, PaymentNotification, RefusedNotification
from sponsorship.billing.services.billing import billing_run
from tests.billing.conftest import DEC_2026, notification_from_status, signed, sim_control

NOTIFY = "/api/v1/payments/midtrans/notification/"


def post_raw(body: bytes, *, lean=True, settings=None, **extra):
    if settings is not None:
        settings.LEAN_PATHS = lean
    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post(NOTIFY, data=body, content_type="application/json", **extra)


@pytest.fixture
def paid_order(family, gateway_settings, api, sim, http):
    billing_run(period=DEC_2026, notify=False)
    invoice = Invoice.objects.get(sponsor=family[0])
    order_id = api(invoice.sponsor.user).post(f"/api/v1/sponsor/invoices/{invoice.pk}/pay/").json()["order_id"]
    sim_control(http, sim, "pay", {"order_id": order_id, "method": "bca_va"})
    return order_id


def body_of(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def away_from_a_minute_boundary():
    """The limits count per clock minute: start a burst early in one, so it is counted in one."""
    while dt.datetime.now(dt.UTC).second >= 50:
        time.sleep(0.5)


@pytest.mark.django_db
@pytest.mark.parametrize("lean", [True, False])
def test_hostile_bytes_never_give_5xx_and_are_kept_exactly(paid_order, settings, lean):
    good = notification_from_status(paid_order)
    text = body_of(good)
    escaped_nul_signed = signed({**good, "order_id": paid_order + "\u0000"})
    cases = [
        # (body, expected status, answer status, kept state)
        (text.replace(b'"settlement"', b'"settle\x00ment"'), 400, "invalid_json", "rejected"),  # raw NUL
        (text[:20] + b"\xff\xfe\xc3(" + text[20:], 400, "invalid_encoding", "rejected"),  # invalid UTF-8
        (b"\x00" * 64, 400, "invalid_json", "rejected"),
        (body_of({**good, "signature_key": "x", "order_id": paid_order + "\u0000"}), 403, "invalid_signature", None),
        (body_of({k: v for k, v in good.items() if k != "signature_key"}), 403, "invalid_signature", None),
        (body_of(escaped_nul_signed), 400, "invalid_fields", "rejected"),
        (b"[" * 100_00 + b"]" * 100_00, 400, "invalid_json", "rejected"),  # deeply nested: RecursionError
    ]
    for body, code, answer, state in cases:
        before = PaymentNotification.objects.count()
        response = post_raw(body, lean=lean, settings=settings)
        assert response.status_code == code, (body[:60], response.status_code, response.content)
        assert response.json()["status"] == answer
        assert PaymentNotification.objects.count() == before + 1
        row = PaymentNotification.objects.order_by("-pk").first()
        assert row.state == (state or "rejected")
        assert row.body_bytes() == body  # the exact bytes, whatever they were
        assert "\x00" not in row.raw_body and "\x00" not in row.order_id
    assert Invoice.objects.get().status == "issued"  # nothing hostile moved money
    # the genuine notification still works afterwards
    assert post_raw(text, lean=lean, settings=settings).json()["status"] == "accepted"
    assert Invoice.objects.get().status == "paid"


@pytest.mark.django_db
def test_oversized_body_is_refused_before_it_is_read_or_stored(paid_order, settings):
    settings.MIDTRANS_NOTIFICATION_MAX_BYTES = 4096
    huge = b'{"order_id": "' + b"A" * 2_000_000 + b'"}'
    response = post_raw(huge)
    assert response.status_code == 413 and response.json() == {"status": "too_large"}
    assert not PaymentNotification.objects.exists()
    refused = RefusedNotification.objects.get()
    assert (refused.reason, refused.count, refused.remote_ip) == ("too_large", 1, "127.0.0.1")
    assert refused.largest_bytes == len(huge)
    # a real notification is a few hundred bytes and passes
    assert post_raw(body_of(notification_from_status(paid_order))).json()["status"] == "accepted"


@pytest.mark.django_db
def test_rate_per_address_is_capped_before_storing(paid_order, settings):
    from django.core.cache import cache

    cache.clear()
    settings.MIDTRANS_NOTIFICATION_RATE_PER_MINUTE = 5
    away_from_a_minute_boundary()
    junk = body_of({"order_id": "x", "status_code": "200", "gross_amount": "1.00", "signature_key": "nope"})
    answers = [post_raw(junk).status_code for _ in range(40)]
    assert answers[:5] == [403] * 5 and set(answers[5:]) == {429}
    assert PaymentNotification.objects.count() == 5  # only what was allowed in was stored
    refused = RefusedNotification.objects.get(reason="rate_limited")
    assert 16 <= refused.count <= 35 and refused.remote_ip == "127.0.0.1"  # counted to within a factor of two
    # another address is not affected
    other = post_raw(body_of(notification_from_status(paid_order)), REMOTE_ADDR="10.9.8.7")
    assert other.json()["status"] == "accepted"
    cache.clear()


@pytest.mark.django_db
def test_rate_limit_on_real_redis_counts_across_requests(paid_order, settings):
    """Production counts in Redis (one pipelined INCR + EXPIRE per request), shared by every process."""
    import os
    import uuid

    url = os.environ.get("REDIS_TEST_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true requires REDIS_TEST_URL")
        pytest.skip("REDIS_TEST_URL not set")
    settings.CACHES = {
        "default": {"BACKEND": "backend.cache.DegradingRedisCache", "LOCATION": url, "KEY_PREFIX": uuid.uuid4().hex}
    }
    settings.MIDTRANS_NOTIFICATION_RATE_PER_MINUTE = 3
    away_from_a_minute_boundary()
    junk = body_of({"order_id": "x", "status_code": "200", "gross_amount": "1.00", "signature_key": "nope"})
    answers = [post_raw(junk, REMOTE_ADDR="10.20.30.40").status_code for _ in range(6)]
    assert answers == [403, 403, 403, 429, 429, 429]
    assert RefusedNotification.objects.get(reason="rate_limited").count == 2  # written at the 1st and 2nd


@pytest.mark.django_db
def test_rejected_bodies_are_kept_only_up_to_an_allowance_then_counted(paid_order, settings):
    from django.core.cache import cache

    cache.clear()
    settings.MIDTRANS_REJECTED_KEPT_PER_MINUTE = 3
    away_from_a_minute_boundary()
    junk = body_of({"order_id": "x", "status_code": "200", "gross_amount": "1.00", "signature_key": "nope"})
    assert [post_raw(junk).status_code for _ in range(10)] == [403] * 10
    assert PaymentNotification.objects.count() == 3
    assert RefusedNotification.objects.get(reason="rejected_not_stored").count >= 4
    assert post_raw(body_of(notification_from_status(paid_order))).json()["status"] == "accepted"  # signed: kept
    cache.clear()


# ---- order-id prefix (issue 14) ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_order_ids_carry_the_deployment_prefix_and_other_deployments_are_ignored(paid_order, settings, sim, http):
    assert paid_order.startswith("TEST-INV-")
    note = notification_from_status(paid_order)
    foreign = signed({**note, "order_id": paid_order.replace("TEST-", "PROD-", 1)})
    response = post_raw(body_of(foreign))
    assert response.status_code == 200 and response.json() == {"status": "ignored"}
    row = PaymentNotification.objects.get()
    assert row.state == "other_deployment" and row.processed_at and row.dedupe_key is None
    assert Invoice.objects.get().status == "issued"
    # an unknown order with our own prefix is still a 404 (it should exist here)
    ours = signed({**note, "order_id": "TEST-INV-209901-999999-1"})
    assert post_raw(body_of(ours)).status_code == 404
    assert post_raw(body_of(note)).json()["status"] == "accepted"
    assert Invoice.objects.get().status == "paid"


@pytest.mark.django_db
def test_an_order_created_before_the_prefix_existed_is_still_processed(paid_order, settings, sim, http, client):
    """Orders issued before the prefix (no prefix at all) keep working: known orders are never ignored."""
    attempt = PaymentAttempt.objects.get(order_id=paid_order)
    settings.MIDTRANS_ORDER_PREFIX = "NEWPFX"
    response = post_raw(body_of(notification_from_status(attempt.order_id)))
    assert response.json()["status"] == "accepted"
    assert Invoice.objects.get().status == "paid"


def test_production_refuses_to_start_without_an_order_prefix():
    from tests.hardening.test_security import PROD_ENV, _manage

    env = {k: v for k, v in PROD_ENV.items() if k != "MIDTRANS_ORDER_PREFIX"}
    result = _manage("check", env=env)
    assert result.returncode != 0 and "MIDTRANS_ORDER_PREFIX" in result.stderr
    bad = _manage("check", env={**PROD_ENV, "MIDTRANS_ORDER_PREFIX": "no spaces/slashes"})
    assert bad.returncode != 0 and "MIDTRANS_ORDER_PREFIX" in bad.stderr
