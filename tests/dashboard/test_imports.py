"""Roster imports: row-by-row report in Indonesian, all-or-nothing by default, valid-only on request, idempotent."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.api.errors import ApplicationError
from sponsorship.core.models import AuditLog
from sponsorship.dashboard.models import ImportBatch
from sponsorship.dashboard.selectors import admin_scope
from sponsorship.dashboard.services import imports
from sponsorship.people.models import Sponsor, Sponsorship, Worker
from tests import factories

from .conftest import csv_bytes, xlsx_bytes

SPONSOR_HEADER = [
    "No",
    "NIP / NI PPPK",
    "Nama Lengkap",
    "Jenis ASN (PNS/PPPK)",
    "OPD / Unit Kerja",
    "Kecamatan Domisili",
    "Desa/Kelurahan Domisili",
    "Kode Wilayah Desa",
    "No. HP",
    "Jumlah Pekerja Diampu (2/3)",
]
WORKER_HEADER = [
    "No",
    "NIK",
    "Nama Lengkap",
    "Pekerjaan",
    "Kecamatan",
    "Desa/Kelurahan",
    "Kode Wilayah Desa",
    "No. HP",
    "Desil Kesejahteraan (1-10)",
    "No. KPJ",
    "Cara Persetujuan",
    "Tanggal Persetujuan",
    "Versi Teks Persetujuan",
    "NIP Pengampu",
]


def sponsor_rows(agency_name):
    return [
        SPONSOR_HEADER,
        [
            1,
            factories.make_nip(),
            "Siti Rahayu, S.Pd.",
            "PNS",
            agency_name,
            "Ponorogo",
            "Mangkujayan",
            "",
            "0812 3456 7001",
            2,
        ],
        [2, factories.make_nip(), "Agus Wibowo", "", agency_name, "", "", "35.02.17.1001", "", 3],
    ]


@pytest.fixture
def village_names():
    from sponsorship.regions.models import Region

    v = Region.objects.get(code="35.02.17.1001")
    return v.parent.name, v.name


def preview(user, kind, name, content):
    return imports.import_preview(actor=user, scope=admin_scope(user), kind=kind, file_name=name, content=content)


@pytest.mark.django_db
def test_valid_sponsor_roster_imports_and_reimport_updates(regency_admin, agency, village_names):
    agency.short_name = "Dindikbud"
    agency.save()
    district, village = village_names
    rows = sponsor_rows(agency.name)
    rows[1][5], rows[1][6] = district, f"Desa {village}"
    rows[2][4] = "dindikbud"  # the short name works too
    batch = preview(regency_admin, "sponsors", "asn.xlsx", xlsx_bytes(rows))
    assert batch.problems == [] and batch.valid_rows == 2 and batch.total_rows == 2
    assert Sponsor.objects.count() == 0  # preview writes nothing
    result = imports.import_confirm(batch=batch, actor=regency_admin)
    assert result["created"] == 2
    siti = Sponsor.objects.get(full_name="Siti Rahayu, S.Pd.")
    assert siti.phone == "+6281234567001" and siti.home_village.code == "35.02.17.1001"
    # The same file again (one name corrected): updated, never duplicated.
    rows[1][2] = "Siti Rahayu"
    again = preview(regency_admin, "sponsors", "asn.csv", csv_bytes(rows, delimiter=";"))
    result = imports.import_confirm(batch=again, actor=regency_admin)
    assert result == {**result, "created": 0, "updated": 1, "unchanged": 1}
    assert Sponsor.objects.count() == 2
    assert Sponsor.objects.filter(full_name="Siti Rahayu").exists()
    assert AuditLog.objects.filter(action="sponsor.update", extra__source="import").count() == 1
    assert AuditLog.objects.filter(action="import.apply").count() == 2


@pytest.mark.django_db
def test_broken_rows_are_reported_by_row_and_column_and_nothing_is_imported(regency_admin, agency):
    rows = sponsor_rows(agency.name)
    rows.append([3, "19850314 201003 1 0", "Nip Pendek", "PNS", agency.name, "", "", "35.02.17.1001", "", 2])
    rows.append([4, factories.make_nip(), "", "PNS", "Dinas Tidak Ada", "", "", "99.99.99.9999", "12345", 5])
    rows.append([5, rows[1][1], "Dobel", "PNS", agency.name, "", "", "35.02.17.1001", "", 2])
    batch = preview(regency_admin, "sponsors", "asn.xlsx", xlsx_bytes(rows))
    assert batch.valid_rows == 2 and batch.error_rows == 3
    by_row = {}
    for p in batch.problems:
        by_row.setdefault(p["row"], []).append((p["column"], p["problem"]))
    assert [c for c, _ in by_row[4]] == ["NIP / NI PPPK"]
    assert "18 digit" in by_row[4][0][1]
    columns_5 = {c for c, _ in by_row[5]}
    assert columns_5 == {
        "Nama Lengkap",
        "OPD / Unit Kerja",
        "Desa/Kelurahan Domisili",
        "No. HP",
        "Jumlah Pekerja Diampu (2/3)",
    }
    assert any("tidak dikenal" in m for _, m in by_row[5])
    assert "baris 2" in by_row[6][0][1]
    # All-or-nothing (the default) refuses while rows are broken.
    with pytest.raises(Exception) as exc:
        imports.import_confirm(batch=batch, actor=regency_admin)
    assert getattr(exc.value, "code", "") == "has_problems"
    assert Sponsor.objects.count() == 0
    # The admin chooses "valid rows only" after seeing the report.
    result = imports.import_confirm(batch=batch, actor=regency_admin, mode="valid_only")
    assert result["created"] == 2 and result["skipped"] == 3
    assert Sponsor.objects.count() == 2
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED
    with pytest.raises(ApplicationError):
        imports.import_confirm(batch=batch, actor=regency_admin, mode="valid_only")  # once only
    assert Sponsor.objects.count() == 2


@pytest.mark.django_db
def test_nik_typed_as_a_number_in_excel_is_caught(regency_admin, agency):
    nik = factories.make_nik()
    rows = [
        WORKER_HEADER,
        [
            1,
            int(nik),
            "Slamet",
            "Petani",
            "",
            "",
            "35.02.17.1001",
            81234567890,
            3,
            "",
            "Tatap muka",
            "01/02/2026",
            "2026.1",
            "",
        ],
    ]
    batch = preview(regency_admin, "workers", "pekerja.xlsx", xlsx_bytes(rows))
    assert batch.valid_rows == 0
    assert batch.problems[0]["column"] == "NIK"
    assert "angka di Excel" in batch.problems[0]["problem"]


@pytest.mark.django_db
def test_worker_list_with_consent_and_sponsor_link(regency_admin, agency):
    sponsor = factories.make_sponsor(agency=agency, capacity=2)
    existing = factories.make_worker(full_name="Lama Sekali")
    niks = [factories.make_nik(sex="F"), factories.make_nik()]
    rows = [
        WORKER_HEADER,
        [
            1,
            niks[0],
            "Sulastri",
            "Asisten rumah tangga",
            "",
            "",
            "35.02.17.1001",
            "0813-1111-2222",
            2,
            "",
            "Tatap muka",
            "03/02/2026",
            "2026.1",
            sponsor.nip,
        ],
        [
            2,
            niks[1],
            "Karyono",
            "ojek",
            "",
            "",
            "35.02.17.1001",
            "",
            "",
            "",
            "Formulir kertas",
            "2026-02-04",
            "2026.1",
            "",
        ],
        [3, existing.nik, "Lama Sekali Diperbarui", "Nelayan", "", "", "35.02.17.1001", "", 1, "", "", "", "", ""],
        [4, factories.make_nik(), "Tanpa Persetujuan", "Petani", "", "", "35.02.17.1001", "", "", "", "", "", "", ""],
        [
            5,
            factories.make_nik(),
            "Pekerjaan Aneh",
            "Astronot",
            "",
            "",
            "35.02.17.1001",
            "",
            11,
            "123",
            "Surat",
            "31/02/2026",
            "2026.1",
            "199001012020011999",
        ],
    ]
    batch = preview(regency_admin, "workers", "pekerja.xlsx", xlsx_bytes(rows))
    problems = {(p["row"], p["column"]) for p in batch.problems}
    assert {(5, "Cara Persetujuan"), (5, "Tanggal Persetujuan"), (5, "Versi Teks Persetujuan")} <= problems
    assert {
        (6, "Pekerjaan"),
        (6, "Desil Kesejahteraan (1-10)"),
        (6, "No. KPJ"),
        (6, "Cara Persetujuan"),
        (6, "Tanggal Persetujuan"),
    } <= problems
    assert batch.valid_rows == 3
    # The stored rows hold NIKs: encrypted at rest.
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("select payload from sponsorship_importbatch where id = %s", [batch.pk])
        assert niks[0] not in cur.fetchone()[0]
    result = imports.import_confirm(batch=batch, actor=regency_admin, mode="valid_only")
    assert result["created"] == 2 and result["updated"] == 1
    sulastri = Worker.objects.get(full_name="Sulastri")
    assert sulastri.sex == "F" and sulastri.occupation.code == "art"
    assert sulastri.consents.get().channel == "in_person"
    assert Sponsorship.objects.get(worker=sulastri, status="active").sponsor == sponsor
    existing.refresh_from_db()
    assert existing.full_name == "Lama Sekali Diperbarui" and existing.welfare_decile == 1
    assert Worker.objects.count() == 3


@pytest.mark.django_db
def test_capacity_is_checked_across_the_file(regency_admin, agency):
    sponsor = factories.make_sponsor(agency=agency, capacity=2)
    rows = [WORKER_HEADER] + [
        [
            i,
            factories.make_nik(),
            f"Pekerja {i}",
            "Petani",
            "",
            "",
            "35.02.17.1001",
            "",
            "",
            "",
            "Tatap muka",
            "01/02/2026",
            "2026.1",
            sponsor.nip,
        ]
        for i in range(1, 4)
    ]
    batch = preview(regency_admin, "workers", "pekerja.csv", csv_bytes(rows))
    assert batch.valid_rows == 2
    assert batch.problems[0]["row"] == 4 and "Kuota" in batch.problems[0]["problem"]


@pytest.mark.django_db
def test_all_or_nothing_rolls_back_when_a_row_fails_while_saving(regency_admin, agency):
    sponsor = factories.make_sponsor(agency=agency, capacity=2)
    rows = [WORKER_HEADER] + [
        [
            i,
            factories.make_nik(),
            f"Pekerja {i}",
            "Petani",
            "",
            "",
            "35.02.17.1001",
            "",
            "",
            "",
            "Tatap muka",
            "01/02/2026",
            "2026.1",
            sponsor.nip,
        ]
        for i in range(1, 3)
    ]
    batch = preview(regency_admin, "workers", "pekerja.csv", csv_bytes(rows))
    assert batch.problems == []
    # Between preview and confirm, someone else fills the sponsor's last slot.
    factories.sponsor_worker(sponsor, factories.make_worker())
    with pytest.raises(Exception) as exc:
        imports.import_confirm(batch=batch, actor=regency_admin)
    assert exc.value.code == "rolled_back"
    assert Worker.objects.count() == 1  # nothing of the file was kept
    batch.refresh_from_db()
    assert batch.status == "previewed" and batch.problems and batch.problems[-1]["row"] == 3


@pytest.mark.django_db
def test_agency_admin_imports_only_their_agency(agency_admin, agency, other_agency):
    rows = [
        SPONSOR_HEADER,
        [1, factories.make_nip(), "Milik Saya", "PNS", "", "", "", "35.02.17.1001", "", 2],
        [2, factories.make_nip(), "Milik Lain", "PNS", other_agency.name, "", "", "35.02.17.1001", "", 2],
    ]
    batch = preview(agency_admin, "sponsors", "asn.xlsx", xlsx_bytes(rows))
    assert batch.valid_rows == 1
    assert "bukan OPD Anda" in batch.problems[0]["problem"]
    imports.import_confirm(batch=batch, actor=agency_admin, mode="valid_only")
    assert Sponsor.objects.get().agency == agency


@pytest.mark.django_db
def test_unreadable_files_and_missing_columns(regency_admin, regency):
    with pytest.raises(imports.FileProblem):
        preview(regency_admin, "sponsors", "asn.xlsx", b"PK\x03\x04 not really a zip")
    with pytest.raises(imports.FileProblem):
        preview(regency_admin, "sponsors", "asn.xls", b"\xd0\xcf\x11\xe0")
    with pytest.raises(imports.FileProblem):
        preview(regency_admin, "sponsors", "asn.csv", b"")
    batch = preview(regency_admin, "sponsors", "asn.csv", csv_bytes([["Nama", "Alamat"], ["a", "b"]]))
    assert {p["column"] for p in batch.problems} >= {"NIP / NI PPPK", "OPD / Unit Kerja"}
    assert all(p["row"] == 1 for p in batch.problems)


@pytest.mark.django_db
def test_templates_are_readable_by_the_importer(regency_admin, regency):
    from openpyxl import load_workbook

    for kind in ("sponsors", "workers"):
        wb = load_workbook(io.BytesIO(imports.template_xlsx(kind)))
        assert wb.sheetnames == ["Data", "Petunjuk"]
        header = [c.value for c in wb["Data"][1]]
        assert header == [c.header for c in imports.COLUMNS[kind]]
        # A template with only a header is "empty", not a crash.
        with pytest.raises(imports.FileProblem):
            preview(regency_admin, kind, "t.xlsx", imports.template_xlsx(kind))
        assert imports.template_csv(kind).decode("utf-8-sig").startswith("No,")


# -- HTTP --------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_import_api_preview_confirm_and_permissions(
    api, regency_admin, agency, sponsor, django_capture_on_commit_callbacks
):
    content = xlsx_bytes(sponsor_rows(agency.name) + [[9, "123", "", "", "", "", "", "", "", ""]])
    client = api(regency_admin)
    r = client.post(
        "/api/v1/admin/imports/",
        {"kind": "sponsors", "file": SimpleUploadedFile("asn.xlsx", content)},
        format="multipart",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["valid_rows"] == 2 and body["error_rows"] == 1
    assert all(set(p) == {"row", "column", "problem"} for p in body["problems"])
    pk = body["id"]
    r = client.post(f"/api/v1/admin/imports/{pk}/confirm/", {"mode": "all"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "has_problems"
    with django_capture_on_commit_callbacks(execute=True):  # the apply task is queued after commit (eager here)
        r = client.post(f"/api/v1/admin/imports/{pk}/confirm/", {"mode": "valid_only"}, format="json")
    assert r.status_code == 202 and r.json()["status"] == "applying"
    r = client.get(f"/api/v1/admin/imports/{pk}/")
    assert r.status_code == 200 and r.json()["status"] == "applied"
    assert r.json()["progress"] == {"done": 2, "total": 2}
    assert r.json()["result"]["created"] == 2
    # Sponsors and workers cannot import; an agency admin of another agency cannot see the batch.
    assert api(sponsor.user).post("/api/v1/admin/imports/", {"kind": "sponsors"}).status_code == 403
    other_admin = factories.make_user("admin.lain", "agency_admin", agency=factories.make_agency(name="Dinas Lain"))
    assert api(other_admin).get(f"/api/v1/admin/imports/{pk}/").status_code == 404
    assert api(regency_admin).get("/api/v1/admin/imports/templates/workers/").status_code == 200
    assert api(regency_admin).get("/api/v1/admin/imports/templates/nope/").status_code == 404
    r = client.post("/api/v1/admin/imports/", {"kind": "sponsors"}, format="multipart")
    assert r.status_code == 400
