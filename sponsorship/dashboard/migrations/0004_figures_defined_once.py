"""Issue 13: every dashboard figure defined once (docs/figures.md).

The summary loses its "expected" column (expected = collected + outstanding + written off, added up by the
selectors), and "paid on time" is judged on the date in the regency's zone (RegencyConfig.timezone) instead of
Jakarta's for everyone. Installing the .sql files again rebuilds the table, so past months follow the new rules.
Reverse: nothing to undo (the objects stay as installed).
"""

from django.db import migrations

from sponsorship.dashboard.summary_sql import install_summary_sql


def install(apps, schema_editor):
    install_summary_sql(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0003_labels")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
