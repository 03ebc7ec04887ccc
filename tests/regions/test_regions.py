import io
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sponsorship.regions.models import Region
from sponsorship.regions.services import RegionFileError, import_regions
from tests.factories import REGION_FILE, make_sponsor

pytestmark = pytest.mark.django_db


def test_one_regency_from_the_region_file():
    report = import_regions(REGION_FILE, only="35.02")
    assert Region.objects.filter(level=Region.Level.DISTRICT, parent__code="35.02").count() == 21
    villages = Region.objects.filter(level=Region.Level.VILLAGE, code__startswith="35.02.")
    assert villages.count() == 307
    assert report.created == 1 + 1 + 21 + 307
    village = Region.objects.get(code="35.02.17.1001")
    assert village.village_kind == "kelurahan" and village.parent.code == "35.02.17"
    assert village.parent.parent.parent.code == "35"
    assert Region.objects.filter(code__startswith="35.03").count() == 0


def test_reimport_updates_names_adds_codes_never_deletes(regency):
    make_sponsor(village_code="35.02.17.1001")  # a referenced village
    Region.objects.filter(code="35.02.17.1001").update(name="Nama Lama")
    csv = io.StringIO(
        "kode,nama\n35,Jawa Timur\n35.02,Kabupaten Ponorogo\n35.02.17,Ponorogo\n"
        "35.02.17.1001,Nama Baru\n35.02.17.2999,Desa Baru\n"
    )
    report = import_regions(csv)
    assert Region.objects.get(code="35.02.17.1001").name == "Nama Baru"
    assert Region.objects.get(code="35.02.17.2999").village_kind == "desa"
    assert report.created == 1 and report.updated == 1
    assert Region.objects.filter(code__startswith="35.02.01").exists()  # not in the file, not deleted


def test_malformed_row_reports_line_and_loads_nothing(db):
    csv = io.StringIO("kode,nama\n35,Jawa Timur\n35.02,Kabupaten Ponorogo\n35.2.01,Rusak\n35.02.01,\n")
    with pytest.raises(RegionFileError) as err:
        import_regions(csv)
    assert any("baris 4" in p for p in err.value.problems)
    assert any("baris 5" in p for p in err.value.problems)
    assert Region.objects.count() == 0


def test_orphan_code_is_rejected(db):
    with pytest.raises(RegionFileError) as err:
        import_regions(io.StringIO("kode,nama\n35.02.17,Ponorogo\n"))
    assert "induk 35.02" in err.value.problems[0]
    assert Region.objects.count() == 0


def test_command_reports_errors_without_traceback(tmp_path, db):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n35,Jawa Timur\n")
    with pytest.raises(CommandError, match="header"):
        call_command("import_regions", str(bad))


def _national_sized_file(path) -> int:
    """A region file the size of the national one (38 provinces, 514 regencies, ~7,200 districts, ~84,000
    villages), with real code shapes; the real file stays outside the repository."""
    rows = ["kode,nama"]
    for p in range(11, 49):
        rows.append(f"{p},Provinsi {p}")
        for r in range(1, 15):
            rows.append(f"{p}.{r:02d},Kabupaten {p}.{r:02d}")
            for d in range(1, 15):
                rows.append(f"{p}.{r:02d}.{d:02d},Kecamatan {p}.{r:02d}.{d:02d}")
                for v in range(1, 12):
                    rows.append(f"{p}.{r:02d}.{d:02d}.{2000 + v},Desa {v}")
    path.write_text("\n".join(rows) + "\n")
    return len(rows) - 1


@pytest.mark.slow
def test_a_national_sized_file_is_fast_and_idempotent(db, tmp_path):
    national = tmp_path / "wilayah.csv"
    total = _national_sized_file(national)
    started = time.perf_counter()
    report = import_regions(national)
    elapsed = time.perf_counter() - started
    assert report.read == total and Region.objects.count() == total
    assert elapsed < 60, f"national import took {elapsed:.1f}s"
    again = import_regions(national)
    assert again.created == 0 and again.updated == 0 and again.unchanged == total
