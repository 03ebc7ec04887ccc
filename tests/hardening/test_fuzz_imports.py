"""Fuzzing the roster import: whatever the bytes or cells, the preview writes a report or refuses the file.

Any other exception (a 500 for the admin who uploads it) fails. Bounded for CI by FUZZ_MAX_EXAMPLES.
"""

import csv
import io
import os

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from backend.api.errors import ApplicationError
from sponsorship.dashboard.selectors import admin_scope
from sponsorship.dashboard.services import imports
from sponsorship.dashboard.services.imports.readers import COLUMNS
from tests import factories

pytestmark = pytest.mark.django_db
EXAMPLES = max(int(os.environ.get("FUZZ_MAX_EXAMPLES", "2")) * 10, 20)

HOSTILE_TEXT = st.sampled_from(
    [
        "",
        '=HYPERLINK("http://x")',
        "a\x00b",
        "３５０２１７１４０３８５０００１",  # full-width digits
        "3502171403850001",
        "¹²³",
        "0812 3456 7890",
        "01/01/0001",
        "31/02/2026",
        "A" * 300,
        "𝟘𝟙𝟚",
        "\u202e",
        "Tatap muka",
        "petani",
        "35.02.17.1001",
        "99999999999999999999999999",
        "-1",
        "1e309",
    ]
)
CELL = st.one_of(HOSTILE_TEXT, st.text(max_size=40), st.integers(), st.floats(allow_nan=True), st.none())


def _preview(user, kind, name, content):
    """Preview, then apply the valid rows: each step answers or refuses with a message, nothing else."""
    from django.db import transaction

    try:
        with transaction.atomic():
            batch = imports.import_preview(
                actor=user, scope=admin_scope(user), kind=kind, file_name=name, content=content
            )
            if batch.valid_rows:
                imports.import_confirm(batch=batch, actor=user, mode="valid_only")
            transaction.set_rollback(True)
    except ApplicationError:
        pass  # a refusal with a message is a correct answer


@pytest.fixture
def admin(regency):
    factories.make_agency(regency, name="Dinas Pendidikan dan Kebudayaan")
    return factories.make_user("fuzz.admin", "regency_admin", regency=regency)


def test_fuzz_csv_cells(admin):
    @hsettings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        kind=st.sampled_from(["workers", "sponsors"]),
        rows=st.lists(st.lists(CELL, max_size=16), max_size=6),
        delimiter=st.sampled_from([",", ";", "\t"]),
    )
    def run(kind, rows, delimiter):
        out = io.StringIO()
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow([c.header for c in COLUMNS[kind]])
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
        _preview(admin, kind, "f.csv", out.getvalue().encode("utf-8", "surrogatepass"))

    run()


def test_fuzz_raw_bytes(admin):
    @hsettings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        content=st.one_of(
            st.binary(max_size=2000),
            st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b),
            st.binary(max_size=200).map(lambda b: b"\xff\xfe" + b),
        ),
        name=st.sampled_from(["f.csv", "f.xlsx", "f.txt", "f.xls", "f"]),
    )
    def run(content, name):
        _preview(admin, "workers", name, content)

    run()


def test_fuzz_xlsx_cells(admin):
    from openpyxl import Workbook

    @hsettings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(rows=st.lists(st.lists(CELL, max_size=16), max_size=5))
    def run(rows):
        wb = Workbook()
        ws = wb.active
        ws.append([c.header for c in COLUMNS["workers"]])
        for row in rows:
            try:
                ws.append([v if not isinstance(v, str) else v.replace("\x00", "") for v in row])
            except Exception:  # openpyxl refuses some characters itself; such a file cannot exist
                return
        out = io.BytesIO()
        wb.save(out)
        _preview(admin, "workers", "f.xlsx", out.getvalue())

    run()
