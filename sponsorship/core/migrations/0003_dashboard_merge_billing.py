# Merges the dashboard and billing branches' migrations (the lead may replace it with the integration merge).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("sponsorship", "0003_dashboard"),
        ("sponsorship", "0004_billing_rates"),
    ]
    operations = []
