"""No personal data in logs or metrics (issue 20.2): the main flows run with the production JSON log format
captured and /metrics scraped, and neither shows a NIK, phone number, name or village of anyone involved.

Flows: a worker signs in with NIK and date of birth (code by the console channel), a sponsor pays an invoice
through the Midtrans simulator over HTTP and its webhook is processed, a bad-signature webhook is refused, and
a regency admin imports a DTSEN file with NIKs and confirms it.
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from sponsorship.billing.models import Invoice
from sponsorship.billing.services.billing import billing_run
from sponsorship.people.models import Sponsor, Worker
from tests import factories
from tests.billing.conftest import DEC_2026, family, gateway_settings, http, sim  # noqa: F401 (fixtures)
from tests.billing.test_billfix import pay_invoice, post_note
from tests.dashboard.conftest import csv_bytes
from tests.dashboard.test_dtsen_import import HEADER
from tests.ops.conftest import scrape

pytestmark = pytest.mark.django_db


def _personal_strings(*known: Worker) -> set[str]:
    found: set[str] = set()
    for worker in [*known, *Worker.objects.select_related("village")]:
        found |= {worker.nik, worker.full_name}
        digits = re.sub(r"\D", "", worker.phone or "")
        if digits:
            national = digits[2:] if digits.startswith("62") else digits.lstrip("0")  # +62 812… / 0812…
            found |= {digits, national, national[-9:]}
        found.add(worker.village.code)  # the village is where the worker lives
        if worker.lat is not None:
            found.add(f"{worker.lat:.4f}")
    for sponsor in Sponsor.objects.all():
        found |= {sponsor.full_name, sponsor.nip}
    return {s for s in found if s and len(s) >= 6}


def test_flows_leave_no_personal_data_in_logs_or_metrics(
    json_logs,
    metrics_token,
    family,
    gateway_settings,
    sim,
    http,
    client,
    api,
    regency_admin,
    capsys,  # noqa: F811
):
    sponsor, workers = family
    signing_in = factories.make_worker(full_name="Sumarni Lestari", sex="F", phone="0812-9876-5432")

    # 1. worker sign-in with NIK + date of birth, then the code
    worker_client = APIClient()
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        asked = worker_client.post(
            "/api/v1/worker/auth/",
            {"nik": signing_in.nik, "birth_date": signing_in.birth_date.isoformat()},
            format="json",
        )
    assert asked.status_code == 202, asked.content
    code = re.findall(r"kode masuk Pengampu untuk \S+: (\d{6})", capsys.readouterr().out)[-1]
    signed_in = worker_client.post(
        "/api/v1/worker/auth/", {"challenge": asked.json()["challenge"], "code": code}, format="json"
    )
    assert signed_in.status_code == 200, signed_in.content
    wrong = APIClient().post("/api/v1/worker/auth/", {"nik": signing_in.nik, "birth_date": "1999-01-01"}, format="json")
    assert wrong.status_code in (202, 400), wrong.content

    # 2. the sponsor pays through the simulator; the webhook is processed
    billing_run(period=DEC_2026, notify=False)
    invoice = Invoice.objects.get(sponsor=sponsor)
    pay_invoice(api, sim, http, client, invoice, "bca_va")
    refused = post_note(client, {"order_id": "TEST-x", "status_code": "200", "gross_amount": "1.00"})
    assert refused.status_code == 403

    # 3. a DTSEN import with NIKs, confirmed
    upload = SimpleUploadedFile("dtsen.csv", csv_bytes([HEADER, [1, workers[0].nik, "", 2, "01/10/2026"]]))
    created = api(regency_admin).post("/api/v1/admin/imports/", {"kind": "dtsen", "file": upload}, format="multipart")
    assert created.status_code == 201, created.content
    from django.test import TestCase as _TC

    with _TC.captureOnCommitCallbacks(execute=True):
        confirmed = api(regency_admin).post(f"/api/v1/admin/imports/{created.json()['id']}/confirm/", {}, format="json")
    assert confirmed.status_code == 202, confirmed.content

    metrics = scrape(client)
    logs = json_logs.text
    assert json_logs.lines, "the flows logged nothing: the capture is not working"
    assert "pengampu_http_request_duration_seconds_bucket" in metrics
    assert _sample_count(metrics, "pengampu_billing_run_duration_seconds_count") >= 1
    assert 'pengampu_webhook_notifications_total{outcome="accepted"}' in metrics
    assert 'pengampu_webhook_processing_total{result="processed"}' in metrics

    secrets = _personal_strings(signing_in, *workers)
    assert signing_in.nik in secrets and "Sumarni Lestari" in secrets and "81298765432" in secrets
    leaks = [s for s in secrets if s in logs or s in metrics]
    assert not leaks, f"personal data in logs or metrics: {leaks}"
    # 16 digits on their own (a float's decimals, after a ".", are not a NIK)
    assert not re.search(r"(?<![\d.])\d{16}(?![\d.])", logs + metrics), "something shaped like a NIK"


def _sample_count(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
