# Two branches each added a 0003 (webhook evidence and clawbacks, the hand-over's invoice link); this joins them.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_webhook_evidence_refusals_clawbacks"),
        ("billing", "0003_invoice_replaces_handover"),
    ]

    operations = []
