"""Every /api/v1/ endpoint × every role, against the expected status. A route without a row fails.

The routes come from the URL resolver (tests/hardening/endpoints.py), so an endpoint added by any branch
shows up here as a failure until somebody writes its row: who may call it, and what each role gets.
Each role's request runs inside a savepoint that is rolled back, so every role sees the same world.

Conventions for the expected codes: 401 = not signed in; 403 = the role may never call it; 404 = the role
may call it but the object is not theirs (no existence leak). 200/201/204 = allowed and succeeds.
Run with HARDENING_MATRIX_PRINT=1 to print the observed table (to write rows for new endpoints).
"""

import os

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests import factories
from tests.hardening.endpoints import api_endpoints
from tests.hardening.world import ROLES, build_world

pytestmark = pytest.mark.django_db

A, W, OW, S, OS, AA, OA, RA, SU = ROLES  # anonymous, worker, other_worker, sponsor, ... superuser


def row(
    anonymous, worker, other_worker, sponsor, other_sponsor, agency_admin, other_agency_admin, regency_admin, superuser
):
    return dict(
        zip(
            ROLES,
            (
                anonymous,
                worker,
                other_worker,
                sponsor,
                other_sponsor,
                agency_admin,
                other_agency_admin,
                regency_admin,
                superuser,
            ),
            strict=True,
        )
    )


def everyone(code, anonymous=401):
    return row(anonymous, *([code] * 8))


def only(allowed: dict, default=403, anonymous=401):
    out = everyone(default, anonymous)
    out.update(allowed)
    return out


ADMINS_OWN = {AA: 200, OA: 404, RA: 200, SU: 200}

# (url name, method) → expected status per role.
MATRIX = {
    # --- foundation -------------------------------------------------------------------------------------
    ("token-obtain", "POST"): everyone(200, anonymous=200),
    ("token-refresh", "POST"): everyone(200, anonymous=200),
    ("me", "GET"): everyone(200),
    ("region-list", "GET"): everyone(200),
    ("occupation-list", "GET"): everyone(200),
    ("agency-list", "GET"): everyone(200),  # a list is always 200; scoping decides what is in it
    ("sponsor-list", "GET"): everyone(200),
    ("sponsor-detail", "GET"): row(401, 404, 404, 200, 404, 200, 404, 200, 200),
    ("worker-list", "GET"): everyone(200),
    ("worker-list", "POST"): only({AA: 201, OA: 201, RA: 201, SU: 201}),
    ("worker-detail", "GET"): row(401, 200, 404, 200, 404, 200, 404, 200, 200),
    ("worker-detail", "PATCH"): only(ADMINS_OWN),
}

# Expected tables for the feature branches (kept apart so a missing branch is reported, not crashed).
MATRIX.update(
    {
        # --- money ------------------------------------------------------------------------------------------
        ("invoice-list", "GET"): only({S: 200, OS: 200, AA: 200, OA: 200, RA: 200, SU: 200}),
        ("invoice-detail", "GET"): only({S: 200, OS: 404, **ADMINS_OWN}),
        ("invoice-prepay", "POST"): only({S: 201, OS: 201, SU: 403}),
        ("invoice-arrears", "POST"): only({S: 201, OS: 201, SU: 403}),  # superuser has no sponsor account
        ("invoice-pay", "POST"): only({S: 201, OS: 404, SU: 201}),
        ("invoice-void", "POST"): only({**ADMINS_OWN}),
        ("worker-coverage", "GET"): row(401, 200, 404, 200, 404, 200, 404, 200, 200),
        ("midtrans-notification", "POST"): everyone(403, anonymous=403),  # no auth by design: an unsigned body is 403
        # --- dashboard --------------------------------------------------------------------------------------
        ("worker-auth", "POST"): everyone(202, anonymous=202),  # 202: a one-time code was sent
        ("worker-status", "GET"): only({W: 200, OW: 200, SU: 404}),
        ("sponsor-overview", "GET"): only({S: 200, OS: 200, SU: 404}),
        # --- the app (pwa) ----------------------------------------------------------------------------------
        ("sponsor-profile", "GET"): only({S: 200, OS: 200, SU: 403}),  # superuser has no sponsor account
        ("sponsor-profile", "PATCH"): only({S: 200, OS: 200, SU: 403}),
        ("sponsor-leave-request", "POST"): only({S: 202, OS: 202, SU: 403}),
        ("sponsor-receipt", "GET"): only({S: 200, OS: 404, SU: 404}),
        ("sponsor-statement", "GET"): only({S: 200, OS: 200, SU: 404}),
        ("admin-dashboard-summary", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-dashboard-agencies", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-dashboard-coverage", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-dashboard-money", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-dashboard-arrears", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-dashboard-arrears-remind", "POST"): only({**ADMINS_OWN}),
        ("admin-imports", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-imports", "POST"): only({AA: 201, OA: 201, RA: 201, SU: 201}),
        ("admin-import-template", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-import-detail", "GET"): only({**ADMINS_OWN}),
        ("admin-import-detail", "DELETE"): only({**ADMINS_OWN}),
        ("admin-import-confirm", "POST"): only(
            {AA: 409, OA: 404, RA: 409, SU: 409}
        ),  # 409: the row has problems, mode all
        # --- matching ---------------------------------------------------------------------------------------
        ("proposal-list", "GET"): only({S: 200, OS: 200, SU: 403}),
        ("proposal-accept", "POST"): only({S: 201, OS: 404, SU: 201}),
        ("proposal-decline", "POST"): only({S: 200, OS: 404, SU: 200}),
        ("sponsor-nominations", "GET"): only({S: 200, OS: 200, SU: 200}),
        ("sponsor-nominations", "POST"): only({S: 201, OS: 201, SU: 403}),
        ("admin-nomination-list", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-nomination-verify", "POST"): only({**ADMINS_OWN}),
        ("admin-nomination-reject", "POST"): only({**ADMINS_OWN}),
        ("matching-run-list", "GET"): only({RA: 200, SU: 200}),
        ("matching-run-list", "POST"): only({RA: 200, SU: 403}),  # same input as the world's run → 200 (idempotent)
        ("matching-run-detail", "GET"): only({RA: 200, SU: 200}),
        ("matching-run-apply", "POST"): only({RA: 200, SU: 200}),
        ("admin-sponsor-leave", "POST"): only({**ADMINS_OWN}),
        # --- notifications ----------------------------------------------------------------------------------
        ("device-register", "POST"): everyone(200),
        ("device-register", "DELETE"): everyone(204),
        ("device-detail", "DELETE"): everyone(204),
        ("notification-list", "GET"): everyone(200),
        ("notification-read-all", "POST"): everyone(200),
        ("notification-preferences", "GET"): everyone(200),
        ("notification-preferences", "PUT"): everyone(200),
        ("notification-read", "POST"): row(401, 404, 404, 200, 404, 404, 404, 404, 404),
        ("contact-channels", "GET"): everyone(200),
        ("contact-channels", "PUT"): everyone(200),
        # Provider webhooks: no auth by design, the signature is the authentication (unsigned: 403).
        ("whatsapp-webhook", "POST"): everyone(403, anonymous=403),
        ("twilio-status", "POST"): everyone(403, anonymous=403),
        # --- hardening: data-subject requests ---------------------------------------------------------------
        ("worker-my-data", "GET"): only({W: 200, OW: 200, SU: 403}),
        ("worker-my-data-erase", "POST"): only({W: 200, OW: 200, SU: 403}),
        ("admin-worker-data-export", "GET"): only({**ADMINS_OWN}),
        ("admin-worker-anonymise", "POST"): only({RA: 200, SU: 200}),
        # the data-protection officer is a regency admin with people.view_personaldataaccess (none in the world)
        ("admin-personal-data-access", "GET"): only({SU: 200}),
        # --- life events ------------------------------------------------------------------------------------
        ("admin-worker-life-event", "POST"): only({AA: 201, OA: 404, RA: 201, SU: 201}),
        ("admin-sponsor-life-event", "POST"): only({AA: 201, OA: 404, RA: 201, SU: 201}),
        ("admin-life-event-list", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("sponsor-life-event", "POST"): only({S: 201, OS: 201, SU: 404}),  # superuser has no sponsor account
        ("sponsor-worker-life-event", "POST"): only({S: 201, OS: 404, SU: 404}),  # only a worker you sponsor now
        ("worker-life-event", "POST"): only({W: 201, OW: 201, SU: 404}),
        # --- protection clock (issue 18) ------------------------------------------------------------------
        ("admin-cohorts", "GET"): only({RA: 200, SU: 200}),
        ("admin-cohorts", "POST"): only({RA: 201, SU: 201}),  # a regency-wide budget: not an agency's
        ("admin-worker-benefits", "POST"): only({AA: 201, OA: 404, RA: 201, SU: 201}),
        ("admin-dashboard-at-risk", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-dashboard-benefits", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        # --- bridge fund (issue 18): a regency's pools; the superuser must name a regency to create one ----------
        ("bridge-pool-list", "GET"): only({RA: 200, SU: 200}),
        ("bridge-pool-list", "POST"): only({RA: 201, SU: 400}),
        ("bridge-pool-detail", "GET"): only({RA: 200, SU: 200}),
        ("bridge-pool-detail", "PATCH"): only({RA: 200, SU: 200}),
        ("bridge-pool-top-up", "POST"): only({RA: 201, SU: 201}),
        ("bridge-pool-statement", "GET"): only({RA: 200, SU: 200}),
        # --- regency settings (issue 20): the regency's own, never an agency's -----------------------------------
        ("admin-regency-settings", "GET"): only({RA: 200, SU: 200}),
        ("admin-regency-settings", "PATCH"): only({RA: 200, SU: 200}),
        ("admin-regency-settings", "PUT"): only({RA: 200, SU: 200}),
        ("admin-regency-rates", "POST"): only({RA: 201, SU: 201}),
        # --- province/national figures: aggregates for area admins (none in the world) and the superuser -------
        ("admin-areas-summary", "GET"): only({SU: 200}),
        # --- background jobs: anyone admin may ask; a job's file is the requester's only (agency admin here) ----
        ("admin-jobs", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-jobs", "POST"): only({AA: 202, OA: 202, RA: 202, SU: 202}),
        ("admin-job-detail", "GET"): only({AA: 200, OA: 404, RA: 404, SU: 404}),
        ("admin-job-download", "GET"): only({AA: 409, OA: 404, RA: 404, SU: 404}),  # 409: not finished yet
        # --- payroll deduction (docs/payroll.md) ------------------------------------------------------------
        ("sponsor-payroll-consent", "GET"): only({S: 200, OS: 200, SU: 403}),
        ("sponsor-payroll-consent", "POST"): only({S: 409, OS: 201, SU: 403}),  # 409: the sponsor has one
        ("sponsor-payroll-stop", "POST"): only({S: 200, OS: 404, SU: 403}),  # 404: no consent to stop
        ("admin-payroll-settings", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-payroll-settings", "PUT"): only({RA: 200, SU: 200}),
        ("admin-payroll-overview", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-payroll-consents", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        # the body names the other agency's sponsor (the first one has a consent already): the mirror of ADMINS_OWN
        ("admin-payroll-consents", "POST"): only({AA: 404, OA: 201, RA: 201, SU: 201}),
        ("admin-payroll-consent-stop", "POST"): only({**ADMINS_OWN}),
        ("admin-payroll-consent-scan", "GET"): only({**ADMINS_OWN}),
        ("admin-payroll-lists", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-payroll-lists", "POST"): only({**ADMINS_OWN, AA: 201, RA: 201, SU: 201}),
        ("admin-payroll-list", "GET"): only({**ADMINS_OWN}),
        ("admin-payroll-list-file", "GET"): only({**ADMINS_OWN}),
        ("admin-payroll-list-send", "POST"): only({**ADMINS_OWN}),
        ("admin-payroll-confirmation-upload", "POST"): only({**ADMINS_OWN, AA: 201, RA: 201, SU: 201}),
        ("admin-payroll-confirmation", "GET"): only({**ADMINS_OWN}),
        ("admin-payroll-confirmation", "DELETE"): only({**ADMINS_OWN}),
        # 202: a task applies the file (its message is rolled back with the request here)
        ("admin-payroll-confirmation-confirm", "POST"): only({AA: 202, OA: 404, RA: 202, SU: 202}),
        ("admin-payroll-transfers", "GET"): only({AA: 200, OA: 200, RA: 200, SU: 200}),
        ("admin-payroll-transfers", "POST"): only({**ADMINS_OWN, AA: 201, RA: 201, SU: 201}),
    }
)


def _nik_of_new_worker():
    return factories.make_nik("35.02.17.1002")


# (url name) → (path kwargs from the world, request body from the world). Bodies are valid inputs, so a
# 2xx means "allowed", never "allowed to fail validation".
def _kw(**names):
    return lambda w: {k: (v(w) if callable(v) else v) for k, v in names.items()}


REQUESTS = {
    # --- bridge fund, regency settings, jobs (issues 18 and 20) ---------------------------------------------------
    "bridge-pool-list": (None, lambda w: {"kind": "csr", "name": "CSR Pabrik Gula"}),
    "bridge-pool-detail": (_kw(pk=lambda w: w.objects["bridge_pool"].pk), lambda w: {"name": "CSR Bank Jatim II"}),
    "bridge-pool-top-up": (_kw(pk=lambda w: w.objects["bridge_pool"].pk), lambda w: {"amount_idr": 201_600}),
    "bridge-pool-statement": (_kw(pk=lambda w: w.objects["bridge_pool"].pk), None),
    "admin-regency-settings": (None, lambda w: {"salary_day": 1, "tpp_day": 10}),
    "admin-regency-rates": (
        None,
        lambda w: {"name": "Tarif Ponorogo", "valid_from": "2027-01-01", "jkk_rate_bp": 24, "jkm_idr": 6_800},
    ),
    "admin-jobs": (None, lambda w: {"kind": "export", "table": "agencies", "format": "csv"}),
    "admin-job-detail": (_kw(pk=lambda w: w.objects["job"].pk), None),
    "admin-job-download": (_kw(pk=lambda w: w.objects["job"].pk), None),
    "token-obtain": (None, lambda w: {"username": w.objects["sponsor"].user.username, "password": "secret-pass-123"}),
    "token-refresh": (None, lambda w: {"refresh": str(RefreshToken.for_user(w.objects["sponsor"].user))}),
    "sponsor-detail": (_kw(pk=lambda w: w.objects["sponsor"].pk), None),
    "worker-list": (
        None,
        lambda w: {
            "nik": _nik_of_new_worker(),
            "full_name": "Wagiman",
            "phone": "081311112222",
            "occupation": "petani",
            "village": "35.02.17.1002",
            "consent": {"channel": "in_person", "text_version": "2026.1"},
        },
    ),
    "worker-detail": (_kw(pk=lambda w: w.objects["worker"].pk), lambda w: {"welfare_decile": 2}),
    "invoice-detail": (_kw(pk=lambda w: w.objects["invoices"]["open"].pk), None),
    "invoice-pay": (_kw(pk=lambda w: w.objects["invoices"]["open"].pk), None),
    "invoice-prepay": (None, lambda w: {"months": 2}),
    "sponsor-profile": (None, lambda w: {"capacity": 3, "contact_consent": True}),
    "sponsor-leave-request": (None, lambda w: {"confirm": True, "reason": "pindah tugas"}),
    "invoice-void": (_kw(pk=lambda w: w.objects["invoices"]["open"].pk), lambda w: {"reason": "salah tagih"}),
    "worker-coverage": (_kw(pk=lambda w: w.objects["worker"].pk), None),
    "midtrans-notification": (None, lambda w: {"order_id": "nope"}),
    "worker-auth": (
        None,
        lambda w: {"nik": w.objects["worker"].nik, "birth_date": w.objects["worker"].birth_date.isoformat()},
    ),
    "sponsor-receipt": (_kw(pk=lambda w: w.objects["invoices"]["paid"].pk), None),
    "sponsor-statement": (_kw(year=lambda w: w.objects["year"]), None),
    "admin-dashboard-arrears-remind": (_kw(sponsor_id=lambda w: w.objects["sponsor"].pk), None),
    "admin-imports": (None, lambda w: {"kind": "workers", "file": _upload()}),
    "admin-import-template": (_kw(kind="workers"), None),
    "admin-import-detail": (_kw(pk=lambda w: w.objects["import_batch"].pk), None),
    "admin-import-confirm": (_kw(pk=lambda w: w.objects["import_batch"].pk), lambda w: {"mode": "all"}),
    "proposal-accept": (_kw(pk=lambda w: w.objects["proposal"].pk), None),
    "proposal-decline": (_kw(pk=lambda w: w.objects["proposal"].pk), lambda w: {"reason": "terlalu jauh"}),
    "sponsor-nominations": (
        None,
        lambda w: {
            "nik": _nik_of_new_worker(),
            "full_name": "Tukiyem",
            "occupation": "petani",
            "village": "35.02.17.1001",
            "relationship": "neighbour",
            "consent_channel": "in_person",
            "consent_text_version": "2026.1",
        },
    ),
    "admin-nomination-verify": (_kw(pk=lambda w: w.objects["nomination"].pk), None),
    "admin-nomination-reject": (_kw(pk=lambda w: w.objects["nomination"].pk), lambda w: {"reason": "data ganda"}),
    "matching-run-list": (None, lambda w: {"radius_m": 5000}),
    "matching-run-detail": (_kw(pk=lambda w: w.objects["matching_run"].pk), None),
    "matching-run-apply": (_kw(pk=lambda w: w.objects["matching_run"].pk), None),
    "admin-sponsor-leave": (_kw(pk=lambda w: w.objects["sponsor"].pk), lambda w: {"status": "left"}),
    "admin-worker-life-event": (_kw(pk=lambda w: w.objects["worker"].pk), lambda w: {"kind": "worker_moved_away"}),
    "admin-sponsor-life-event": (_kw(pk=lambda w: w.objects["sponsor"].pk), lambda w: {"kind": "sponsor_retired"}),
    "sponsor-life-event": (None, lambda w: {"kind": "sponsor_retired"}),
    "sponsor-worker-life-event": (
        _kw(pk=lambda w: w.objects["worker"].pk),
        lambda w: {"kind": "worker_formal_job"},
    ),
    "worker-life-event": (None, lambda w: {"kind": "worker_moved_away"}),
    "sponsor-payroll-consent": (
        None,
        lambda w: {"kind": "salary", "golongan": "III/a", "consent_text_version": _payroll_text(w), "confirm": True},
    ),
    "admin-payroll-settings": (None, lambda w: {"list_day": 12}),
    "admin-payroll-consents": (
        None,
        lambda w: {"sponsor_id": w.objects["other_sponsor"].pk, "kind": "tpp", "scan": _scan()},
    ),
    "admin-payroll-consent-stop": (_kw(pk=lambda w: w.objects["payroll_consent"].pk), None),
    "admin-payroll-consent-scan": (_kw(pk=lambda w: w.objects["payroll_consent"].pk), None),
    "admin-payroll-lists": (
        None,
        lambda w: {"agency_id": w.objects["agency"].pk, "payroll_month": _month(w, 3)},
    ),
    "admin-payroll-list": (_kw(pk=lambda w: w.objects["payroll_list"].pk), None),
    "admin-payroll-list-file": (_kw(pk=lambda w: w.objects["payroll_list"].pk), None),
    "admin-payroll-list-send": (_kw(pk=lambda w: w.objects["payroll_list"].pk), None),
    "admin-payroll-confirmation-upload": (
        _kw(pk=lambda w: w.objects["payroll_sent_list"].pk),
        lambda w: {"file": _confirmation_file(w)},
    ),
    "admin-payroll-confirmation": (_kw(pk=lambda w: w.objects["payroll_confirmation"].pk), None),
    "admin-payroll-confirmation-confirm": (
        _kw(pk=lambda w: w.objects["payroll_confirmation"].pk),
        lambda w: {"mode": "all"},
    ),
    "admin-payroll-transfers": (
        None,
        lambda w: {
            "agency_id": w.objects["agency"].pk,
            "payroll_month": _month(w, 0),
            "amount_idr": 16800,
            "reference": "TRF-HARD-1",
            "transfer_date": w.objects["payroll_month"].isoformat(),
        },
    ),
    "device-register": (None, lambda w: {"token": "hardening-device-token-0001", "platform": "android"}),
    "device-detail": (_kw(token="hardening-device-token-0001"), None),
    "notification-preferences": (None, lambda w: {"preferences": [{"kind": "invoice_issued", "enabled": False}]}),
    "notification-read": (_kw(pk=lambda w: w.objects["notification"].pk), None),
    "worker-my-data-erase": (None, lambda w: {"confirm": True, "reason": "uji"}),
    "admin-worker-data-export": (_kw(pk=lambda w: w.objects["worker"].pk), None),
    "admin-worker-anonymise": (_kw(pk=lambda w: w.objects["worker"].pk), lambda w: {"confirm": True}),
    "admin-cohorts": (
        None,
        lambda w: {
            "name": "APBD 2026",
            "funder": "apbd",
            "starts_on": "2026-03-01",
            "funded_until": "2026-12-31",
            "file": _nik_file(w),
        },
    ),
    "admin-worker-benefits": (
        _kw(pk=lambda w: w.objects["worker"].pk),
        lambda w: {"kind": "jkk", "received_on": "2026-01-05", "sponsor_may_be_told": True},
    ),
}


def _nik_file(world):
    return SimpleUploadedFile("nik.csv", f"nik\n{world.objects['worker'].nik}\n".encode(), content_type="text/csv")


MULTIPART = {
    ("admin-imports", "POST"),
    ("admin-cohorts", "POST"),
    ("admin-payroll-consents", "POST"),
    ("admin-payroll-confirmation-upload", "POST"),
}


def _payroll_text(world) -> str:
    from sponsorship.billing.selectors.payroll import payroll_settings_for

    return payroll_settings_for(world.objects["regency"].pk).consent_text_version


def _month(world, offset: int) -> str:
    from sponsorship.core.periods import add_months

    return f"{add_months(world.objects['payroll_month'], offset):%Y-%m}"


def _scan():
    from tests.hardening.world import PAYROLL_SCAN

    return SimpleUploadedFile("form.pdf", PAYROLL_SCAN, content_type="application/pdf")


def _confirmation_file(world):
    from sponsorship.core.periods import local_today

    row = world.objects["payroll_sent_list"].rows.get(sponsor=world.objects["sponsor"])
    content = f"NIP,Jumlah,Referensi,Tanggal\n{row.nip},{row.amount_idr},TRF-2,{local_today():%d/%m/%Y}\n"
    return SimpleUploadedFile("konfirmasi.csv", content.encode(), content_type="text/csv")


def _upload():
    from tests.hardening.world import worker_roster_csv

    return SimpleUploadedFile("pekerja.csv", worker_roster_csv(), content_type="text/csv")


def client_as(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def call(world, name, method, route_kwargs=None):
    from django.urls import reverse

    kwargs_fn, body_fn = REQUESTS.get(name, (None, None))
    url = reverse(name, kwargs=kwargs_fn(world) if kwargs_fn else None)
    body = body_fn(world) if body_fn and method in ("POST", "PUT", "PATCH", "DELETE") else None
    return url, body


ENDPOINTS = api_endpoints()


def test_every_api_route_has_a_matrix_row():
    missing = sorted({(n, m) for n, m, _ in ENDPOINTS} - set(MATRIX))
    assert not missing, (
        "API routes without a permission-matrix row (add them to MATRIX in "
        f"tests/hardening/test_permission_matrix.py): {missing}"
    )


def test_no_stale_matrix_rows():
    live = {(n, m) for n, m, _ in ENDPOINTS}
    stale = sorted(set(MATRIX) - live)
    assert not stale, f"matrix rows for routes that no longer exist: {stale}"


@pytest.fixture
def midtrans(settings):
    from simulators.midtrans import MidtransSimulator

    simulator = MidtransSimulator(server_key="SB-Mid-server-HARD", retry_scale=0.001, jitter=0.0).start()
    settings.MIDTRANS_API_BASE_URL = simulator.base_url
    settings.MIDTRANS_SERVER_KEY = "SB-Mid-server-HARD"
    settings.MIDTRANS_TIMEOUT_SECONDS = 2.0
    settings.PUBLIC_BASE_URL = ""
    yield simulator
    simulator.stop()


@pytest.mark.parametrize("name,method,route", ENDPOINTS, ids=[f"{m} {r}" for n, m, r in ENDPOINTS])
def test_permission_matrix(name, method, route, midtrans):
    expected = MATRIX.get((name, method))
    if expected is None:
        pytest.fail(f"no matrix row for {method} {route} ({name})")
    world = build_world()
    try:
        url, body = call(world, name, method)
    except KeyError as exc:
        pytest.fail(f"the world has no {exc} object for {name}: its branch is not merged or the builder broke")
    observed = {}
    for role in ROLES:
        cache.clear()  # throttles and sign-in counters must not carry over between roles
        client = client_as(world.user(role))
        with transaction.atomic():
            if (name, method) in MULTIPART:
                fresh = call(world, name, method)[1]  # a fresh upload per role (a file is read once)
                response = client.generic(method, url, **_multipart(fresh))
            else:
                response = getattr(client, method.lower())(url, body, format="json")
            transaction.set_rollback(True)
        observed[role] = response.status_code
        assert response.status_code < 500, f"{role} {method} {url} → {response.status_code}: {response.content[:300]}"
    if os.environ.get("HARDENING_MATRIX_PRINT"):
        print(f"\nMATRIX {name} {method} " + " ".join(f"{r}={observed[r]}" for r in ROLES))
    wrong = {r: f"expected {expected[r]}, got {observed[r]}" for r in ROLES if expected[r] != observed[r]}
    assert not wrong, f"{method} {url}: {wrong}"


def _multipart(data):
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    return {"data": encode_multipart(BOUNDARY, data), "content_type": MULTIPART_CONTENT}


# ---------- issue 14: what each role sees, and who keeps a worker after a move --------------------------------

# Of the first worker: "full" = birth date and sex, "band" = an age band only (birth date and sex are NIK digits
# 7-12: next to the village code they rebuilt a masked NIK); None = no access (401/404). The NIK shows its serial.
DISCLOSURE = row(None, "full", None, "band", None, "band", None, "band", "full")


def test_what_each_role_sees_of_a_worker(regency):
    world = build_world(with_money=False)
    worker = world.objects["worker"]
    for role in ROLES:
        response = client_as(world.user(role)).get(f"/api/v1/workers/{worker.pk}/")
        if DISCLOSURE[role] is None:
            assert response.status_code in (401, 404), role
            continue
        body = response.json()
        assert body["nik"] == "*" * 12 + worker.nik[-4:], role
        assert body["age_band"], role
        shown = "full" if body["birth_date"] is not None and body["sex"] is not None else "band"
        assert shown == DISCLOSURE[role], f"{role}: {body['birth_date']!r} {body['sex']!r}"


# After the first worker moves from the sponsor (agency A) to the other sponsor (agency B), only the live
# sponsorship gives access: the old agency admin and the old sponsor lose the worker, the new ones get it.
MOVED = {
    ("worker-detail", "GET"): row(401, 200, 404, 404, 200, 404, 200, 200, 200),
    ("worker-detail", "PATCH"): only({AA: 404, OA: 200, RA: 200, SU: 200}),
    ("worker-coverage", "GET"): row(401, 200, 404, 404, 200, 404, 200, 200, 200),
    ("admin-worker-data-export", "GET"): only({AA: 404, OA: 200, RA: 200, SU: 200}),
}


@pytest.mark.parametrize("name,method", list(MOVED), ids=[f"{m} {n}" for n, m in MOVED])
def test_after_a_move_only_the_live_sponsorship_gives_access(name, method, regency):
    from sponsorship.people.models import Sponsorship
    from sponsorship.people.services.sponsorships import sponsorship_end

    world = build_world(with_money=False)
    worker, other_sponsor = world.objects["worker"], world.objects["other_sponsor"]
    live = Sponsorship.objects.get(worker=worker, status=Sponsorship.Status.ACTIVE)
    sponsorship_end(sponsorship=live, reason=Sponsorship.EndReason.SPONSOR_REQUEST)
    factories.sponsor_worker(other_sponsor, worker)
    url, body = call(world, name, method)
    observed = {}
    for role in ROLES:
        cache.clear()
        with transaction.atomic():
            response = getattr(client_as(world.user(role)), method.lower())(url, body, format="json")
            transaction.set_rollback(True)
        observed[role] = response.status_code
    wrong = {
        r: f"expected {MOVED[(name, method)][r]}, got {observed[r]}"
        for r in ROLES
        if MOVED[(name, method)][r] != observed[r]
    }
    assert not wrong, f"{method} {url}: {wrong}"
