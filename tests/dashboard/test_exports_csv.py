"""CSV exports: no cell can run as a formula, whether Excel splits the file on ',' or on ';' (Indonesian locale)."""

import csv
import io
import re

import pytest

from backend.api.errors import ApplicationError
from sponsorship.dashboard.services.exports import Table, table_export

HOSTILE = [
    "=1+1",
    "+62812",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    ' =HYPERLINK("http://x")',
    'Siti;=HYPERLINK("http://x","klik")',
    "Siti; =cmd|' /C calc'!A0",
    'Siti;"=1+1"',
    "Agus,+1",
    "Budi,@x",
    "Dewi;-1+2",
    "Eko\t=1",
    "Rini\n=1",
    "biasa saja",
]
DANGER = re.compile(r'^[\s"]*[=+\-@]')


def _cells(text: str, delimiter: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for cell in row]


def _pieces(text: str) -> list[str]:
    """Every piece Excel could make a cell of: the file split on either separator, quotes or not."""
    return [p for cell in _cells(text, ",") + _cells(text, ";") for p in re.split(r"[;,\t\r\n]", cell)] + [
        p for line in text.splitlines() for p in re.split(r"[;,\t]", line)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("sep,delimiter", [("comma", ","), ("semicolon", ";")])
def test_no_piece_of_any_cell_starts_a_formula(sep, delimiter, regency_admin):
    table = Table(name="t", title="T", columns=[("name", "Nama"), ("n", "Angka")], rows=[])
    rows = [{"name": value, "n": -5} for value in HOSTILE]
    out = table_export(actor=regency_admin, table=Table(**{**table.__dict__, "rows": rows}), fmt="csv", sep=sep)
    text = out.content.decode("utf-8-sig")
    cells = _cells(text, delimiter)
    assert cells[:2] == ["Nama", "Angka"] and len(cells) == 2 * (len(HOSTILE) + 1)
    dangerous = [p for p in _pieces(text) if DANGER.match(p) and p.strip() != "-5"]
    assert dangerous == []
    # Data stays readable: only an apostrophe is added; numbers stay numbers.
    assert cells[2:4] == ["'=1+1", "-5"] and "biasa saja" in cells


@pytest.mark.django_db
def test_semicolon_csv_from_the_api_and_the_dashboard(api, web_client, regency_admin, agency):
    agency.name = "Dinas A; =cmd|' /C calc'!A0"
    agency.save()
    r = api(regency_admin).get("/api/v1/admin/dashboard/agencies/?download=csv&sep=semicolon")
    assert r.status_code == 200, r.content
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].count(";") >= 3 and "; '=cmd" in text
    bad = api(regency_admin).get("/api/v1/admin/dashboard/agencies/?download=csv&sep=tab")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    page = web_client(regency_admin).get("/dashboard/export/agencies.csv?sep=semicolon")
    assert page.status_code == 200 and "; '=cmd" in page.content.decode("utf-8-sig")
    assert "sep=semicolon" in web_client(regency_admin).get("/dashboard/").content.decode()


def test_an_unknown_separator_is_refused():
    table = Table(name="t", title="T", columns=[("a", "A")], rows=[])
    with pytest.raises(ApplicationError):
        table_export(actor=None, table=table, fmt="csv", sep="pipe")


@pytest.fixture
def web_client():
    from django.test import Client

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make
