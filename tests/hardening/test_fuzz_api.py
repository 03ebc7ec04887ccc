"""Schemathesis against /api/schema/, in-process through the WSGI app, once per role.

Every operation of the published schema is called with generated inputs as each role (a JWT of that role's
user), and each response must (a) not be a 5xx and (b) match the schema for its documented status.
Operations with path parameters are called on the world's real objects (so the handlers run deep, not
only their 404 branch) and once more on generated ids.

Bounded for CI: FUZZ_MAX_EXAMPLES examples per operation and role (default 2), no deadline per example
(the first call of a view is slow); the whole run takes about a minute on 2 cores.
"""

import os
import re

import pytest
import schemathesis

# Imported here, at collection, not lazily inside a test: pytest rewrites (re-parses) schemathesis' modules, since
# it is a plugin, and in CI that parse failed inside from_wsgi's first call with CPython 3.11's "AST constructor
# recursion depth mismatch" (its AST state is process-wide; likely a live-server or simulator thread of an earlier
# test compiling at the same time). At collection no other thread runs.
import schemathesis.generation.jsonschema.strategy  # noqa: F401
import schemathesis.specs.openapi.schemas  # noqa: F401
from django.core.cache import cache
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.hardening.world import ROLES, build_world

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "2"))
CHECKS = [not_a_server_error, response_schema_conformance]


def _schema():
    from backend.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


def _path_values(world) -> dict[str, object]:
    """Real ids by parameter name (every route uses pk; a few have their own names)."""
    return {
        "pk": world.objects["worker"].pk,
        "id": world.objects["worker"].pk,
        "sponsor_id": world.objects["sponsor"].pk,
        "year": world.objects["year"],
        "kind": "workers",
        "token": "hardening-device-token-0001",
    }


def _real_pk_for(path: str, world):
    objs = world.objects
    table = [
        ("/sponsors/", objs["sponsor"]),
        ("/admin/sponsors/", objs["sponsor"]),
        ("/sponsor/invoices/", objs.get("invoices", {}).get("open")),
        ("/invoices/", objs.get("invoices", {}).get("open")),
        ("/sponsor/receipts/", objs.get("invoices", {}).get("paid")),
        ("/sponsor/proposals/", objs.get("proposal")),
        ("/admin/nominations/", objs.get("nomination")),
        ("/admin/matching-runs/", objs.get("matching_run")),
        ("/admin/imports/", objs.get("import_batch")),
        ("/notifications/", objs.get("notification")),
    ]
    for prefix, obj in table:
        if prefix in path and obj is not None:
            return obj.pk
    return objs["worker"].pk


def _fuzz_operation(operation, headers, path_parameters, failures):
    kwargs = {"path_parameters": path_parameters} if path_parameters else {}
    strategy = operation.as_strategy(**kwargs)

    @hsettings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        cache.clear()  # login/sign-in throttles would otherwise turn later examples into 429s
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except BaseException as exc:  # noqa: BLE001 — collect (FailureGroup is a BaseExceptionGroup)
        if isinstance(exc, KeyboardInterrupt):
            raise
        failures.append(f"{operation.label} path={path_parameters}: {str(exc)[:1500]}")


@pytest.fixture
def keep_test_connection():
    """The raw WSGI handler closes the DB connection at request end (Django's test client unhooks that);
    inside the test transaction that would drop the test's own connection."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def midtrans_sim():
    from simulators.midtrans import MidtransSimulator

    simulator = MidtransSimulator(server_key="SB-Mid-server-FUZZ", retry_scale=0.001, jitter=0.0).start()
    yield simulator
    simulator.stop()


@pytest.mark.parametrize("role", ROLES)
def test_fuzz_every_operation_as(role, settings, keep_test_connection, midtrans_sim):
    # The real gateway adapter against the local simulator: "pay" runs end to end (a down gateway answering
    # 502/503 by design is covered by the money branch's fault tests, not counted as a server error here).
    settings.MIDTRANS_API_BASE_URL = midtrans_sim.base_url
    settings.MIDTRANS_SERVER_KEY = "SB-Mid-server-FUZZ"
    settings.MIDTRANS_TIMEOUT_SECONDS = 2.0
    settings.PUBLIC_BASE_URL = ""
    world = build_world()
    user = world.user(role)
    headers = {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"} if user else {}
    schema = _schema()
    failures, seen = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        seen += 1
        names = [p.name for p in operation.path_parameters]
        if names:
            values = _path_values(world)
            values["pk"] = values["id"] = _real_pk_for(operation.path, world)
            _fuzz_operation(operation, headers, {n: values[n] for n in names if n in values}, failures)
        _fuzz_operation(operation, headers, None, failures)
    assert not failures, f"{len(failures)} failing operations as {role}:\n\n" + "\n\n".join(failures)


def test_every_api_route_is_in_the_schema():
    """An operation missing from /api/schema/ cannot be fuzzed (nor used by client generators): drf-spectacular
    drops APIViews it cannot describe ("unable to guess serializer") with only a warning."""
    from tests.hardening.endpoints import api_endpoints

    documented = set()
    for result in _schema().get_all_operations():
        operation = result.ok()
        documented.add((operation.method.upper(), re.sub(r"\{\w+\}", "{}", operation.path)))
    # The Midtrans webhook is a plain Django view on purpose (raw body stored before any parsing; Midtrans's
    # own payload format, not ours): documented in docs/midtrans-simulator.md, not in our OpenAPI.
    # The WhatsApp and Twilio webhooks likewise take the providers' own formats (notifications/api/channels.py).
    not_ours = {"midtrans-notification", "whatsapp-webhook", "twilio-status"}
    missing = []
    for name, method, route in api_endpoints():
        if name in not_ours:
            continue
        path = "/" + route
        path = re.sub(r"<(?:\w+:)?\w+>", "{}", path)
        if (method, path) not in documented:
            missing.append(f"{method} {path} ({name})")
    assert not missing, f"{len(missing)} API operations are not in the OpenAPI schema: " + ", ".join(missing)
