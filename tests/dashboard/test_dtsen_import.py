"""DTSEN decile import: matched by keyed hash, a round with history, a row report, the cut-off flag, matching."""

import datetime as dt

import pytest

from backend.api.errors import ApplicationError
from sponsorship.dashboard.models import ImportBatch
from sponsorship.dashboard.selectors import admin_scope
from sponsorship.dashboard.services import imports
from sponsorship.matching.services.runs import matching_run_preview, run_pairs
from sponsorship.people.models import DecileReview, DecileRound, Sponsorship, Worker, WorkerDecile
from sponsorship.people.services.deciles import decile_review_decide, worker_kk_set
from sponsorship.regions.models import RegencyConfig
from tests import factories
from tests.matching.conftest import HOME, NEAR, town, worker  # noqa: F401 - the town fixture

from .conftest import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db
HEADER = ["No", "NIK", "No. KK", "Desil (1-10)", "Tanggal Pemeringkatan"]
KK = "3502170101200001"


def preview(user, content, name="dtsen.xlsx"):
    return imports.import_preview(
        actor=user, scope=admin_scope(user), kind=ImportBatch.Kind.DTSEN, file_name=name, content=content
    )


def test_changed_deciles_change_the_next_matching_run(town, agency, regency_admin):
    sponsor = factories.make_sponsor(agency=agency, village_code=HOME, capacity=2)
    factories.sponsor_worker(sponsor, worker(HOME, full_name="Sudah Diampu"))  # one free slot left
    poor_before = worker(NEAR, decile=2, full_name="Dulu Miskin")
    poor_now = worker(NEAR, decile=8, full_name="Kini Miskin")
    run, _ = matching_run_preview(regency=town, radius_m=5000, actor=regency_admin)
    assert run_pairs(run)[:, 1].tolist() == [poor_before.pk]

    content = xlsx_bytes(
        [
            HEADER,
            [1, poor_now.nik, "", 1, "01/10/2026"],
            [2, poor_before.nik, "", 9, "01/10/2026"],
            [3, factories.make_nik(), "", 3, "01/10/2026"],  # a household we do not know
        ]
    )
    batch = preview(regency_admin, content)
    assert batch.problems == []
    assert batch.report["counts"] == {
        "matched": 2,
        "not_found": 1,
        "invalid": 0,
        "unchanged": 0,
        "changed": 2,
        "flagged": 0,
    }
    assert poor_now.nik not in batch.payload and poor_before.nik not in batch.payload  # no clear NIK kept
    result = imports.import_confirm(batch=batch, actor=regency_admin)
    assert (result["changed"], result["not_found"]) == (2, 1)
    assert Worker.objects.get(pk=poor_now.pk).welfare_decile == 1
    round_ = DecileRound.objects.get(regency=town, ranked_on=dt.date(2026, 10, 1))
    history = WorkerDecile.objects.get(worker=poor_before, round=round_)
    assert (history.previous_decile, history.decile) == (2, 9)

    run, created = matching_run_preview(regency=town, radius_m=5000, actor=regency_admin)
    assert created
    assert run_pairs(run)[:, 1].tolist() == [poor_now.pk]

    again = preview(regency_admin, content)  # the same file twice: nothing changes
    assert again.report["counts"]["unchanged"] == 2
    assert imports.import_confirm(batch=again, actor=regency_admin)["unchanged"] == 2
    assert WorkerDecile.objects.filter(round=round_).count() == 2


def test_rising_above_the_cutoff_flags_and_the_admin_decides(town, agency, regency_admin):
    RegencyConfig.objects.filter(regency=town).update(decile_cutoff=4)
    sponsor = factories.make_sponsor(agency=agency, village_code=HOME, capacity=3)
    kept, ended = worker(HOME, decile=2), worker(HOME, decile=3)
    unmatched = worker(NEAR, decile=1)
    for w in (kept, ended):
        factories.sponsor_worker(sponsor, w)
    worker_kk_set(worker=unmatched, kk=KK, actor=regency_admin)
    content = csv_bytes(
        [
            HEADER,
            [1, kept.nik, "", 6, "2026-10-01"],
            [2, ended.nik, "", 7, "2026-10-01"],
            [3, "", KK, 8, "2026-10-01"],  # by family card only
            [4, "123", "", 11, "2099-01-01"],  # invalid in three cells
        ]
    )
    batch = preview(regency_admin, content, "dtsen.csv")
    counts = batch.report["counts"]
    assert (counts["matched"], counts["flagged"], counts["invalid"]) == (3, 3, 1)
    assert {p["column"] for p in batch.problems} == {"NIK", "Desil (1-10)", "Tanggal Pemeringkatan"}
    with pytest.raises(ApplicationError):  # all-or-nothing refuses a file with invalid rows
        imports.import_confirm(batch=batch, actor=regency_admin)
    imports.import_confirm(batch=batch, actor=regency_admin, mode=ImportBatch.Mode.VALID_ONLY)
    flagged = Worker.objects.filter(decile_review=DecileReview.PENDING)
    assert set(flagged.values_list("pk", flat=True)) == {kept.pk, ended.pk, unmatched.pk}
    # flagged, not dropped: both sponsorships still run; the unmatched one is no longer proposed
    assert Sponsorship.objects.filter(worker__in=[kept, ended], status=Sponsorship.Status.ACTIVE).count() == 2
    run, _ = matching_run_preview(regency=town, radius_m=5000, actor=regency_admin)
    assert unmatched.pk not in run_pairs(run)[:, 1].tolist()

    decile_review_decide(worker=kept, decision="keep", actor=regency_admin)
    decile_review_decide(worker=ended, decision="end", actor=regency_admin)
    assert Sponsorship.objects.get(worker=kept).status == Sponsorship.Status.ACTIVE
    assert Sponsorship.objects.get(worker=ended).status == Sponsorship.Status.ENDED
    with pytest.raises(ApplicationError) as exc:
        decile_review_decide(worker=ended, decision="end", actor=regency_admin)
    assert exc.value.status_code == 409


def test_agency_admin_cannot_import_deciles(regency, agency_admin):
    with pytest.raises(ApplicationError) as exc:
        preview(agency_admin, xlsx_bytes([HEADER, [1, factories.make_nik(), "", 3, "01/10/2026"]]))
    assert exc.value.status_code == 403


def test_quarterly_reminder_when_a_round_is_due(regency, regency_admin):
    from backend.celery import app, beat_schedule
    from notifications.models import Notification
    from sponsorship.dashboard.services.dtsen_reminders import dtsen_reminders_send

    entry = beat_schedule()["dtsen-round-reminder"]
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery of every app's tasks
    assert entry["task"] in app.tasks
    assert dtsen_reminders_send(today=dt.date(2026, 10, 5)) == 0  # no cut-off, no round: not a DTSEN regency
    DecileRound.objects.create(regency=regency, ranked_on=dt.date(2026, 7, 1))
    assert dtsen_reminders_send(today=dt.date(2026, 9, 30)) == 0  # due 1 October
    assert dtsen_reminders_send(today=dt.date(2026, 10, 1)) == 1
    assert dtsen_reminders_send(today=dt.date(2026, 10, 2)) == 0  # once per due round
    note = Notification.objects.get(recipient=regency_admin, kind="dtsen_round_due")
    assert "DTSEN" in note.title and "Juli 2026" in note.body
    DecileRound.objects.create(regency=regency, ranked_on=dt.date(2026, 10, 1))
    assert dtsen_reminders_send(today=dt.date(2026, 11, 1)) == 0


def test_decile_history_is_in_the_access_export_and_gone_after_erasure(regency, regency_admin):
    from sponsorship.people.services.deciles import decile_round_get, worker_decile_record
    from sponsorship.people.services.privacy import worker_anonymise, worker_data_export

    w = factories.make_worker(decile=4)
    worker_kk_set(worker=w, kk=KK)
    round_ = decile_round_get(regency=regency, ranked_on=dt.date(2026, 7, 1))
    assert worker_decile_record(worker_id=w.pk, round_=round_, decile=2, cutoff=None) == "changed"
    exported = worker_data_export(worker=Worker.objects.get(pk=w.pk), actor=regency_admin)
    assert exported["welfare_deciles"] == [{"ranked_on": "2026-07-01", "source": "dtsen", "decile": 2}]
    worker_anonymise(worker=w, actor=regency_admin, reason="request")
    w.refresh_from_db()
    assert (w.kk_hash, w.welfare_decile) == ("", None)
    assert not WorkerDecile.objects.filter(worker=w).exists()


def test_dtsen_upload_through_the_api_answers_the_row_report(api, regency_admin, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    w = factories.make_worker(decile=5)
    upload = SimpleUploadedFile("dtsen.csv", csv_bytes([HEADER, [1, w.nik, "", 2, "01/10/2026"]]))
    response = api(regency_admin).post("/api/v1/admin/imports/", {"kind": "dtsen", "file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["report"]["counts"]["changed"] == 1
    batch_id = response.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):  # the confirm task runs after the commit
        confirmed = api(regency_admin).post(f"/api/v1/admin/imports/{batch_id}/confirm/", {}, format="json")
    assert confirmed.status_code == 202, confirmed.content
    applied = api(regency_admin).get(f"/api/v1/admin/imports/{batch_id}/").json()
    assert applied["status"] == "applied" and applied["result"]["changed"] == 1
    template = api(regency_admin).get("/api/v1/admin/imports/templates/dtsen/?download=csv")
    assert template.status_code == 200 and "Tanggal Pemeringkatan" in template.content.decode("utf-8-sig")


def test_dtsen_import_in_the_web_dashboard_shows_the_row_report(regency_admin, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    w = factories.make_worker(decile=5)
    client = Client()
    client.force_login(regency_admin)
    rows = [HEADER, [1, w.nik, "", 2, "01/10/2026"], [2, factories.make_nik(), "", 3, "01/10/2026"]]
    upload = SimpleUploadedFile("dtsen.xlsx", xlsx_bytes(rows))
    response = client.post("/dashboard/imports/", {"kind": "dtsen", "file": upload})
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert 'data-testid="dtsen-report"' in page and 'data-testid="dtsen-not-found"' in page
    with django_capture_on_commit_callbacks(execute=True):  # the confirm task runs after the commit
        client.post(response.url, {"action": "all"})
    done = client.get(response.url).content.decode()
    assert "1 desil berubah" in done and "1 tidak ditemukan" in done
    assert Worker.objects.get(pk=w.pk).welfare_decile == 2


def test_the_worker_roster_takes_a_family_card_number_for_dtsen_matching(regency_admin):
    from .test_imports import WORKER_HEADER

    header = [*WORKER_HEADER, "No. KK"]
    nik = factories.make_nik()
    row = [1, nik, "Paijo", "Petani", "", "", "35.02.17.1001", "", 6, "", "Tatap muka", "01/02/2026", "2026.1", "", KK]
    batch = imports.import_preview(
        actor=regency_admin,
        scope=admin_scope(regency_admin),
        kind=ImportBatch.Kind.WORKERS,
        file_name="w.xlsx",
        content=xlsx_bytes(
            [
                header,
                row,
                [
                    2,
                    factories.make_nik(),
                    "Bad",
                    "Petani",
                    "",
                    "",
                    "35.02.17.1001",
                    "",
                    "",
                    "",
                    "Tatap muka",
                    "01/02/2026",
                    "2026.1",
                    "",
                    "12345",
                ],
            ]
        ),
    )
    assert [p["column"] for p in batch.problems] == ["No. KK"]
    imports.import_confirm(batch=batch, actor=regency_admin, mode=ImportBatch.Mode.VALID_ONLY)
    worker = Worker.objects.get(full_name="Paijo")
    assert worker.kk_hash and KK not in str(Worker.objects.filter(pk=worker.pk).values().first())
    dtsen = preview(regency_admin, xlsx_bytes([HEADER, [1, "", KK, 2, "01/10/2026"]]))
    assert dtsen.report["counts"]["changed"] == 1
