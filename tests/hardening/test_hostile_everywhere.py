"""The hostile inputs of issue 14 against every JSON endpoint of the API, as an admin and as a superuser.

Each body (nested 100,000 deep, a NUL in every string, a bare scalar, larger than DATA_UPLOAD_MAX_MEMORY_SIZE,
undecodable bytes) and each NUL in the query must end as a 4xx with the API's error shape, never a 500.
The routes come from the URL resolver, the path values from the permission matrix's world.
"""

import json

import pytest
from django.core.cache import cache
from django.db import transaction

from tests.hardening.endpoints import api_endpoints
from tests.hardening.test_permission_matrix import call, client_as, midtrans  # noqa: F401 (fixture)
from tests.hardening.world import build_world

pytestmark = pytest.mark.django_db

BODY_METHODS = ("POST", "PUT", "PATCH")
ENDPOINTS = [(n, m, r) for n, m, r in api_endpoints() if m in BODY_METHODS]
# The Midtrans webhook takes any body as evidence and answers from the signature (the webhook branch's area).
SKIP: set[str] = set()  # the Midtrans webhook answers hostile bytes with a JSON 4xx too (issue 13 defect 3)

HOSTILE = {
    "nested": b"[" * 100_000 + b"]" * 100_000,
    "nested_object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "nul": json.dumps({"username": "a\x00b", "nik": "35021\x00", "reason": "\x00", "mode": "all\x00"}).encode(),
    "scalar": b"123",
    "string": b'"x"',
    "null": b"null",
    "undecodable": b'{"a": "\xff\xfe"}',
    "huge": json.dumps({"reason": "x" * (3 * 1024 * 1024)}).encode(),
}


@pytest.fixture
def world(regency):  # `regency` restores the reference rows a transactional test's flush removed
    return build_world()


@pytest.mark.parametrize("name,method,route", ENDPOINTS, ids=[f"{m} {r}" for n, m, r in ENDPOINTS])
def test_hostile_bodies_are_4xx_on_every_json_endpoint(name, method, route, world, midtrans):  # noqa: F811
    if name in SKIP:
        pytest.skip("the webhook stores any body as evidence (billing/services/webhook.py)")
    try:
        url, _ = call(world, name, method)
    except KeyError as exc:
        pytest.skip(f"the world has no {exc}")
    failures = []
    # A view that never reads its body (pay, accept) answers as usual: only a 5xx or a non-JSON answer fails.
    for role in ("regency_admin", "superuser", "anonymous"):
        client = client_as(world.user(role))
        for label, body in HOSTILE.items():
            cache.clear()
            with transaction.atomic():
                response = client.generic(method, url, body, content_type="application/json")
                transaction.set_rollback(True)
            if response.status_code >= 500 or not response.headers.get("Content-Type", "").startswith(
                "application/json"
            ):
                failures.append(f"{role} {label}: {response.status_code} {response.content[:120]!r}")
    assert not failures, f"{method} {url}: {failures}"


@pytest.mark.parametrize("name,method,route", api_endpoints(), ids=[f"{m} {r}" for n, m, r in api_endpoints()])
def test_nul_in_the_query_is_a_400_everywhere(name, method, route, world):
    try:
        url, _ = call(world, name, method)
    except KeyError as exc:
        pytest.skip(f"the world has no {exc}")
    response = client_as(world.user("superuser")).generic(method, url + "?q=%00", b"", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "nul_character"
