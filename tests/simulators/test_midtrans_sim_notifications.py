"""Notification dispatcher: signed payloads, retry policy per response code, routing headers, chaos."""

from __future__ import annotations

import midtransclient
import pytest

from simulators.midtrans import MidtransSimulator, signature
from simulators.midtrans.notifier import RETRY_MINUTES, retries_allowed


def charge(core, order_id: str, **extra) -> dict:
    return core.charge(
        {
            "payment_type": "bank_transfer",
            "bank_transfer": {"bank": "bni"},
            "transaction_details": {"order_id": order_id, "gross_amount": 50400},
            **extra,
        }
    )


@pytest.mark.parametrize(
    "code, attempts",
    [
        (200, 1),
        (201, 1),
        (500, 2),
        (503, 5),
        (400, 3),
        (404, 3),
        (301, 1),
        (302, 1),
        (303, 1),
        (418, 6),
        (502, 6),
    ],
)
def test_retry_count_follows_midtrans_policy(sim, core, receiver, code, attempts):
    receiver.status = code
    charge(core, f"R-{code}")
    assert sim.wait_idle(5)
    assert len(receiver.received) == attempts
    log = sim.deliveries(f"R-{code}")
    assert [e["attempt"] for e in log] == list(range(attempts))
    assert log[-1]["outcome"] == ("delivered" if code < 300 else "gave_up")


def test_retry_policy_table():
    assert [retries_allowed(c) for c in (200, 500, 503, 400, 404, 301, 302, 303, 401, None)] == [
        0,
        1,
        4,
        2,
        2,
        0,
        0,
        0,
        5,
        5,
    ]


def test_unreachable_endpoint_is_retried_five_times(server_key):
    with MidtransSimulator(
        server_key=server_key, notification_url="http://127.0.0.1:9/nobody", retry_scale=0.0, notification_timeout=0.5
    ) as sim:
        sim.state.charge(
            {"payment_type": "gopay", "transaction_details": {"order_id": "U-1", "gross_amount": 1}},
            {"override": [], "append": []},
        )
        assert sim.wait_idle(5)
        log = sim.deliveries("U-1")
        assert len(log) == 6 and log[0]["error"] and log[-1]["outcome"] == "gave_up"


def test_retry_delays_are_scaled_midtrans_intervals(server_key, receiver):
    receiver.status = 418
    scale = 0.0002  # 2 min -> 24 ms ... 210 min -> 2.5 s; stop before the last two
    with MidtransSimulator(server_key=server_key, notification_url=receiver.url, retry_scale=scale, jitter=0.1) as sim:
        sim.state.charge(
            {"payment_type": "qris", "transaction_details": {"order_id": "D-1", "gross_amount": 1}},
            {"override": [], "append": []},
        )
        receiver.wait_for(4, timeout=5)
        log = sim.deliveries("D-1")
        for entry in log[:3]:
            base = RETRY_MINUTES[entry["attempt"]] * 60 * scale
            assert base <= entry["next_retry_in_s"] <= base * 1.1 + 1e-9


def test_temporary_redirect_is_followed_with_post(sim, core, receiver):
    receiver.script = [307]
    receiver.redirect_to = receiver.url + "/moved"
    charge(core, "RD-1")
    assert sim.wait_idle(5)
    assert [r["path"] for r in receiver.received] == ["/notify", "/notify/moved"]
    assert receiver.received[1]["json"]["order_id"] == "RD-1"
    assert sim.deliveries("RD-1")[0]["final_url"].endswith("/moved")


def test_override_and_append_notification_headers(sim, make_client, receiver):
    other = receiver.url + "-other"
    override = make_client(midtransclient.CoreApi, sim.base_url, headers={"X-Override-Notification": other})
    append = make_client(midtransclient.CoreApi, sim.base_url, headers={"X-Append-Notification": other})
    charge(override, "H-over")
    charge(append, "H-app")
    assert sim.wait_idle(5)
    assert [r["path"] for r in receiver.received if r["json"]["order_id"] == "H-over"] == ["/notify-other"]
    assert sorted(r["path"] for r in receiver.received if r["json"]["order_id"] == "H-app") == [
        "/notify",
        "/notify-other",
    ]


def test_snap_override_header_is_used_for_page_attempts(sim, make_client, receiver, http):
    snap = make_client(
        midtransclient.Snap, sim.base_url, headers={"X-Override-Notification": receiver.url + "/snap-only"}
    )
    snap.create_transaction({"transaction_details": {"order_id": "H-snap", "gross_amount": 16800}})
    http.post(f"{sim.base_url}/_sim/pay", json={"order_id": "H-snap", "method": "echannel"})
    assert sim.wait_idle(5)
    assert {r["path"] for r in receiver.received} == {"/notify/snap-only"}


def test_every_notification_is_signed(sim, core, receiver, server_key, http):
    tid = charge(core, "S-1", custom_field2="period:2025-07")["transaction_id"]
    http.post(f"{sim.base_url}/_sim/pay", json={"transaction_id": tid})
    for body in receiver.wait_for(2):
        n = body["json"]
        assert n["signature_key"] == signature(n["order_id"], n["status_code"], n["gross_amount"], server_key)
        assert n["custom_field2"] == "period:2025-07"
    settled = receiver.received[-1]["json"]
    assert settled["payment_amounts"][0]["amount"] == "50400.00" and settled["settlement_time"]


def test_resend_notification(sim, core, receiver, http):
    charge(core, "N-1")
    receiver.wait_for(1)
    assert http.post(f"{sim.base_url}/_sim/notify", json={"order_id": "N-1"}).status_code == 202
    assert [r["json"]["transaction_status"] for r in receiver.wait_for(2)] == ["pending", "pending"]


def test_chaos_duplicate_drop_and_out_of_order(sim, core, receiver, http):
    assert http.post(f"{sim.base_url}/_sim/chaos", json={"duplicate": 1}).json()["chaos"]["duplicate"] == 1
    charge(core, "X-dup")
    assert sim.wait_idle(5)
    assert len([r for r in receiver.received if r["json"]["order_id"] == "X-dup"]) == 2

    http.post(f"{sim.base_url}/_sim/chaos", json={"drop": 1})
    charge(core, "X-drop")
    assert sim.wait_idle(5)
    assert not [r for r in receiver.received if r["json"]["order_id"] == "X-drop"]
    assert sim.deliveries("X-drop")[0]["outcome"] == "dropped"

    http.post(f"{sim.base_url}/_sim/chaos", json={"out_of_order": 1})
    charge(core, "X-ooo")
    http.post(f"{sim.base_url}/_sim/pay", json={"order_id": "X-ooo"})
    assert sim.wait_idle(5)
    statuses = [r["json"]["transaction_status"] for r in receiver.received if r["json"]["order_id"] == "X-ooo"]
    assert statuses == ["settlement", "pending"]


def test_reverse_permata_settlement_and_pay_by_va_number(sim, core, receiver, http):
    va = core.charge({"payment_type": "permata", "transaction_details": {"order_id": "V-1", "gross_amount": 16800}})
    paid = http.post(f"{sim.base_url}/_sim/pay", json={"va_number": va["permata_va_number"]})
    assert paid.json()["transaction"]["transaction_status"] == "settlement"
    reversed_ = http.post(f"{sim.base_url}/_sim/reverse", json={"order_id": "V-1"}).json()["transaction"]
    assert reversed_["transaction_status"] == "deny"
    assert sim.wait_idle(5)
    assert [r["json"]["status_code"] for r in receiver.received] == ["201", "200", "202"]
    bca = charge(core, "V-2")
    assert http.post(f"{sim.base_url}/_sim/reverse", json={"transaction_id": bca["transaction_id"]}).status_code == 409


def test_delivery_log_endpoint(sim, core, receiver, http):
    charge(core, "L-1")
    sim.wait_idle(5)
    log = http.get(f"{sim.base_url}/_sim/notifications", params={"order_id": "L-1"}).json()["deliveries"]
    assert (
        log[0]["response_status"] == 200 and log[0]["outcome"] == "delivered" and log[0]["payload"]["order_id"] == "L-1"
    )
