"""Hostile roster files: forged dimensions, zip bombs, oversized uploads, undecodable or UTF-16 CSV.

Each must end as a 4xx with a message a person understands (or be read correctly), in bounded memory and time.
"""

import codecs
import io
import re
import time
import tracemalloc
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from sponsorship.dashboard.services import imports
from sponsorship.dashboard.services.imports.readers import MAX_COLUMNS, read_table

from .conftest import csv_bytes, xlsx_bytes
from .test_imports import SPONSOR_HEADER, preview, sponsor_rows


def _rewrite_sheet(content: bytes, edit) -> bytes:
    """The same workbook with xl/worksheets/sheet1.xml passed through `edit` (how a forged file is made)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = edit(data.decode()).encode()
            target.writestr(item, data)
    return out.getvalue()


def _forged_dimension(rows: int, ref_rows: int) -> bytes:
    data = [SPONSOR_HEADER] + [[i] for i in range(rows)]
    return _rewrite_sheet(
        xlsx_bytes(data), lambda xml: re.sub(r'<dimension ref="[^"]*" ?/>', f'<dimension ref="A1:XFD{ref_rows}"/>', xml)
    )


def _peak_mib(fn) -> tuple[object, float]:
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak / 2**20


def test_a_forged_dimension_does_not_pad_rows_to_16384_columns():
    content = _forged_dimension(rows=2001, ref_rows=2002)
    assert len(content) < 30_000
    rows, peak = _peak_mib(lambda: read_table("asn.xlsx", content))
    assert len(rows) == 2002
    assert max(len(values) for _, values in rows) <= MAX_COLUMNS
    # Before: 2,002 rows x 16,384 cells, ~260 MiB. Now the rows as written, a few MiB.
    assert peak < 40, f"peak {peak:.0f} MiB"


def test_the_million_row_dimension_and_a_row_numbered_past_excel_are_bounded(settings):
    content = _forged_dimension(rows=3, ref_rows=1_048_576)
    started = time.monotonic()
    rows, peak = _peak_mib(lambda: read_table("asn.xlsx", content))
    assert len(rows) == 4 and peak < 40
    assert time.monotonic() - started < 5
    # A row numbered 2,000,000 would otherwise make the reader yield two million blank rows before it.
    far = _rewrite_sheet(
        xlsx_bytes([SPONSOR_HEADER, [1]]),
        lambda xml: xml.replace('<row r="2"', '<row r="2000000"').replace(' r="A2"', ' r="A2000000"'),
    )
    with pytest.raises(imports.FileProblem) as exc:
        read_table("asn.xlsx", far)
    assert exc.value.code == "too_many_rows"


def test_rows_past_the_limit_stop_the_reading(settings):
    settings.IMPORT_MAX_ROWS = 10
    with pytest.raises(imports.FileProblem) as exc:
        read_table("asn.xlsx", xlsx_bytes([SPONSOR_HEADER] + [[i, "x"] for i in range(50)]))
    assert exc.value.code == "too_many_rows"
    with pytest.raises(imports.FileProblem):
        read_table("asn.csv", csv_bytes([SPONSOR_HEADER] + [[i, "x"] for i in range(50)]))


def test_a_zip_bomb_is_refused_before_it_is_inflated():
    content = xlsx_bytes([SPONSOR_HEADER, [1, "x"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/sharedStrings.xml" or item.filename == "xl/worksheets/sheet1.xml":
                data = data + b" " * (60 * 1024 * 1024)  # 60 MiB of blanks deflate to ~60 KiB
            target.writestr(item, data)
    bomb = out.getvalue()
    assert len(bomb) < 500_000
    started = time.monotonic()
    with pytest.raises(imports.FileProblem) as exc:
        read_table("asn.xlsx", bomb)
    assert exc.value.code == "file_too_large"
    assert time.monotonic() - started < 2


@pytest.mark.django_db
def test_an_oversized_upload_is_a_413_before_it_is_read(api, regency_admin, settings):
    settings.IMPORT_MAX_BYTES = 1024
    r = api(regency_admin).post(
        "/api/v1/admin/imports/",
        {"kind": "sponsors", "file": SimpleUploadedFile("asn.csv", b"x" * 4096)},
        format="multipart",
    )
    assert r.status_code == 413, r.content
    assert r.json()["code"] == "file_too_large" and "MB" in r.json()["message"]


# -- CSV encodings --------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_undecodable_csv_bytes_are_a_clear_4xx_not_a_500(api, regency_admin):
    content = b"NIP,Nama\r\n\x81\x8d\x8f\x90\x9d,\xff\xfe\r\n"  # neither UTF-8 nor cp1252
    r = api(regency_admin).post(
        "/api/v1/admin/imports/",
        {"kind": "sponsors", "file": SimpleUploadedFile("asn.csv", content)},
        format="multipart",
    )
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "unreadable_file" and "CSV UTF-8" in r.json()["message"]


@pytest.mark.django_db
def test_utf16_csv_with_a_bom_is_decoded_and_without_one_is_refused(regency_admin, agency):
    text = "\n".join("\t".join(str(v) for v in row) for row in sponsor_rows(agency.name)) + "\n"
    batch = preview(regency_admin, "sponsors", "asn.csv", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert batch.problems == [] and batch.valid_rows == 2
    with pytest.raises(imports.FileProblem) as exc:
        preview(regency_admin, "sponsors", "asn.csv", text.encode("utf-16-le"))
    assert exc.value.code == "unreadable_file"


@pytest.mark.django_db
def test_cells_found_by_the_fuzz_are_row_problems(regency_admin, agency):
    """An infinite number where a NIK goes and a superscript decile raised OverflowError / ValueError (a 500)."""
    from openpyxl import Workbook

    from .test_imports import WORKER_HEADER

    wb = Workbook()
    ws = wb.active
    ws.append(WORKER_HEADER)
    ws.append([1, float("inf"), "Sri", "petani", "", "", "35.02.17.1001", "", "²", "", "Tatap muka", "01/01/2026"])
    out = io.BytesIO()
    wb.save(out)
    batch = preview(regency_admin, "workers", "w.xlsx", out.getvalue())
    assert {p["column"] for p in batch.problems} >= {"NIK", "Desil Kesejahteraan (1-10)"}
