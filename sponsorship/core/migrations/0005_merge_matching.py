from django.db import migrations


class Migration(migrations.Migration):
    """Joins the matching migrations with billing and dashboard (developed on parallel branches)."""

    dependencies = [
        ("sponsorship", "0003_dashboard_merge_billing"),
        ("sponsorship", "0003_matching"),
    ]
    operations = []
