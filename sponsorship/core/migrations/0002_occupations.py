"""The occupation categories of informal workers (../shared/domain.md §5), with the transport flag."""

from django.db import migrations

OCCUPATIONS = [
    ("petani", "Petani", "Farmer", False),
    ("buruh-tani", "Buruh tani", "Farm hand", False),
    ("petani-tembakau", "Petani/buruh tembakau", "Tobacco farmer or hand", False),
    ("nelayan", "Nelayan", "Fisher", False),
    ("peternak", "Peternak", "Herder", False),
    ("pedagang-kecil", "Pedagang kecil", "Small trader", False),
    ("mlijo", "Pedagang sayur keliling (mlijo)", "Mobile vegetable seller", False),
    ("ojek", "Pengemudi ojek", "Ojek driver", True),
    ("sopir", "Sopir angkutan", "Driver", True),
    ("kurir", "Kurir", "Courier", True),
    ("tukang-becak", "Tukang becak", "Becak driver", True),
    ("buruh-bangunan", "Buruh bangunan", "Construction labourer", False),
    ("art", "Asisten rumah tangga", "Household helper", False),
    ("satpam", "Satpam", "Security guard", False),
    ("juru-parkir", "Juru parkir", "Parking attendant", False),
    ("pemulung", "Pemulung", "Scavenger", False),
    ("guru-ngaji", "Guru ngaji", "Quran teacher", False),
    ("marbot", "Marbot masjid", "Mosque caretaker", False),
    ("kader-kesehatan", "Kader posyandu/KB", "Village health or family-planning cadre", False),
    ("lainnya", "Lainnya", "Other", False),
]


def load(apps, schema_editor):
    Occupation = apps.get_model("sponsorship", "Occupation")
    for code, name, name_en, transport in OCCUPATIONS:
        Occupation.objects.update_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "is_transport": transport}
        )


class Migration(migrations.Migration):
    dependencies = [("sponsorship", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
