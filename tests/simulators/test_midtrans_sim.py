"""The simulator driven by the real midtransclient over HTTP: Snap, Core, payment page."""

from __future__ import annotations

import midtransclient
import pytest
from midtransclient import MidtransAPIError

from simulators.midtrans import signature

SERVER_KEY = "SB-Mid-server-LOCALTEST"  # same as conftest

PREMIUM = 16800


def snap_body(order_id: str, workers: int = 3, **extra) -> dict:
    return {
        "transaction_details": {"order_id": order_id, "gross_amount": PREMIUM * workers},
        "item_details": [
            {"id": f"W-{i}", "price": PREMIUM, "quantity": 1, "name": f"Premi Juli - Pekerja {i}"}
            for i in range(workers)
        ],
        **extra,
    }


def charge_body(order_id: str, payment_type: str = "bank_transfer", bank: str | None = "bca", **extra) -> dict:
    body = {"payment_type": payment_type, "transaction_details": {"order_id": order_id, "gross_amount": PREMIUM}}
    if bank:
        body["bank_transfer"] = {"bank": bank}
    return {**body, **extra}


# ---- Snap -----------------------------------------------------------------------------------------
def test_snap_create_returns_201_token_and_local_redirect_url(sim, snap):
    result = snap.create_transaction(snap_body("PREM-1"))
    assert len(result["token"]) == 36
    assert result["redirect_url"] == f"{sim.base_url}/snap/v4/redirection/{result['token']}"


def test_snap_item_sum_mismatch_is_400(snap):
    body = snap_body("PREM-2")
    body["transaction_details"]["gross_amount"] = 1
    with pytest.raises(MidtransAPIError) as err:
        snap.create_transaction(body)
    assert err.value.http_status_code == 400
    assert err.value.api_response_dict == {
        "error_messages": ["transaction_details.gross_amount is not equal to the sum of item_details"]
    }


@pytest.mark.parametrize(
    "details, fragment",
    [
        (None, "is required"),
        ({"order_id": "X", "gross_amount": 0}, "gross_amount"),
        ({"order_id": "X", "gross_amount": 100.5}, "decimals"),
        ({"order_id": "bad id!", "gross_amount": 100}, "order_id"),
        ({"order_id": "X" * 51, "gross_amount": 100}, "order_id"),
    ],
)
def test_snap_validation_errors_are_400(snap, details, fragment):
    with pytest.raises(MidtransAPIError) as err:
        snap.create_transaction({"transaction_details": details} if details else {})
    assert err.value.http_status_code == 400
    assert fragment in " ".join(err.value.api_response_dict["error_messages"])


def test_recreating_token_without_attempt_invalidates_old_token(sim, snap, http):
    first = snap.create_transaction(snap_body("PREM-3"))
    second = snap.create_transaction(snap_body("PREM-3"))
    assert first["token"] != second["token"]
    assert "token not found" in http.get(first["redirect_url"]).text
    assert "Pilih metode pembayaran" in http.get(second["redirect_url"]).text


def test_attempted_order_cannot_get_a_new_token(sim, snap, http):
    snap.create_transaction(snap_body("PREM-4"))
    assert http.post(f"{sim.base_url}/_sim/pay", json={"order_id": "PREM-4", "method": "bri_va"}).status_code == 200
    with pytest.raises(MidtransAPIError) as err:
        snap.create_transaction(snap_body("PREM-4"))
    assert err.value.http_status_code == 400
    assert "has been paid and utilized" in err.value.api_response_dict["error_messages"][0]


def test_status_is_404_until_a_snap_method_is_chosen(sim, snap, core, http):
    token = snap.create_transaction(snap_body("PREM-5"))["token"]
    with pytest.raises(MidtransAPIError) as err:
        core.transactions.status("PREM-5")
    assert err.value.http_status_code == 404
    assert err.value.api_response_dict["status_message"] == "Transaction doesn't exist."
    http.post(f"{sim.base_url}/snap/v4/redirection/{token}/choose", data={"method": "permata_va"})
    status = core.transactions.status("PREM-5")
    assert (status["status_code"], status["transaction_status"]) == ("201", "pending")
    assert status["permata_va_number"].startswith("8562")


def test_payment_page_lists_methods_in_indonesian(sim, snap, http):
    url = snap.create_transaction(snap_body("PREM-6"))["redirect_url"]
    html = http.get(url).text
    for label in (
        "BCA Virtual Account",
        "BNI Virtual Account",
        "BRI Virtual Account",
        "Permata Virtual Account",
        "Mandiri Bill Payment",
        "QRIS",
        "GoPay",
        "ShopeePay",
    ):
        assert label in html
    assert "Rp 50.400" in html and "Pilih metode pembayaran" in html and "Choose a payment method" in html
    assert "Premi Juli - Pekerja 2" in html
    assert "<script" not in html and "http" not in html.split("<main>")[1].split("Order ID")[0]


def test_enabled_payments_limits_the_page(snap, http):
    url = snap.create_transaction(snap_body("PREM-7", enabled_payments=["bni_va", "other_qris"]))["redirect_url"]
    html = http.get(url).text
    assert "BNI Virtual Account" in html and "QRIS" in html and "BCA Virtual Account" not in html


def test_pay_on_page_settles_notifies_and_redirects_to_finish(sim, snap, core, http, receiver):
    body = snap_body("PREM-8", callbacks={"finish": "http://127.0.0.1:9/finish"}, custom_field1="payer:42")
    token = snap.create_transaction(body)["token"]
    page = f"{sim.base_url}/snap/v4/redirection/{token}"
    chosen = http.post(f"{page}/choose", data={"method": "bca_va"})  # follows the 303 back to the page
    va = core.transactions.status("PREM-8")["va_numbers"][0]["va_number"]
    assert va in chosen.text and "Bayar (simulasi)" in chosen.text and "Gagalkan" in chosen.text
    paid = http.post(f"{page}/pay", allow_redirects=False)
    assert paid.status_code == 303
    assert paid.headers["Location"].startswith("http://127.0.0.1:9/finish?merchant_id=")
    assert "transaction_status=settlement" in paid.headers["Location"]
    status = core.transactions.status("PREM-8")
    assert status["transaction_status"] == "settlement" and status["custom_field1"] == "payer:42"
    notes = [r["json"] for r in receiver.wait_for(2)]
    assert [(n["transaction_status"], n["status_code"]) for n in notes] == [("pending", "201"), ("settlement", "200")]
    for n in notes:
        assert n["signature_key"] == signature(n["order_id"], n["status_code"], n["gross_amount"], SERVER_KEY)
        assert n["status_message"] == "midtrans payment notification" and n["custom_field1"] == "payer:42"
    assert receiver.received[0]["headers"]["User-Agent"] == "Veritrans"


def test_failed_attempt_can_be_retried_with_another_method(sim, snap, core, http):
    token = snap.create_transaction(snap_body("PREM-9"))["token"]
    page = f"{sim.base_url}/snap/v4/redirection/{token}"
    http.post(f"{page}/choose", data={"method": "gopay"})
    html = http.post(f"{page}/fail", data={"outcome": "deny"}).text
    assert "Pembayaran sebelumnya ditolak" in html
    http.post(f"{page}/choose", data={"method": "other_qris"})
    http.post(f"{page}/pay")
    status = core.transactions.status("PREM-9")
    assert (status["payment_type"], status["transaction_status"]) == ("qris", "settlement")


def test_snap_session_cancel(sim, snap, http):
    token = snap.create_transaction(snap_body("PREM-10"))["token"]
    url = f"{sim.base_url}/snap/v1/transactions/{token}/cancel"
    auth = (SERVER_KEY, "")
    assert "canceled_at" in http.post(url, auth=auth).json()
    again = http.post(url, auth=auth)
    assert again.status_code == 400 and again.json() == {"error_messages": ["token already canceled"]}


def test_signature_matches_reference_test_vectors():
    key, order, amount = "SB-Mid-server-LOCALTEST", "PREM-2025-07-P42", "50400.00"
    assert signature(order, "200", amount, key).startswith("2c3071b7b3c20bd7c995bbfea7094d06")
    assert signature(order, "201", amount, key).startswith("e759d7de0ec718e4d52da6ce45213de5")
    assert signature(order, "202", amount, key).endswith(
        "2c7ad086d2d0a6bb4142d7b056ef993e3412d8de466e80b37713d86cd1586f9508f23e82c18cc270d2b8ea815379982ff28a908b7f275aa2c7c0feb1ac437e1a"[
            -32:
        ]
    )


# ---- Core -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body, field, check",
    [
        (charge_body("C-bca"), "va_numbers", lambda v: v[0]["bank"] == "bca"),
        (charge_body("C-bni"), None, None),
        (charge_body("C-bri", bank="bri"), "va_numbers", lambda v: v[0]["bank"] == "bri"),
        (charge_body("C-cimb", bank="cimb"), "va_numbers", lambda v: v[0]["bank"] == "cimb"),
        (charge_body("C-perm", bank="permata"), "permata_va_number", lambda v: len(v) == 16),
        (charge_body("C-perm2", payment_type="permata", bank=None), "permata_va_number", lambda v: len(v) == 16),
        (charge_body("C-mandiri", payment_type="echannel", bank=None), "biller_code", lambda v: v == "70012"),
        (
            charge_body("C-gopay", payment_type="gopay", bank=None),
            "actions",
            lambda v: v[0]["name"] == "generate-qr-code",
        ),
        (charge_body("C-qris", payment_type="qris", bank=None), "acquirer", lambda v: v == "gopay"),
        (
            charge_body("C-spay", payment_type="shopeepay", bank=None),
            "actions",
            lambda v: v[0]["name"] == "deeplink-redirect",
        ),
    ],
)
def test_core_charge_shapes(core, body, field, check):
    result = core.charge(body)
    assert (result["status_code"], result["transaction_status"], result["gross_amount"]) == (
        "201",
        "pending",
        "16800.00",
    )
    assert result["status_message"] and result["currency"] == "IDR" and len(result["transaction_id"]) == 36
    if field:
        assert check(result[field])


def test_core_duplicate_order_is_406_in_an_http_200_body(core):
    core.charge(charge_body("C-dup"))
    with pytest.raises(MidtransAPIError) as err:
        core.charge(charge_body("C-dup"))
    assert err.value.http_status_code == 200 and err.value.api_response_dict["status_code"] == "406"


def test_core_unsupported_payment_type_is_402(core):
    with pytest.raises(MidtransAPIError) as err:
        core.charge(charge_body("C-cc", payment_type="credit_card", bank=None))
    assert err.value.api_response_dict["status_code"] == "402"


def test_core_validation_is_400_and_null_body_is_500(core):
    with pytest.raises(MidtransAPIError) as err:
        core.charge(charge_body("C-zero") | {"transaction_details": {"order_id": "C-zero", "gross_amount": 0}})
    assert err.value.http_status_code == 400 and err.value.api_response_dict["validation_messages"]
    with pytest.raises(MidtransAPIError) as err:
        core.charge(None)
    assert err.value.http_status_code == 500


def test_expire_returns_407_without_raising_and_order_id_can_be_reused(core, receiver):
    core.charge(charge_body("C-exp"))
    result = core.transactions.expire("C-exp")
    assert (result["status_code"], result["transaction_status"]) == ("407", "expire")
    assert result["status_message"] == "Success, transaction is expired"
    assert core.transactions.status("C-exp")["status_code"] == "407"
    assert core.charge(charge_body("C-exp"))["transaction_status"] == "pending"
    notes = [r["json"] for r in receiver.wait_for(3)]
    assert [(n["transaction_status"], n["status_code"]) for n in notes] == [
        ("pending", "201"),
        ("expire", "202"),
        ("pending", "201"),
    ]


def test_cancel_pending_then_cancel_and_expire_settled_are_412(sim, core, http):
    core.charge(charge_body("C-can"))
    assert core.transactions.cancel("C-can")["status_message"] == "Success, transaction is canceled"
    tid = core.charge(charge_body("C-set"))["transaction_id"]
    http.post(f"{sim.base_url}/_sim/pay", json={"transaction_id": tid})
    for action in (core.transactions.cancel, core.transactions.expire):
        with pytest.raises(MidtransAPIError) as err:
            action(tid)
        assert err.value.http_status_code == 200 and err.value.api_response_dict["status_code"] == "412"


def test_bad_server_key_is_401_for_snap_and_core(sim, make_client):
    snap = make_client(midtransclient.Snap, sim.base_url, server_key="SB-Mid-server-WRONG")
    core = make_client(midtransclient.CoreApi, sim.base_url, server_key="SB-Mid-server-WRONG")
    with pytest.raises(MidtransAPIError) as err:
        snap.create_transaction(snap_body("K-1"))
    assert err.value.http_status_code == 401 and "unauthorized" in err.value.api_response_dict["error_messages"][0]
    with pytest.raises(MidtransAPIError) as err:
        core.transactions.status("K-1")
    assert err.value.http_status_code == 401 and err.value.api_response_dict["status_code"] == "401"


def test_refund_rules(sim, core, http):
    tid = core.charge(charge_body("C-ref", payment_type="gopay", bank=None))["transaction_id"]
    with pytest.raises(MidtransAPIError) as err:  # not settled yet
        core.transactions.refund(tid, {"amount": 1000})
    assert err.value.api_response_dict["status_code"] == "412"
    http.post(f"{sim.base_url}/_sim/pay", json={"transaction_id": tid})
    part = core.transactions.refund(tid, {"refund_key": "r1", "amount": 6800, "reason": "x"})
    assert (part["transaction_status"], part["refund_amount"]) == ("partial_refund", "6800.00")
    assert core.transactions.refund(tid, {"refund_key": "r1", "amount": 6800})["refund_chargeback_id"] == 1
    with pytest.raises(MidtransAPIError) as err:
        core.transactions.refund(tid, {"refund_key": "r1", "amount": 5})
    assert err.value.api_response_dict["status_code"] == "406"
    with pytest.raises(MidtransAPIError) as err:
        core.transactions.refund(tid, {"refund_key": "r2", "amount": 999999})
    assert err.value.api_response_dict["status_code"] == "414"
    assert core.transactions.refund(tid, {"refund_key": "r3"})["transaction_status"] == "refund"
    va_tid = core.charge(charge_body("C-ref-va"))["transaction_id"]
    http.post(f"{sim.base_url}/_sim/pay", json={"transaction_id": va_tid})
    with pytest.raises(MidtransAPIError) as err:
        core.transactions.refund(va_tid, {})
    assert err.value.api_response_dict["status_code"] == "412"


def test_custom_expiry_is_enforced_by_the_simulated_clock(sim, core, http, receiver):
    body = charge_body("C-cexp", custom_expiry={"expiry_duration": 1, "unit": "hour"})
    core.charge(body)
    assert http.post(f"{sim.base_url}/_sim/clock", json={"advance_seconds": 3601}).json()["expired"] == 1
    assert core.transactions.status("C-cexp")["transaction_status"] == "expire"


def test_snap_expiry_applies_to_the_attempt(sim, snap, core, http, receiver):
    token = snap.create_transaction(snap_body("PREM-11", expiry={"unit": "minutes", "duration": 5}))["token"]
    http.post(f"{sim.base_url}/snap/v4/redirection/{token}/choose", data={"method": "bni_va"})
    status = core.transactions.status("PREM-11")
    minutes = (
        int(status["expiry_time"][11:13]) * 60
        + int(status["expiry_time"][14:16])
        - int(status["transaction_time"][11:13]) * 60
        - int(status["transaction_time"][14:16])
    ) % (24 * 60)
    assert minutes == 5
    http.post(f"{sim.base_url}/_sim/clock", json={"advance_seconds": 301})
    assert core.transactions.status("PREM-11")["transaction_status"] == "expire"
    assert "Kedaluwarsa" in http.get(f"{sim.base_url}/snap/v4/redirection/{token}").text
    with pytest.raises(MidtransAPIError):  # cancelling a session that already has an attempt
        snap.http_client.request("post", SERVER_KEY, f"{sim.snap_base_url}/transactions/{token}/cancel", {}, {}, {})


def test_page_shows_success_after_paying_without_finish_url(sim, snap, http):
    token = snap.create_transaction(snap_body("PREM-12"))["token"]
    page = f"{sim.base_url}/snap/v4/redirection/{token}"
    http.post(f"{page}/choose", data={"method": "other_qris"})
    assert "<svg" in http.get(page).text
    html = http.post(f"{page}/pay").text
    assert "Pembayaran berhasil" in html and "Payment successful" in html
    assert http.post(f"{page}/pay").status_code == 409  # double click: already settled


def test_custom_field_longer_than_255_is_rejected(snap):
    with pytest.raises(MidtransAPIError) as err:
        snap.create_transaction(snap_body("PREM-13", custom_field3="x" * 256))
    assert err.value.http_status_code == 400


def test_sim_refund_and_chargeback_controls_notify_signed_records(sim, core, http, receiver):
    """/_sim/refund (a refund made in the Midtrans dashboard) and /_sim/chargeback move a settlement on and send
    the signed notification; the status API then answers refund / chargeback with refunds[]."""
    tid = core.charge(charge_body("C-dash", payment_type="gopay", bank=None))["transaction_id"]
    http.post(f"{sim.base_url}/_sim/pay", json={"transaction_id": tid})
    answer = http.post(
        f"{sim.base_url}/_sim/refund", json={"order_id": "C-dash", "amount": 5000, "refund_key": "dash-1"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["transaction"]["transaction_status"] == "partial_refund"
    status = core.transactions.status("C-dash")
    assert status["refund_amount"] == "5000.00" and status["refunds"][0]["refund_key"] == "dash-1"
    notes = [r["json"] for r in receiver.wait_for(4)]  # pending, settlement, 2 × partial_refund
    refunds = [n for n in notes if n["transaction_status"] == "partial_refund"]
    assert len(refunds) == 2 and "bank_confirmed_at" in refunds[1]["refunds"][0]
    for note in refunds:
        assert note["signature_key"] == signature("C-dash", note["status_code"], note["gross_amount"], SERVER_KEY)
    # VA settlements: a refund is refused (not refundable by API), a chargeback of any method is accepted
    va = core.charge(charge_body("C-va-cb"))["transaction_id"]
    assert http.post(f"{sim.base_url}/_sim/refund", json={"transaction_id": va}).status_code == 409  # pending
    http.post(f"{sim.base_url}/_sim/pay", json={"transaction_id": va})
    refused = http.post(f"{sim.base_url}/_sim/refund", json={"transaction_id": va})
    assert refused.status_code == 409 and refused.json()["status_code"] == "412"
    charged = http.post(f"{sim.base_url}/_sim/chargeback", json={"transaction_id": va})
    assert charged.status_code == 200 and charged.json()["transaction"]["transaction_status"] == "chargeback"
    assert core.transactions.status(va)["status_code"] == "200"
