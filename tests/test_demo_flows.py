"""The newcomer flows of the README's first command, end to end on the seeded demo regency.

Each test seeds the demo like `python3 dev.py start` does (`seed_demo` + `seed_dashboard_demo`, smaller sizes)
and walks one issue's "Done when" through the public surfaces: JWT login with the demo password, the API,
the dashboard pages, and for the money path the Midtrans simulator's hosted page over real HTTP.
"""

import datetime as dt
import io
import re
import time
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from sponsorship.billing.models import Invoice
from sponsorship.people.models import Sponsor, Sponsorship, Worker
from tests import factories
from tests.factories import restore_reference_rows

PASSWORD = "demo-pengampu"
WIB = ZoneInfo("Asia/Jakarta")


def seed():
    out = io.StringIO()
    call_command("seed_demo", "--sponsors", "40", "--workers", "120", stdout=out)
    call_command("seed_dashboard_demo", "--if-empty", stdout=out)
    return out.getvalue()


def login(username) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


def web_login(username) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


@pytest.fixture
def demo(db):
    return seed()


def test_seed_prints_logins_and_gives_the_demo_sponsor_an_invoice_to_pay(demo):
    assert "asn.demo" in demo and "demo-pengampu" in demo
    sponsor = Sponsor.objects.get(user__username="asn.demo")
    issued = Invoice.objects.filter(sponsor=sponsor, status=Invoice.Status.ISSUED)
    assert issued.exists(), "the demo sponsor needs an invoice to pay through the simulator"
    assert Invoice.objects.filter(sponsor=sponsor, status=Invoice.Status.PAID).exists()  # a history too


def test_matching_sponsor_accepts_two_and_admin_applies_a_run(demo):
    asn = login("asn.demo")
    listing = asn.get("/api/v1/sponsor/proposals/")
    assert listing.status_code == 200, listing.content
    proposals = listing.json()["results"]
    assert len(proposals) >= 2, listing.json()
    assert set(proposals[0]) == {"id", "first_name", "occupation", "village", "distance_m", "age_band", "why"}
    for proposal in proposals[:2]:
        accepted = asn.post(f"/api/v1/sponsor/proposals/{proposal['id']}/accept/")
        assert accepted.status_code == 201, accepted.content
    sponsor = Sponsor.objects.get(user__username="asn.demo")
    assert Sponsorship.objects.filter(sponsor=sponsor, status=Sponsorship.Status.ACTIVE).count() == 3

    admin = login("admin.kabupaten")
    run = admin.post("/api/v1/admin/matching-runs/", {"radius_m": 5000, "policy": "lowest_decile_first"}, format="json")
    assert run.status_code == 201, run.content
    preview = run.json()["preview"]
    assert preview["covered_total"] > 0, preview
    applied = admin.post(f"/api/v1/admin/matching-runs/{run.json()['id']}/apply/")
    assert applied.status_code == 200, applied.content
    assert applied.json()["status"] == "applied"


@pytest.mark.django_db(transaction=True)
def test_money_sponsor_pays_on_the_simulator_page_and_protection_extends(live_server, settings):
    """asn.demo: invoice → pay API → simulator page (choose method, pay) → signed webhook → coverage."""
    import requests

    from simulators.midtrans import MidtransSimulator

    key = "SB-Mid-server-DEMOFLOW"
    sim = MidtransSimulator(
        server_key=key,
        retry_scale=0.001,
        jitter=0.0,
        notification_url=f"{live_server.url}/api/v1/payments/midtrans/notification/",
    ).start()
    try:
        settings.MIDTRANS_API_BASE_URL = sim.base_url
        settings.MIDTRANS_SERVER_KEY = key
        settings.PUBLIC_BASE_URL = live_server.url
        restore_reference_rows()  # occupations and rates a previous transactional test's flush removed
        seed()
        http = requests.Session()
        http.trust_env = False
        token = http.post(
            f"{live_server.url}/api/v1/auth/token/", json={"username": "asn.demo", "password": PASSWORD}, timeout=10
        ).json()["access"]
        http.headers["Authorization"] = f"Bearer {token}"
        before = http.get(f"{live_server.url}/api/v1/sponsor/overview/", timeout=10).json()
        owed = before["owed"]["invoices"]
        assert owed, before
        invoice_id = owed[0]["invoice_id"]
        until_before = {w["worker_id"]: w["protected_until"] for w in before["workers"]}

        started = http.post(f"{live_server.url}/api/v1/sponsor/invoices/{invoice_id}/pay/", timeout=20)
        assert started.status_code == 201, started.content
        redirect_url = started.json()["redirect_url"]
        browser = requests.Session()
        browser.trust_env = False
        page = browser.get(redirect_url, timeout=10)
        assert page.status_code == 200 and "method" in page.text
        method = re.search(r"name=method value='([a-z_]+)'", page.text).group(1)
        chosen = browser.post(f"{redirect_url}/choose", data={"method": method}, timeout=10)
        assert chosen.status_code == 200 and f"{redirect_url.split(sim.base_url)[1]}/pay" in chosen.text
        browser.post(f"{redirect_url}/pay", timeout=10)

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and Invoice.objects.get(pk=invoice_id).status != Invoice.Status.PAID:
            time.sleep(0.2)
        assert Invoice.objects.get(pk=invoice_id).status == Invoice.Status.PAID
        after = http.get(f"{live_server.url}/api/v1/sponsor/overview/", timeout=10).json()
        assert after["payments"][0]["invoice_id"] == invoice_id
        for worker in after["workers"]:
            old = until_before.get(worker["worker_id"])
            assert worker["protected_until"] and (old is None or worker["protected_until"] > old), (worker, old)
        coverage = http.get(
            f"{live_server.url}/api/v1/workers/{after['workers'][0]['worker_id']}/coverage/", timeout=10
        )
        assert coverage.status_code == 200 and coverage.json()["state"] == "protected"
    finally:
        sim.stop()


def test_notifications_reminder_reaches_the_inbox_at_the_right_time(demo):
    """Due in 3 days: the reminder scan writes it; at night (WIB) it is held, at 06:00 it goes out and shows."""
    from notifications.models import Notification
    from notifications.sending import outbox_send
    from sponsorship.billing.reminders import reminders_scan

    sponsor = Sponsor.objects.get(user__username="asn.demo")
    invoice = Invoice.objects.filter(sponsor=sponsor, status=Invoice.Status.ISSUED).order_by("due_date").first()
    day = invoice.due_date - dt.timedelta(days=3)
    night = dt.datetime.combine(day, dt.time(22, 0), tzinfo=WIB)
    reminders_scan(today=day, now=night)
    row = Notification.objects.get(recipient=sponsor.user, kind="invoice_due_soon")
    assert row.status == Notification.Status.HELD  # quiet hours 21:00–06:00 WIB
    asn = login("asn.demo")
    kinds = [n["kind"] for n in asn.get("/api/v1/notifications/").json()["results"]]
    assert "invoice_due_soon" not in kinds

    morning = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(6, 1), tzinfo=WIB)
    outbox_send(now=morning)  # the every-minute dispatch sweep of the scheduler
    row.refresh_from_db()
    assert row.status != Notification.Status.HELD, row.last_error
    inbox = asn.get("/api/v1/notifications/").json()
    assert "invoice_due_soon" in [n["kind"] for n in inbox["results"]] and inbox["unread_count"] >= 1
    reminders_scan(today=day, now=morning)  # the hourly scan again: no second reminder that day
    assert Notification.objects.filter(recipient=sponsor.user, kind="invoice_due_soon").count() == 1


def test_dashboard_figures_roster_import_report_and_worker_status(demo):
    admin = web_login("admin.kabupaten")
    page = admin.get("/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<canvas" in html or "<svg" in html
    coverage = admin.get("/dashboard/coverage/").content.decode()
    widths = re.findall(r'<i style="width: ([^"]*)%"', coverage)
    assert widths and all(re.fullmatch(r"\d+(\.\d)?", w) for w in widths), widths[:5]  # CSS, not "18,2"
    assert len(set(widths)) > 1
    summary = login("admin.kabupaten").get("/api/v1/admin/dashboard/summary/").json()
    assert summary["asn"] == 40 and summary["workers_covered"] > 0 and summary["on_time"]["invoices_due"] > 0
    money = login("admin.kabupaten").get("/api/v1/admin/dashboard/money/").json()
    assert sum(r["collected_idr"] for r in money["rows"]) > 0

    header = (
        "No,NIP / NI PPPK,Nama Lengkap,Jenis ASN (PNS/PPPK),OPD / Unit Kerja,Kecamatan Domisili,"
        "Desa/Kelurahan Domisili,Kode Wilayah Desa,No. HP,Jumlah Pekerja Diampu (2/3)\n"
    )
    good = f"1,'{factories.make_nip(birth=dt.date(1984, 2, 3))},Sri Wahyuni,PNS,Dinkes,,,35.02.17.1001,,2\n"
    broken = "2,12345,Budi Santoso,PNS,Dinkes,,,35.02.17.1001,,5\n"
    upload = io.BytesIO((header + good + broken).encode())
    upload.name = "roster.csv"
    response = admin.post("/dashboard/imports/", {"kind": "sponsors", "file": upload})
    assert response.status_code == 302, response.content[:500]
    report = admin.get(response["Location"]).content.decode()
    assert "Baris" in report or "baris" in report
    from sponsorship.dashboard.models import ImportBatch

    batch = ImportBatch.objects.latest("pk")
    rows = {p["row"] for p in batch.problems}
    assert rows == {3}, batch.problems  # the header is row 1: the broken line is row 3
    assert {p["column"] for p in batch.problems} >= {"NIP / NI PPPK"}

    worker = login("pekerja.demo").get("/api/v1/worker/status/")
    assert worker.status_code == 200, worker.content
    body = worker.json()
    assert body["state"] in ("protected", "grace") and body["headline"]
    assert Worker.objects.get(user__username="pekerja.demo").first_name == body["worker"]["first_name"]


def _response_schema(schema, path, method="get", code="200"):
    """The documented JSON of one response, $refs resolved, nullable as JSON Schema, no undocumented keys."""
    components = schema["components"]["schemas"]

    def convert(node):
        if isinstance(node, list):
            return [convert(x) for x in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return convert(components[node["$ref"].split("/")[-1]])
        node = {k: convert(v) for k, v in node.items()}
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
        if node.pop("nullable", False):
            node = {"anyOf": [node, {"type": "null"}]}
        return node

    return convert(schema["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"])


def test_openapi_describes_the_real_json_of_the_demo(demo):
    """The schema's hand-written output serializers (dashboard, overview, worker status, invoices) match reality."""
    import json

    import jsonschema
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.renderers import JSONRenderer

    schema = json.loads(JSONRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    admin, asn, worker = login("admin.kabupaten"), login("asn.demo"), login("pekerja.demo")
    sponsor = Sponsor.objects.get(user__username="asn.demo")
    invoice = Invoice.objects.filter(sponsor=sponsor).latest("period")
    covered = Sponsorship.objects.filter(sponsor=sponsor).first().worker_id
    district = sponsor.home_village.parent.code
    checks = [
        (admin, "/api/v1/admin/dashboard/summary/", "/api/v1/admin/dashboard/summary/"),
        (admin, "/api/v1/admin/dashboard/agencies/", "/api/v1/admin/dashboard/agencies/"),
        (admin, "/api/v1/admin/dashboard/coverage/", "/api/v1/admin/dashboard/coverage/"),
        (admin, f"/api/v1/admin/dashboard/coverage/?district={district}", "/api/v1/admin/dashboard/coverage/"),
        (admin, "/api/v1/admin/dashboard/money/", "/api/v1/admin/dashboard/money/"),
        (admin, "/api/v1/admin/dashboard/arrears/", "/api/v1/admin/dashboard/arrears/"),
        (asn, "/api/v1/sponsor/overview/", "/api/v1/sponsor/overview/"),
        (asn, f"/api/v1/sponsor/statements/{timezone.localdate().year}/", "/api/v1/sponsor/statements/{year}/"),
        (asn, f"/api/v1/sponsor/invoices/{invoice.pk}/", "/api/v1/sponsor/invoices/{id}/"),
        (asn, f"/api/v1/workers/{covered}/coverage/", "/api/v1/workers/{id}/coverage/"),
        (worker, "/api/v1/worker/status/", "/api/v1/worker/status/"),
    ]
    for client, url, path in checks:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        errors = [
            f"{list(e.path)}: {e.message}"
            for e in jsonschema.Draft202012Validator(_response_schema(schema, path)).iter_errors(response.json())
        ]
        assert not errors, (url, errors[:5])
