"""Observability (issue 20.2): request ids in logs and into Celery tasks, /metrics behind a token, database
gauges, the error-tracking hook's scrubbing, and production refusing an unprotected /metrics."""

import json
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from backend.observability.context import get_request_id, reset_request_id, set_request_id
from backend.observability.sentry import scrub, scrub_text
from notifications.models import Notification
from sponsorship.dashboard.services.ledger import ledger_check_nightly
from tests import factories
from tests.hardening.test_security import PROD_ENV, ROOT, _manage
from tests.ops.conftest import TOKEN, scrape

NOTIFY = "/api/v1/payments/midtrans/notification/"


# ---- request id ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_request_id_is_made_when_absent_and_kept_when_plain(client):
    made = client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/healthz")["X-Request-ID"] != made
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c21.42")["X-Request-ID"] == "lb-7f3a9c21.42"
    for forged in ('x"\n{"level":"ERROR"}', "short", "a" * 65, "id with spaces 123"):
        answered = client.get("/healthz", HTTP_X_REQUEST_ID=forged)["X-Request-ID"]
        assert answered != forged and re.fullmatch(r"[0-9a-f]{32}", answered)
    assert get_request_id() == ""  # nothing leaks past the request


@pytest.mark.django_db
def test_every_log_line_of_a_request_carries_its_id(client, json_logs):
    """An unsigned notification is refused with a warning; that line carries the request's id."""
    response = client.post(
        NOTIFY,
        data=json.dumps({"order_id": "TEST-1", "status_code": "200", "gross_amount": "10000.00"}),
        content_type="application/json",
        HTTP_X_REQUEST_ID="trace-0001-abcdef",
    )
    assert response.status_code == 403
    assert response["X-Request-ID"] == "trace-0001-abcdef"
    lines = [line for line in json_logs.lines if "bad signature" in line["message"]]
    assert lines and all(line["request_id"] == "trace-0001-abcdef" for line in lines)
    assert {"ts", "level", "logger", "message"} <= set(lines[0])


def test_text_logs_show_the_request_id_too():
    import logging

    from backend.observability.logs import TEXT_FORMAT, RequestIdFilter, logging_config

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("there",), None)
    token = set_request_id("req-12345678")
    try:
        RequestIdFilter().filter(record)
    finally:
        reset_request_id(token)
    assert logging.Formatter(TEXT_FORMAT).format(record).endswith("[req-12345678] hello there")
    assert logging_config(log_format="json", level="INFO")["handlers"]["console"]["formatter"] == "json"
    with pytest.raises(Exception, match="LOG_FORMAT"):
        logging_config(log_format="xml", level="INFO")


# ---- the request id follows the request into a real Celery worker ---------------------------------------
def test_request_id_travels_with_a_task_to_a_real_worker(json_logs):
    """Published with the current request id in its headers (before_task_publish); the worker's task_prerun
    restores it, so the task's own log line carries it. A real worker thread on Redis (REDIS_TEST_URL)."""
    import logging
    import os

    from celery import Celery
    from celery.contrib.testing.worker import start_worker

    url = os.environ.get("REDIS_TEST_URL")
    if not url:
        pytest.skip("REDIS_TEST_URL not set")
    app = Celery("ops-test", broker=url, backend=None, set_as_current=False)
    app.conf.update(task_default_queue=f"ops-test-{os.getpid()}", worker_hijack_root_logger=False)
    done = threading.Event()

    @app.task(name="ops_test.log_something")
    def log_something():
        import logging

        logging.getLogger("ops_test").info("task ran")
        done.set()

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
        capture = logging.getLogger()
        capture.addHandler(json_logs.handler)  # the worker's start may have reset the root logger's handlers
        token = set_request_id("req-from-http-0042")
        try:
            log_something.delay()
        finally:
            reset_request_id(token)
        assert done.wait(20), "the worker did not run the task"
        time.sleep(0.2)
    ran = [line for line in json_logs.lines if line["message"] == "task ran"]
    assert ran and ran[0]["request_id"] == "req-from-http-0042"
    assert ran[0]["task"] == "ops_test.log_something"


# ---- /metrics: protection ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_metrics_need_the_token_or_an_allowed_address(client, settings):
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ()
    assert client.get("/metrics").status_code == 404  # nothing configured: the endpoint is not there
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    ok = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert ok.status_code == 200 and ok["Content-Type"].startswith("text/plain")
    import ipaddress

    settings.METRICS_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    settings.METRICS_ALLOWED_NETWORKS = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client.get("/metrics").status_code == 401
    settings.METRICS_ENABLED = False
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


@pytest.mark.parametrize(
    "env,message",
    [({"METRICS_TOKEN": ""}, "METRICS_TOKEN"), ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN")],
    ids=["empty", "short"],
)
def test_production_refuses_metrics_without_a_real_token(env, message):
    result = _manage("check", env={**PROD_ENV, **env})
    assert result.returncode != 0 and message in result.stderr


def test_production_starts_with_metrics_off_or_a_token_and_logs_json():
    code = "from django.conf import settings; print(settings.LOGGING['handlers']['console']['formatter'])"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**_clean_env(), **PROD_ENV, "METRICS_ENABLED": "false", "METRICS_TOKEN": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "json"


def _clean_env():
    import os

    return {k: v for k, v in os.environ.items() if k not in PROD_ENV and not k.startswith(("PII_", "SECRET"))}


# ---- /metrics: what it shows ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_latency_is_per_route_pattern_never_per_raw_path(client, metrics_token, regency_admin):
    worker = factories.make_worker()
    client.force_login(regency_admin)
    client.get(f"/api/v1/workers/{worker.pk}/")
    client.get("/no/such/page/12345/")
    text = scrape(client)
    assert 'route="api/v1/workers/<int:pk>/"' in text
    assert 'route="unmatched"' in text
    assert not re.search(r'route="[^"]*\d{3,}', text), "a raw id in a route label"


@pytest.mark.django_db
def test_webhook_outcomes_are_counted(client, metrics_token):
    before = _sample(scrape(client), 'pengampu_webhook_notifications_total{outcome="invalid_signature"}')
    client.post(NOTIFY, data=json.dumps({"order_id": "X"}), content_type="application/json")
    client.post(NOTIFY, data=b"{not json", content_type="application/json")
    text = scrape(client)
    assert _sample(text, 'pengampu_webhook_notifications_total{outcome="invalid_signature"}') == before + 1
    assert _sample(text, 'pengampu_webhook_notifications_total{outcome="invalid_json"}') >= 1


@pytest.mark.django_db
def test_database_gauges_outbox_payments_and_ledger(client, metrics_token, regency_admin, agency):
    now = timezone.now()
    user = factories.make_user()
    for i, due in enumerate((now - timezone.timedelta(minutes=5), now + timezone.timedelta(hours=1))):
        Notification.objects.create(
            recipient=user,
            kind="invoice_issued",
            title="t",
            body="b",
            dedupe_key=f"ops-{i}",
            next_attempt_at=due,
            created_at=now - timezone.timedelta(minutes=10),
        )
    ledger_check_nightly()
    text = scrape(client)
    assert _sample(text, 'pengampu_outbox_depth{status="pending"}') == 2
    assert 290 <= _sample(text, "pengampu_outbox_oldest_due_age_seconds") < 400
    assert _sample(text, "pengampu_outbox_oldest_age_seconds") >= 600
    assert _sample(text, 'pengampu_payment_attempts_open{status="pending"}') == 0
    code = agency.regency.code
    assert _sample(text, f'pengampu_ledger_check_violations{{regency="{code}"}}') == 0
    assert _sample(text, f'pengampu_ledger_check_last_run_timestamp_seconds{{regency="{code}"}}') > 0
    assert _sample(text, "pengampu_ledger_check_duration_seconds_count") >= 1
    for app in ("sponsorship.billing", "sponsorship.dashboard", "notifications"):
        assert _sample(text, f'pengampu_metrics_collector_up{{app="{app}"}}') == 1


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# ---- error tracking ---------------------------------------------------------------------------------------
def test_scrub_removes_nik_phone_and_email_everywhere():
    event = {
        "exception": {"values": [{"value": "no worker 3502171403850001 at +62 812-3456-7890"}]},
        "extra": {"contact": ["siti@example.go.id", "0812 3456 7890", 6281234567890]},
        "breadcrumbs": {"values": [{"message": "sms to 081234567890 sent"}]},
        "tags": {"route": "api/v1/workers/<int:pk>/", "invoice": "INV-202612-0001"},
    }
    out = json.dumps(scrub(event))
    for secret in ("3502171403850001", "812-3456-7890", "siti@example.go.id", "0812 3456 7890", "081234567890"):
        assert secret not in out
    assert "INV-202612-0001" in out and "api/v1/workers/<int:pk>/" in out
    assert scrub_text("order PGU-1-20261201 amount 150000") == "order PGU-1-20261201 amount 150000"


class _Envelopes(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
        _Envelopes.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_sentry_sends_an_error_without_personal_data():
    """The real SDK, initialised as the settings do, posting to a local Sentry stand-in over HTTP."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Envelopes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Envelopes.received = []
    dsn = f"http://publickey@127.0.0.1:{server.server_port}/1"
    code = (
        "from backend.observability.sentry import init_sentry\n"
        f"assert init_sentry(dsn={dsn!r}, environment='test', release='', traces_sample_rate=0.0)\n"
        "assert not init_sentry(dsn='', environment='', release='', traces_sample_rate=0.0)\n"
        "import sentry_sdk\n"
        "def sign_in(nik, phone):\n"
        "    email = 'sumarni@example.go.id'\n"
        "    raise ValueError(f'no worker {nik} / {phone} / {email}')\n"
        "try:\n"
        "    sign_in('3502175603850007', '+6281298765432')\n"
        "except ValueError:\n"
        "    sentry_sdk.capture_exception()\n"
        "sentry_sdk.flush(5)\n"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**_clean_env(), "DJANGO_SETTINGS_MODULE": "backend.settings.test"},
        )
        assert result.returncode == 0, result.stderr[-2000:]
    finally:
        server.shutdown()
    sent = b"".join(_Envelopes.received).decode("utf-8", "replace")
    assert "ValueError" in sent and "[Filtered]" in sent
    for secret in ("3502175603850007", "81298765432", "sumarni@example.go.id"):
        assert secret not in sent


# ---- the Grafana dashboard --------------------------------------------------------------------------------
def test_grafana_dashboard_queries_only_metrics_the_service_exports():
    import backend.observability.metrics as process_metrics

    dashboard = json.loads((ROOT / "docs" / "ops" / "grafana-pengampu.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(dashboard["panels"]) >= 15 and all(exprs)
    sources = "".join(
        (ROOT / path).read_text()
        for path in (
            "backend/observability/metrics.py",
            "sponsorship/billing/metrics.py",
            "notifications/metrics.py",
            "sponsorship/dashboard/metrics.py",
        )
    )
    used = {re.sub(r"_(bucket|sum|count|total)$", "", name) for e in exprs for name in re.findall(r"pengampu_\w+", e)}
    missing = sorted(name for name in used if f'"{name}' not in sources)
    assert not missing, f"the dashboard queries metrics nobody exports: {missing}"
    assert process_metrics.HTTP_REQUEST_DURATION._name == "pengampu_http_request_duration_seconds"
