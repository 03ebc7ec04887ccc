"""The summary's table, functions and triggers come from sponsorship/dashboard/sql/*.sql through one idempotent
installer: installing again leaves every definition as it was, and the summary still equals the raw figures."""

import pytest
from django.core.management import call_command
from django.db import connection

from sponsorship.dashboard.summary_sql import SQL_DIR, SQL_FILES, install_summary_sql

from .test_money_views import history  # noqa: F401  (fixture)
from .test_summary_agrees import assert_agrees, rebuilt, table

FUNCTIONS = {
    "sponsorship_dash_add",
    "sponsorship_dash_sponsor_months",
    "sponsorship_dash_rebuild",
    "sponsorship_dash_lines_ins",
    "sponsorship_dash_lines_del",
    "sponsorship_dash_lines_upd",
    "sponsorship_dash_cover_ins",
    "sponsorship_dash_cover_del",
    "sponsorship_dash_cover_upd",
    "sponsorship_dash_invoice_ins",
    "sponsorship_dash_invoice_del",
    "sponsorship_dash_invoice_upd",
    "sponsorship_dash_sponsor_move",
    "sponsorship_dash_local_date",
    "sponsorship_dash_zone_changed",
    "sponsorship_dash_recompute",
}
TRIGGERS = (
    FUNCTIONS
    - {
        "sponsorship_dash_add",
        "sponsorship_dash_sponsor_months",
        "sponsorship_dash_rebuild",
        "sponsorship_dash_local_date",
        "sponsorship_dash_recompute",
    }
) | {"sponsorship_dash_zone_added", "sponsorship_dash_zone_removed"}
INDEXES = {
    "sponsorship_dash_agency_month_pkey",
    "sponsorship_invoice_open_due",
    "sponsorship_worker_village_id_id",
    "sponsorship_sponsorship_active_worker",
    "sponsorship_coveragemonth_month_cover",
    "sponsorship_invoice_refunded",
}


def settle():
    """The fixture's writes leave deferred foreign-key checks pending, and PostgreSQL refuses DDL on a table with
    pending trigger events; check them now, as a commit would (a real install runs in its own transaction)."""
    connection.check_constraints()


def definitions() -> dict:
    """What pg_dump -s would print for the summary: functions, triggers, indexes and the table's columns."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p "
            "WHERE p.proname LIKE 'sponsorship\\_dash\\_%%' AND p.pronamespace = 'public'::regnamespace"
        )
        functions = dict(cur.fetchall())
        cur.execute(
            "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "WHERE t.tgname LIKE 'sponsorship\\_dash\\_%%' AND NOT t.tgisinternal"
        )
        triggers = dict(cur.fetchall())
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [sorted(INDEXES)])
        indexes = dict(cur.fetchall())
        cur.execute(
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_name = 'sponsorship_dash_agency_month' ORDER BY ordinal_position"
        )
        columns = cur.fetchall()
    return {"functions": functions, "triggers": triggers, "indexes": indexes, "columns": columns}


def test_the_files_are_where_the_installer_and_the_package_look():
    # pyproject's package-data ships "*.sql" of every package, so `pip install .` carries these files along
    assert all((SQL_DIR / name).is_file() for name in SQL_FILES)
    assert SQL_DIR.parent.name == "dashboard"


@pytest.mark.django_db
def test_installing_twice_leaves_every_definition_unchanged(history):  # noqa: F811
    before = definitions()  # as the migrations left them (0006, 0007, then dashboard 0002 from the files)
    assert set(before["functions"]) == FUNCTIONS
    assert set(before["triggers"]) == TRIGGERS
    assert set(before["indexes"]) == INDEXES
    assert [c[0] for c in before["columns"]] == [
        "agency_id",
        "month",
        "outstanding_idr",
        "collected_idr",
        "remitted_idr",
        "paid_invoices",
        "paid_on_time",
    ]
    # the on-time rule (the payment's date in the regency's zone) is written once, and used in all five places
    zoned = [name for name, sql in before["functions"].items() if "AT TIME ZONE" in sql]
    assert zoned == ["sponsorship_dash_local_date"]
    on_time = [name for name, sql in before["functions"].items() if "sponsorship_dash_local_date(" in sql]
    assert sorted(on_time) == sorted(
        [
            "sponsorship_dash_invoice_ins",
            "sponsorship_dash_invoice_del",
            "sponsorship_dash_invoice_upd",
            "sponsorship_dash_sponsor_months",
            "sponsorship_dash_recompute",
            "sponsorship_dash_local_date",
        ]
    )
    assert not any("AT TIME ZONE 'UTC'" in sql for sql in before["functions"].values())

    summary = table()
    assert summary  # the fixture's invoices and payments are in it
    settle()
    install_summary_sql(connection)
    install_summary_sql(connection)
    assert definitions() == before
    assert table() == summary == rebuilt()


@pytest.mark.django_db
def test_the_command_reinstalls_dropped_triggers_and_rebuilds(history, regency_admin):  # noqa: F811
    from sponsorship.dashboard.selectors import admin_scope

    before = definitions()
    summary = table()
    settle()
    with connection.cursor() as cur:  # as after restoring a dump taken without the summary's objects
        cur.execute(
            "DROP TRIGGER sponsorship_dash_invoice_upd ON sponsorship_invoice; "
            "DROP TRIGGER sponsorship_dash_lines_ins ON sponsorship_invoiceline; "
            "DROP FUNCTION sponsorship_dash_sponsor_move() CASCADE; "
            "DELETE FROM sponsorship_dash_agency_month;"
        )
    call_command("install_summary_sql")
    assert definitions() == before
    assert table() == summary
    # and the triggers work again: every write path still agrees with the raw figures
    assert_agrees([admin_scope(regency_admin)])


@pytest.mark.django_db
def test_no_rebuild_leaves_the_rows_alone(history):  # noqa: F811
    with connection.cursor() as cur:
        cur.execute("UPDATE sponsorship_dash_agency_month SET outstanding_idr = outstanding_idr + 1")
    drifted = table()
    settle()
    call_command("install_summary_sql", "--no-rebuild")
    assert table() == drifted
    call_command("install_summary_sql")
    assert table() == rebuilt() != drifted
