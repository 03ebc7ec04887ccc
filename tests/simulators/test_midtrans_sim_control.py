"""Fault injection, idempotency, control endpoints, persistence and the command line."""

from __future__ import annotations

import subprocess
import sys
import time

import midtransclient
import pytest
import requests
from midtransclient import JSONDecodeError, MidtransAPIError

from simulators.midtrans import MidtransSimulator

BODY = {"transaction_details": {"order_id": "F-1", "gross_amount": 16800}}


def test_fault_http_500_makes_midtransclient_raise_then_recovers(sim, snap, http):
    rule = http.post(
        f"{sim.base_url}/_sim/faults", json={"path_prefix": "/snap/v1/transactions", "mode": "http_500", "count": 2}
    )
    assert rule.status_code == 201
    for _ in range(2):
        with pytest.raises(MidtransAPIError) as err:
            snap.create_transaction(BODY)
        assert err.value.http_status_code == 500 and "internal server error" in err.value.message
    assert snap.create_transaction(BODY)["token"]
    assert http.get(f"{sim.base_url}/_sim/faults").json() == {"faults": []}


def test_fault_http_503_on_core(sim, core):
    sim.add_fault(path_prefix="/v2/charge", mode="http_503")
    with pytest.raises(MidtransAPIError) as err:
        core.charge({"payment_type": "gopay", **BODY})
    assert err.value.http_status_code == 503 and err.value.api_response_dict["status_code"] == "503"


def test_fault_delay_makes_the_client_time_out(sim, make_client):
    sim.add_fault(path_prefix="/snap/v1", mode="delay", seconds=2)
    snap = make_client(midtransclient.Snap, sim.base_url, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        snap.create_transaction(BODY)
    assert time.monotonic() - started < 1.5


def test_fault_html_502_raises_json_decode_error(sim, core):
    sim.add_fault(path_prefix="/v2/", mode="http_502_html")
    with pytest.raises(JSONDecodeError):
        core.transactions.status("anything")


def test_fault_close_drops_the_connection(sim, core):
    sim.add_fault(path_prefix="/v2/", mode="close")
    with pytest.raises(requests.exceptions.ConnectionError):
        core.transactions.status("anything")


def test_idempotency_key_replays_the_first_success(sim, make_client):
    core = make_client(midtransclient.CoreApi, sim.base_url, headers={"Idempotency-Key": "idem-1"})
    first = core.charge({"payment_type": "qris", **BODY})
    second = core.charge({"payment_type": "qris", "transaction_details": {"order_id": "F-2", "gross_amount": 5}})
    assert first == second
    assert len(sim.state.all()["transactions"]) == 1


def test_control_endpoints_and_reset(sim, core, http):
    assert http.get(f"{sim.base_url}/_sim/health").json()["ok"] is True
    core.charge({"payment_type": "bank_transfer", "bank_transfer": {"bank": "bca"}, **BODY})
    assert (
        http.post(f"{sim.base_url}/_sim/deny", json={"order_id": "F-1"}).json()["transaction"]["transaction_status"]
        == "deny"
    )
    assert http.post(f"{sim.base_url}/_sim/expire", json={"order_id": "F-1"}).status_code == 409
    assert http.post(f"{sim.base_url}/_sim/pay", json={"order_id": "nope"}).status_code == 404
    listing = http.get(f"{sim.base_url}/_sim/transactions").json()
    assert [t["order_id"] for t in listing["transactions"]] == ["F-1"]
    assert http.post(f"{sim.base_url}/_sim/reset").json() == {"ok": True}
    assert http.get(f"{sim.base_url}/_sim/transactions").json()["transactions"] == []


def test_dashboard_and_core_pay_page(sim, core, http):
    tx = core.charge({"payment_type": "gopay", **BODY})
    deeplink = next(a["url"] for a in tx["actions"] if a["name"] == "deeplink-redirect")
    assert "Bayar (simulasi)" in http.get(deeplink).text
    assert http.get(tx["actions"][0]["url"]).headers["Content-Type"] == "image/svg+xml"
    http.post(f"{deeplink}/pay")
    assert core.transactions.status("F-1")["transaction_status"] == "settlement"
    assert "F-1" in http.get(f"{sim.base_url}/").text


def test_state_file_keeps_transactions_across_restarts(tmp_path, server_key, make_client):
    path = str(tmp_path / "sim.json")
    with MidtransSimulator(server_key=server_key, state_file=path) as sim:
        make_client(midtransclient.CoreApi, sim.base_url).charge({"payment_type": "qris", **BODY})
    with MidtransSimulator(server_key=server_key, state_file=path) as sim:
        assert make_client(midtransclient.CoreApi, sim.base_url).transactions.status("F-1")["order_id"] == "F-1"


def test_command_line_starts_the_server(server_key):
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators.midtrans", "--port", "0", "--server-key", server_key],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        base = line.split(" on ")[1].split()[0]
        session = requests.Session()
        session.trust_env = False
        assert session.get(f"{base}/_sim/health", timeout=2).json()["ok"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=5)
