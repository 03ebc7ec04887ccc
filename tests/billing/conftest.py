"""Money fixtures: a real Midtrans simulator over HTTP, sponsors with workers, signed notifications."""

import datetime as dt

import pytest
import requests

from simulators.midtrans import MidtransSimulator
from sponsorship.billing.gateways.midtrans import MidtransGateway, signature
from tests import factories

SERVER_KEY = "SB-Mid-server-TEST"


@pytest.fixture(scope="session")
def sim():
    simulator = MidtransSimulator(server_key=SERVER_KEY, retry_scale=0.001, jitter=0.0).start()
    yield simulator
    # A notification still in flight to the (session-wide) live server is processed while the test database is
    # flushed: the flush's TRUNCATE and that request's locks deadlocked once in CI. Let deliveries finish first.
    simulator.wait_idle(5)
    simulator.stop()


@pytest.fixture
def gateway_settings(settings, sim):
    """Point the real midtransclient adapter at the simulator. No live server: no notification URL."""
    sim.reset() if hasattr(sim, "reset") else None
    settings.MIDTRANS_API_BASE_URL = sim.base_url
    settings.MIDTRANS_SERVER_KEY = SERVER_KEY
    settings.MIDTRANS_TIMEOUT_SECONDS = 1.0
    settings.PUBLIC_BASE_URL = ""
    return settings


@pytest.fixture
def http():
    session = requests.Session()
    session.trust_env = False
    return session


def sim_control(http, sim, name, body):
    response = http.post(f"{sim.base_url}/_sim/{name}", json=body, timeout=5)
    assert response.status_code < 300, response.text
    return response.json()


def signed(payload: dict, key: str = SERVER_KEY) -> dict:
    payload = dict(payload)
    payload["signature_key"] = signature(payload["order_id"], payload["status_code"], payload["gross_amount"], key)
    return payload


def notification_from_status(order_id: str, **override) -> dict:
    """What Midtrans would POST: the current status record, re-signed (status code as in notifications)."""
    raw = dict(MidtransGateway().get_status(order_id).raw)
    raw["status_message"] = "midtrans payment notification"
    codes = {"settlement": "200", "capture": "200", "pending": "201"}
    raw["status_code"] = codes.get(raw["transaction_status"], "202")
    raw.update(override)
    return signed(raw)


@pytest.fixture
def family(sponsor):
    """A sponsor with three workers (one transport), all sponsored."""
    workers = [
        factories.make_worker(full_name="Slamet Riyadi"),
        factories.make_worker(full_name="Siti Aminah", sex="F"),
        factories.make_worker(full_name="Joko Ojek", occupation="ojek"),
    ]
    for worker in workers:
        factories.sponsor_worker(sponsor, worker)
    return sponsor, workers


DEC_2026 = dt.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def reference_rows(request):
    """Transactional tests flush the database afterwards, data migrations included: put them back."""
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("db") if not _transactional(request) else request.getfixturevalue("transactional_db")
    factories.restore_reference_rows()


def _transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
