"""MatchingRun.distance: the distance mode of a run ("exact": proven by the solver's dual certificate, "fast":
the restricted polish only).

Runs made before this migration were all solved without the exact distance step, so they are marked "fast";
the field's default for new runs is then "exact".
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
        migrations.AlterField(
            model_name="matchingrun",
            name="distance",
            field=models.CharField(choices=CHOICES, default="exact", max_length=5),
        ),
    ]
