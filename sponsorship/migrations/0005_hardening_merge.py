# Local merge of the feature branches' migrations so the hardening branch can run every endpoint.
# The lead's own merge migration replaces this one on main (delete this file when integrating).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("sponsorship", "0003_dashboard_merge_billing"),
        ("sponsorship", "0003_matching"),
    ]
    operations = []
