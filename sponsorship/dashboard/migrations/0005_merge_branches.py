# Three branches each added a 0004 (figures defined once, the DTSEN report, the confirm task's progress); this joins them.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0004_figures_defined_once"),
        ("dashboard", "0004_importbatch_dtsen_report"),
        ("dashboard", "0004_importbatch_confirm_task_progress"),
    ]

    operations = []
