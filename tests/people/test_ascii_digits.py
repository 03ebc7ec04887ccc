"""Identifiers accept ASCII digits only (issue 14, finding 4): full-width, Arabic-Indic or superscript digits pass
str.isdigit() but hash differently (the same person registered twice) and some break int() (500)."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from sponsorship.people.identifiers import (
    IdentifierError,
    ascii_digits,
    normalize_kpj,
    normalize_phone,
    parse_nik,
    parse_nip,
)
from sponsorship.people.models import Role, Worker
from tests import factories

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
FOREIGN = [FULL_WIDTH, ARABIC_INDIC, SUPERSCRIPT]


@pytest.mark.parametrize("table", FOREIGN, ids=["full-width", "arabic-indic", "superscript"])
def test_every_identifier_parser_refuses_non_ascii_digits(table):
    nik = factories.make_nik()
    for parse, value in [
        (parse_nik, nik),
        (lambda v: parse_nip(v, kind="pns"), factories.make_nip()),
        (normalize_phone, "081234567890"),
        (normalize_kpj, "12345678901"),
        (lambda v: ascii_digits(v, "KK"), "3502171234560001"),
    ]:
        parse(value)  # the ASCII form is fine
        with pytest.raises(IdentifierError) as caught:
            parse(value.translate(table))
        assert "angka" in str(caught.value.message)  # "... hanya boleh berisi angka (0-9)"


@pytest.mark.django_db
@pytest.mark.parametrize("table", [FULL_WIDTH, SUPERSCRIPT], ids=["full-width", "superscript"])
def test_the_same_nik_in_other_digits_is_not_a_second_worker(regency, table):
    """Before: 201 and a second worker for the full-width NIK (409 for the ASCII one); 500 for superscript."""
    admin = factories.make_user("admin.kab.digits", Role.REGENCY_ADMIN, regency=regency)
    existing = factories.make_worker(full_name="Slamet")
    client = APIClient()
    client.force_authenticate(admin)
    body = {
        "nik": existing.nik.translate(table),
        "full_name": "Slamet Lagi",
        "occupation": "petani",
        "village": "35.02.17.1001",
        "consent": {"channel": "in_person", "text_version": "2026.1"},
    }
    response = client.post("/api/v1/workers/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    assert "0-9" in str(response.json())
    assert Worker.objects.count() == 1


@pytest.mark.django_db
def test_anonymous_worker_sign_in_with_superscript_digits_is_400_not_500(regency):
    cache.clear()
    worker = factories.make_worker(full_name="Slamet")
    response = APIClient().post(
        "/api/v1/worker/auth/",
        {"nik": worker.nik.translate(SUPERSCRIPT), "birth_date": worker.birth_date.isoformat()},
        format="json",
    )
    assert response.status_code == 400, response.content
    cache.clear()


@pytest.mark.django_db
def test_nomination_with_superscript_digits_is_400_not_500(regency):
    agency = factories.make_agency(regency, name="Dinas Pendidikan dan Kebudayaan")
    sponsor = factories.make_sponsor(agency=agency, capacity=3)
    client = APIClient()
    client.force_authenticate(sponsor.user)
    response = client.post(
        "/api/v1/sponsor/nominations/",
        {
            "nik": factories.make_nik().translate(SUPERSCRIPT),
            "full_name": "Sumini",
            "phone": "0813¹¹¹¹2222",
            "occupation": "petani",
            "village": "35.02.17.1001",
            "relationship": "neighbour",
            "consent_channel": "in_person",
            "consent_text_version": "2026.1",
        },
        format="json",
    )
    assert response.status_code == 400, response.content


@pytest.mark.django_db
def test_import_rows_with_foreign_digits_are_problems_not_500(regency):
    from sponsorship.dashboard.selectors import admin_scope
    from sponsorship.dashboard.services import imports
    from sponsorship.dashboard.services.imports import template_csv

    admin = factories.make_user("admin.kab.import", Role.REGENCY_ADMIN, regency=regency)
    header = template_csv("workers")
    header = header if isinstance(header, bytes) else header.encode()
    rows = [
        f"1,{factories.make_nik('35.02.17.1003').translate(SUPERSCRIPT)},Wagiyo,petani,,,35.02.17.1003,,3,,"
        "in_person,2026-01-05,2026.1,",
        f"2,{factories.make_nik('35.02.17.1003', sex='F')},Wagini,petani,,,35.02.17.1003,,³,,"
        "in_person,2026-01-05,2026.1,",
        f"3,{factories.make_nik('35.02.17.1003', birth=__import__('datetime').date(1990, 1, 2))},Wakidi,petani,,,"
        "35.02.17.1003,0812３４５６７８９0,3,,in_person,2026-01-05,2026.1,",
    ]
    content = header + ("\r\n".join(rows) + "\r\n").encode()
    batch = imports.import_preview(
        actor=admin, scope=admin_scope(admin), kind="workers", file_name="pekerja.csv", content=content
    )
    rows_with_problems = {p["row"] for p in batch.problems}
    assert rows_with_problems == {2, 3, 4}, batch.problems
