"""MatchingRun.distance: the distance mode of a run ("exact": proven by the solver's dual certificate, "fast":
the restricted polish only).

Runs made before this migration were all solved without the exact distance step, so they are "fast", which is
also the default (settings.MATCHING_RUN_DISTANCE picks the mode of a new run).
"""

from django.db import migrations, models

CHOICES = [("exact", "Jarak optimal (terbukti ≤0,5%)"), ("fast", "Cepat")]


class Migration(migrations.Migration):
    dependencies = [
        ("sponsorship", "0007_billfix_refunds_wib_on_time"),
    ]

    operations = [
        migrations.AddField(
            model_name="matchingrun",
            name="distance",
            field=models.CharField(choices=CHOICES, default="fast", max_length=5),
        ),
    ]
