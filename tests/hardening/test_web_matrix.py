"""Every /dashboard/ page × every role (session sign-in), against the expected status. A page without a row fails.

Conventions as in test_permission_matrix: 302 = sent to the sign-in page (anonymous) or back to the page after
an action; 403 = not an admin; 404 = an admin, but not their object. Each role's request is rolled back.
"""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.hardening.world import ROLES, build_world, worker_roster_csv

pytestmark = pytest.mark.django_db

A, W, OW, S, OS, AA, OA, RA, SU = ROLES


def everyone(code, anonymous=302):
    return {role: (anonymous if role == A else code) for role in ROLES}


def admins(code=200, other_agency=None, regency_only=False):
    out = everyone(403)
    out.update({AA: code, OA: other_agency or code, RA: code, SU: code})
    if regency_only:
        out.update({AA: 403, OA: 403})
    return out


# (url name, method) → (path kwargs from the world, POST data, expected per role)
PAGES = {
    ("index", "GET"): (None, None, admins()),
    ("login", "GET"): (None, None, {**everyone(302, anonymous=200)}),  # signed in: sent on to the dashboard
    ("logout", "POST"): (None, {}, everyone(302)),
    ("coverage", "GET"): (None, None, admins()),
    ("village-target", "POST"): (lambda w: {"code": "35.02.17.1001"}, {"target": "7"}, admins(302)),
    ("money", "GET"): (None, None, admins()),
    ("arrears", "GET"): (None, None, admins()),
    ("remind", "POST"): (lambda w: {"sponsor_id": w.objects["sponsor"].pk}, {}, admins(302)),
    ("export", "GET"): (lambda w: {"table": "agencies", "fmt": "csv"}, None, admins()),
    ("imports", "GET"): (None, None, admins()),
    ("imports", "POST"): (None, "upload", admins(302)),
    ("import-detail", "GET"): (lambda w: {"pk": w.objects["import_batch"].pk}, None, admins(other_agency=404)),
    ("import-detail", "POST"): (
        lambda w: {"pk": w.objects["import_batch"].pk},
        {"action": "discard"},
        admins(302, other_agency=404),
    ),
    ("import-template", "GET"): (lambda w: {"kind": "workers", "fmt": "csv"}, None, admins()),
    ("reach", "GET"): (None, None, admins()),
    ("map", "GET"): (None, None, admins()),
    ("map-village", "GET"): (lambda w: {"code": "35.02.17.1001"}, None, admins()),
    ("report-monthly", "GET"): (None, None, admins()),
    ("deciles", "GET"): (None, None, admins()),
    # only a worker flagged by a DTSEN round can be decided on: the world has none, so an admin gets 404
    ("decile-decide", "POST"): (lambda w: {"worker_id": w.objects["worker"].pk}, {"decision": "keep"}, admins(404)),
    # the data-protection officer only (a regency admin with the permission; none in the world but the superuser)
    ("personal-data-access", "GET"): (None, None, {**admins(403), SU: 200}),
    # province/national figures: area admins (none in the world) and the superuser; never a regency's admins
    ("areas", "GET"): (None, None, {**admins(403), SU: 200}),
    ("at-risk", "GET"): (None, None, admins()),
    # the bridge fund and the regency's settings are the regency's, not an agency's
    ("bridge-pools", "GET"): (None, None, admins(regency_only=True)),
    ("bridge-pool-top-up", "POST"): (
        lambda w: {"pk": w.objects["bridge_pool"].pk},
        {"amount_idr": "201600"},
        admins(302, regency_only=True),
    ),
    ("bridge-pool-statement", "GET"): (
        lambda w: {"pk": w.objects["bridge_pool"].pk},
        None,
        admins(regency_only=True),
    ),
    ("regency-settings", "GET"): (None, None, admins(regency_only=True)),
    ("jobs", "GET"): (None, None, admins()),
    # a job's file is its requester's only (the agency admin's here; 409 while it is not finished)
    ("job-download", "GET"): (
        lambda w: {"pk": w.objects["job"].pk},
        None,
        {**admins(404), AA: 409},
    ),
    ("payroll", "GET"): (None, None, admins()),
    # an action without its fields: the form comes back with its errors
    ("payroll", "POST"): (None, {"action": "produce"}, admins()),
    ("payroll-list", "GET"): (lambda w: {"pk": w.objects["payroll_list"].pk}, None, admins(other_agency=404)),
    ("payroll-list", "POST"): (
        lambda w: {"pk": w.objects["payroll_list"].pk},
        {"action": "send"},
        admins(302, other_agency=404),
    ),
    ("payroll-confirmation", "GET"): (
        lambda w: {"pk": w.objects["payroll_confirmation"].pk},
        None,
        admins(other_agency=404),
    ),
    ("payroll-confirmation", "POST"): (
        lambda w: {"pk": w.objects["payroll_confirmation"].pk},
        {"action": "discard"},
        admins(302, other_agency=404),
    ),
    ("payroll-file", "GET"): (
        lambda w: {"pk": w.objects["payroll_list"].pk, "fmt": "csv"},
        None,
        admins(other_agency=404),
    ),
}
METHODS = {
    "index": ["GET"],
    "login": ["GET"],
    "logout": ["POST"],
    "village-target": ["POST"],
    "remind": ["POST"],
    "decile-decide": ["POST"],
    "bridge-pool-top-up": ["POST"],
    "payroll": ["GET", "POST"],
    "payroll-list": ["GET", "POST"],
    "payroll-confirmation": ["GET", "POST"],
}


def _pages():
    out = []

    def walk(patterns, namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, p.namespace or namespace)
            elif isinstance(p, URLPattern) and namespace == "dashboard":
                for method in METHODS.get(
                    p.name, ["GET", "POST"] if p.name in ("imports", "import-detail") else ["GET"]
                ):
                    out.append((p.name, method))

    walk(get_resolver().url_patterns)
    return out


def test_every_dashboard_page_has_a_row():
    assert sorted(set(_pages()) - set(PAGES)) == []
    assert sorted(set(PAGES) - set(_pages())) == []


@pytest.mark.parametrize("name,method", sorted(PAGES), ids=[f"{m} {n}" for n, m in sorted(PAGES)])
def test_web_matrix(name, method, regency):
    kwargs_fn, data, expected = PAGES[(name, method)]
    world = build_world(with_money=False)
    url = reverse(f"dashboard:{name}", kwargs=kwargs_fn(world) if kwargs_fn else None)
    observed = {}
    for role in ROLES:
        cache.clear()
        client = Client()
        if world.user(role) is not None:
            client.force_login(world.user(role))
        with transaction.atomic():
            if method == "GET":
                response = client.get(url)
            else:
                body = (
                    {"kind": "workers", "file": SimpleUploadedFile("p.csv", worker_roster_csv())}
                    if data == "upload"
                    else data
                )
                response = client.post(url, body)
            transaction.set_rollback(True)
        observed[role] = response.status_code
        assert response.status_code < 500, f"{role} {method} {url}: {response.status_code}"
    wrong = {r: f"expected {expected[r]}, got {observed[r]}" for r in ROLES if expected[r] != observed[r]}
    assert not wrong, f"{method} {url}: {wrong}"
