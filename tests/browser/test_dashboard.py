"""The HR dashboard in headless Chromium: login, figures and charts, an import with a broken row."""

import pytest

from sponsorship.dashboard.demo.billing_history import generate
from sponsorship.people.models import Role, Worker
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "rahasia-uji-123"


@pytest.fixture
def demo_regency():
    regency = factories.load_ponorogo()
    agencies = [
        factories.make_agency(regency, name=n)
        for n in ("Dinas Kesehatan", "Dinas Sosial", "Dinas Pendidikan dan Kebudayaan")
    ]
    villages = ["35.02.17.1001", "35.02.17.1002", "35.02.01.2001"]
    for i in range(9):
        sponsor = factories.make_sponsor(
            agency=agencies[i % 3], capacity=2, full_name=f"ASN Uji {i}", village_code=villages[i % 3]
        )
        for j in range(2 if i % 3 else 1):
            worker = factories.make_worker(full_name=f"Pekerja {i}-{j}", village_code=villages[(i + j) % 3])
            factories.sponsor_worker(sponsor, worker)
    # Pledges made over the past year, so the twelve months of history have something to show.
    import datetime as dt

    from django.utils import timezone

    from sponsorship.people.models import Sponsorship

    for n, s in enumerate(Sponsorship.objects.order_by("pk")):
        Sponsorship.objects.filter(pk=s.pk).update(started_at=timezone.now() - dt.timedelta(days=30 * (12 - n % 10)))
    generate(months=12, seed=7)
    return factories.make_user("admin.kab.uji", Role.REGENCY_ADMIN, regency=regency, password=PASSWORD)


def login(page, base, username):
    page.goto(f"{base}/dashboard/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard/")


def test_dashboard_renders_figures_and_charts(live_server, page, screenshot, demo_regency):
    login(page, live_server.url, "admin.kab.uji")
    page.wait_for_selector("html[data-charts=ready]")
    assert "Kabupaten Ponorogo" in page.inner_text("[data-testid=scope]")
    assert page.locator("[data-testid=league] tbody tr").count() == 3
    assert "ASN aktif" in page.inner_text("[data-testid=kpis]")
    # Chart.js (vendored, no CDN) drew on the canvases.
    for canvas in ("#money-chart", "#coverage-chart"):
        drawn = page.eval_on_selector(canvas, "c => c.width > 0 && Chart.getChart(c) !== undefined")
        assert drawn, canvas
    assert page.js_errors == []
    screenshot(page, "dashboard-overview")
    page.click("text=Keuangan")
    page.wait_for_selector("[data-testid=money] tbody tr")
    assert page.locator("[data-testid=money] tbody tr").count() == 12
    screenshot(page, "dashboard-money")
    page.click("text=Cakupan desa")
    page.click("[data-testid=coverage] tbody tr >> nth=0 >> a")
    page.wait_for_selector("text=Cakupan desa di Kecamatan")
    screenshot(page, "dashboard-villages")


def test_import_with_a_broken_row_shows_the_report(live_server, page, screenshot, demo_regency, tmp_path):
    good = [factories.make_nik(), factories.make_nik(sex="F")]
    csv_text = "\n".join(
        [
            "No;NIK;Nama Lengkap;Pekerjaan;Kecamatan;Desa/Kelurahan;Kode Wilayah Desa;No. HP;"
            "Desil Kesejahteraan (1-10);No. KPJ;"
            "Cara Persetujuan;Tanggal Persetujuan;Versi Teks Persetujuan;NIP Pengampu",
            f"1;{good[0]};Paijo Santoso;Petani;;;35.02.17.1001;0812-1111-3333;2;;Tatap muka;01/02/2026;2026.1;",
            "2;35021714038;Nik Pendek;Petani;;;35.02.17.1001;;;;Tatap muka;01/02/2026;2026.1;",
            f"3;{good[1]};Painem;Buruh tani;;;35.02.17.1002;;3;;Formulir kertas;02/02/2026;2026.1;",
        ]
    )
    path = tmp_path / "pekerja-desa.csv"
    path.write_text(csv_text, encoding="utf-8")
    before = Worker.objects.count()
    login(page, live_server.url, "admin.kab.uji")
    page.click("text=Impor data")
    page.select_option("select[name=kind]", "workers")
    page.set_input_files("input[name=file]", str(path))
    page.click("text=Periksa berkas")
    page.wait_for_selector("[data-testid=problems]")
    report = page.inner_text("[data-testid=problems]")
    assert "NIK harus 16 digit" in report and "NIK" in report
    assert page.locator("[data-testid=problems] tbody tr td >> nth=0").inner_text() == "3"  # spreadsheet row
    assert page.locator("[data-testid=confirm-all]").count() == 0  # all-or-nothing is not offered
    assert Worker.objects.count() == before  # nothing written yet
    screenshot(page, "import-report")
    page.click("[data-testid=confirm-valid]")
    page.wait_for_selector("[data-testid=import-result]")
    assert "2 baru" in page.inner_text("[data-testid=import-result]")
    assert Worker.objects.count() == before + 2
    screenshot(page, "import-applied")


def test_non_admins_get_403(live_server, page, demo_regency):
    factories.make_user("asn.uji", Role.SPONSOR, password=PASSWORD)
    page.goto(f"{live_server.url}/dashboard/")
    page.fill("input[name=username]", "asn.uji")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert "Akses ditolak" in page.inner_text("h1")
