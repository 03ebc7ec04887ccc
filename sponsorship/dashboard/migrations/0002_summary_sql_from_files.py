"""The dashboard's money summary (table, functions, triggers) now comes from sponsorship/dashboard/sql/*.sql.

The definitions are the ones 0006_perf_dash and 0007_billfix_refunds_wib_on_time left in the database (paid on
time by the WIB date); installing them again changes no rule and recomputes the table. Later rule changes edit the
.sql files and add a migration like this one. Reverse: nothing to undo (the objects stay as 0007 made them).
"""

from django.db import migrations

from sponsorship.dashboard.summary_sql import install_summary_sql


def install(apps, schema_editor):
    install_summary_sql(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_initial"),
        ("sponsorship", "0009_models_move_to_domain_apps"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
