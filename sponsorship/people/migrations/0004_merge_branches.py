# Three branches each added a 0003 (DTSEN deciles and collective groups, the access log, life events); this joins them.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0003_dtsen_deciles_collective_groups"),
        ("people", "0003_personal_data_access_log"),
        ("people", "0003_life_events"),
    ]

    operations = []
