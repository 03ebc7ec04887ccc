"""The BPU rate table as rows (domain.md §2): the standard package and the PP 50/2025 discount periods.

PP 50/2025 halves JKK + JKM for BPU: transport Jan 2026 – Mar 2027, other sectors Apr 2026 – Dec 2026,
not for premiums paid from APBN/APBD (so only sponsor- and self-funded rows get the discount).
Fixed-date national holidays for 2026–2027 are loaded too; admins add the moving ones.
"""

import datetime as dt

from django.db import migrations

D = dt.date
RATES = [
    dict(
        name="BPU JKK+JKM standar (PP 44/2015)",
        valid_from=D(2015, 7, 1),
        valid_to=None,
        sector="any",
        funding_source="any",
        discount_pct=0,
        priority=0,
        legal_basis="PP 44/2015",
    ),
]
for source in ("sponsor", "self"):
    RATES += [
        dict(
            name=f"Diskon PP 50/2025 transportasi ({source})",
            valid_from=D(2026, 1, 1),
            valid_to=D(2027, 3, 31),
            sector="transport",
            funding_source=source,
            discount_pct=50,
            priority=10,
            legal_basis="PP 50/2025",
        ),
        dict(
            name=f"Diskon PP 50/2025 non-transportasi ({source})",
            valid_from=D(2026, 4, 1),
            valid_to=D(2026, 12, 31),
            sector="non_transport",
            funding_source=source,
            discount_pct=50,
            priority=10,
            legal_basis="PP 50/2025",
        ),
    ]
HOLIDAYS = [
    (D(y, m, d), name)
    for y in (2026, 2027)
    for (m, d, name) in [
        (1, 1, "Tahun Baru Masehi"),
        (5, 1, "Hari Buruh Internasional"),
        (6, 1, "Hari Lahir Pancasila"),
        (8, 17, "Hari Kemerdekaan RI"),
        (12, 25, "Hari Raya Natal"),
    ]
]


def load(apps, schema_editor):
    PremiumRate = apps.get_model("sponsorship", "PremiumRate")
    Holiday = apps.get_model("sponsorship", "Holiday")
    for row in RATES:
        PremiumRate.objects.get_or_create(name=row["name"], valid_from=row["valid_from"], defaults=row)
    for date, name in HOLIDAYS:
        Holiday.objects.get_or_create(date=date, defaults={"name": name})


def unload(apps, schema_editor):
    apps.get_model("sponsorship", "PremiumRate").objects.filter(name__in=[r["name"] for r in RATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("sponsorship", "0003_billing")]
    operations = [migrations.RunPython(load, unload)]
