# Four branches each added a 0003 (channels, the DTSEN reminder kind, the ledger alert kind, the life-event kinds);
# this joins them.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_channels_consent_delivery"),
        ("notifications", "0003_kind_dtsen_round_due"),
        ("notifications", "0003_ledger_alert_kind"),
        ("notifications", "0003_life_event_kinds"),
    ]

    operations = []
