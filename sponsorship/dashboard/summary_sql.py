"""Installs the dashboard's money summary (table, functions, triggers) from the .sql files in `sql/`.

The files are the one place the summary's rules are written. Each is idempotent, so installing again is safe:
after a restore, after editing a file (with a migration that calls `install_summary_sql` again), or by hand
(`manage.py install_summary_sql`).
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

SQL_DIR = Path(__file__).resolve().parent / "sql"
# In order: the functions read the table (SQL functions are checked when created), the triggers call the functions.
SQL_FILES = ("summary_table.sql", "summary_functions.sql", "summary_triggers.sql")


def summary_sql() -> list[tuple[str, str]]:
    """(file name, text) of each file, in installation order."""
    return [(name, (SQL_DIR / name).read_text(encoding="utf-8")) for name in SQL_FILES]


def install_summary_sql(target: BaseDatabaseWrapper | BaseDatabaseSchemaEditor, *, rebuild: bool = True) -> None:
    """Runs the summary's .sql files on a connection (or a migration's schema editor), then recomputes the table
    from the raw rows unless `rebuild` is False. One transaction: writers wait for it instead of slipping between
    a trigger's drop and its creation.

    PostgreSQL refuses DDL on a table with pending trigger events (deferred foreign-key checks), so run it where the
    transaction has not written to the invoice, coverage or sponsor tables yet: a migration of its own, the command."""
    connection = target.connection if isinstance(target, BaseDatabaseSchemaEditor) else target
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for _name, sql in summary_sql():
            cursor.execute(sql)  # no parameters: the simple protocol runs every statement of the file
        if rebuild:
            cursor.execute("SELECT sponsorship_dash_rebuild()")
