"""Prometheus metrics: definitions, timing helpers and the protected `/metrics` view.

Two kinds of figures:
- counted in the process (request latency, webhook answers, Celery task durations and failures, billing and
  matching run durations): prometheus_client metrics. Under gunicorn (several worker processes) and Celery
  (prefork), set PROMETHEUS_MULTIPROC_DIR to a directory shared by the processes (emptied before they start):
  each process writes its own file and the scrape adds them up.
- read from the database at scrape time (payment attempt states, webhook backlog, outbox depth and age,
  ledger-check results): every installed app may have a `metrics` module with `collect()` yielding
  prometheus_client metric families (the same discovery as `schedule.BEAT_SCHEDULE` in backend/celery.py), so
  this module imports no domain app. They are true whichever process answers the scrape.

Labels never carry personal data or raw paths: routes are the URL pattern (`api/v1/workers/<int:pk>/`), never
the path with its ids; regencies are their official codes.
"""

import functools
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from importlib import import_module
from importlib.util import find_spec
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.http import Http404, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_RUN_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

HTTP_REQUEST_DURATION = Histogram(
    "pengampu_http_request_duration_seconds",
    "Time to answer a request, per URL pattern, method and status class.",
    ["route", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)
WEBHOOK_NOTIFICATIONS = Counter(
    "pengampu_webhook_notifications_total",
    "Midtrans notifications by what the endpoint answered (accepted, duplicate, invalid_signature, ignored, "
    "unknown_order, refused, ...).",
    ["outcome"],
)
WEBHOOK_PROCESSED = Counter(
    "pengampu_webhook_processing_total",
    "Stored Midtrans notifications processed, by result (processed, failed, unknown_order, skipped).",
    ["result"],
)
CELERY_TASK_DURATION = Histogram(
    "pengampu_celery_task_duration_seconds",
    "Celery task run time, per task and final state.",
    ["task", "state"],
    buckets=_RUN_BUCKETS,
)
CELERY_TASK_FAILURES = Counter("pengampu_celery_task_failures_total", "Celery tasks that raised, per task.", ["task"])
BILLING_RUN_DURATION = Histogram(
    "pengampu_billing_run_duration_seconds", "Monthly billing runs, end to end.", buckets=_RUN_BUCKETS
)
MATCHING_RUN_DURATION = Histogram(
    "pengampu_matching_run_duration_seconds",
    "Regency matching runs, per step (preview: solve and store proposals; apply: offer them).",
    ["step"],
    buckets=_RUN_BUCKETS,
)
LEDGER_CHECK_DURATION = Histogram(
    "pengampu_ledger_check_duration_seconds",
    "Nightly ledger checks of every regency, end to end.",
    buckets=_RUN_BUCKETS,
)

# The webhook outcomes a label may take (anything else is counted as "other": a label never grows unbounded).
WEBHOOK_OUTCOMES = frozenset(
    {
        "accepted",
        "duplicate",
        "invalid_signature",
        "invalid_fields",
        "invalid_body",
        "invalid_json",
        "invalid_encoding",
        "ignored",
        "unknown_order",
        "retry_later",
        "too_large",
        "rate_limited",
        "refused",
    }
)


def count_webhook(outcome: str) -> None:
    WEBHOOK_NOTIFICATIONS.labels(outcome if outcome in WEBHOOK_OUTCOMES else "other").inc()


def count_webhook_processed(outcome: str) -> None:
    """notification_process's outcome, coarsened: processed, failed, unknown_order or skipped."""
    if outcome in ("failed", "unknown_order"):
        result = outcome
    elif outcome.startswith("skipped"):
        result = "skipped"
    else:
        result = "processed"
    WEBHOOK_PROCESSED.labels(result).inc()


@contextmanager
def timed(histogram: Histogram, **labels):
    """Observe the block's wall time (also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        (histogram.labels(**labels) if labels else histogram).observe(time.perf_counter() - started)


def timed_call(histogram: Histogram, **labels) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator form of `timed`."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            with timed(histogram, **labels):
                return fn(*args, **kwargs)

        return inner

    return wrap


# ---- scrape-time figures from the database -------------------------------------------------------------
def _app_collectors() -> list[tuple[str, Callable[[], Iterable]]]:
    found = []
    for app_name in settings.INSTALLED_APPS:
        module = f"{app_name}.metrics"
        if app_name.split(".")[0] in ("django", "rest_framework") or find_spec(app_name) is None:
            continue
        if find_spec(module) is not None:
            found.append((app_name, import_module(module).collect))
    return found


class DatabaseCollector:
    """Runs every app's `collect()` at scrape time; one that fails is reported, never fails the scrape."""

    def __init__(self):
        self._collectors: list | None = None

    def collect(self):
        if self._collectors is None:
            self._collectors = _app_collectors()
        errors = GaugeMetricFamily(
            "pengampu_metrics_collector_up",
            "1 when an app's database figures were read at this scrape.",
            labels=["app"],
        )
        started = time.perf_counter()
        for app_name, collect in self._collectors:
            try:
                families = list(collect())
            except Exception:  # noqa: BLE001 - a scrape reports the failure instead of failing
                logger.exception("metrics collector of %s failed", app_name)
                errors.add_metric([app_name], 0)
                continue
            errors.add_metric([app_name], 1)
            yield from families
        yield errors
        yield GaugeMetricFamily(
            "pengampu_metrics_database_seconds",
            "Time the database figures took at this scrape.",
            value=time.perf_counter() - started,
        )


_database_registry = CollectorRegistry(auto_describe=False)
_database_registry.register(DatabaseCollector())


def render() -> bytes:
    """The exposition text: the processes' counters and histograms, then the database figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    return counted + generate_latest(_database_registry)


# ---- the view ------------------------------------------------------------------------------------------
def _bearer(request) -> str:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _ip_allowed(request) -> bool:
    networks = getattr(settings, "METRICS_ALLOWED_NETWORKS", ())
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in networks)


def metrics_view(request):
    """GET /metrics for Prometheus: with `Authorization: Bearer <METRICS_TOKEN>` or from METRICS_ALLOWED_IPS.

    Without either: 401 when a token is configured (the scraper's credentials are wrong), 404 otherwise (the
    endpoint does not advertise itself). METRICS_ENABLED=false: 404 always.
    """
    if not settings.METRICS_ENABLED:
        raise Http404
    token = settings.METRICS_TOKEN
    given = _bearer(request)
    if token and given and hmac.compare_digest(given.encode(), token.encode()):
        pass
    elif not _ip_allowed(request):
        if token:
            response = HttpResponse("unauthorized\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        raise Http404
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
