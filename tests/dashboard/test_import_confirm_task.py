"""Import confirm runs in a task: the request answers at once, progress is visible, nothing is applied twice.

Before: a 50,000-row confirm ran ~6 minutes inside one request. Now the request marks the batch APPLYING and
queues `apply_import_batch` after commit (eager where there is no broker, as every task here).
"""

import pytest
from django.core.cache import cache

from sponsorship.core.models import AuditLog
from sponsorship.dashboard import tasks
from sponsorship.dashboard.models import ImportBatch
from sponsorship.dashboard.services import imports
from sponsorship.people.models import Sponsor

from .conftest import csv_bytes
from .test_imports import preview, sponsor_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_worker(settings):
    """A broker nobody consumes: queued tasks wait, as in production while the worker is busy or down."""
    from backend.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    yield
    app.conf.task_always_eager = True


def test_confirm_queues_the_apply_and_a_second_confirm_queues_nothing(
    api, regency_admin, agency, no_worker, django_capture_on_commit_callbacks
):
    batch = preview(regency_admin, "sponsors", "asn.csv", csv_bytes(sponsor_rows(agency.name)))
    client = api(regency_admin)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        first = client.post(f"/api/v1/admin/imports/{batch.pk}/confirm/", {"mode": "all"}, format="json")
    assert first.status_code == 202 and first.json()["status"] == "applying"
    assert first.json()["progress"] == {"done": 0, "total": 2}
    assert len(queued) == 1 and not Sponsor.objects.exists()
    # A double click, or a retried request: the same batch, still applying, no second task.
    with django_capture_on_commit_callbacks(execute=True) as again:
        second = client.post(f"/api/v1/admin/imports/{batch.pk}/confirm/", {"mode": "valid_only"}, format="json")
    assert second.status_code == 202 and second.json()["mode"] == "all" and again == []
    assert AuditLog.objects.filter(action="import.confirm").count() == 1

    # The worker picks it up (twice: a redelivery after a lost ack changes nothing).
    result = tasks.apply_import_batch.apply(args=[batch.pk, regency_admin.pk, None]).get()
    assert result["created"] == 2
    assert tasks.apply_import_batch.apply(args=[batch.pk, regency_admin.pk, None]).get() is None
    assert Sponsor.objects.count() == 2
    body = client.get(f"/api/v1/admin/imports/{batch.pk}/").json()
    assert body["status"] == "applied" and body["progress"] == {"done": 2, "total": 2}
    assert AuditLog.objects.filter(action="import.apply").count() == 1
    # Confirming an applied import is refused.
    done = client.post(f"/api/v1/admin/imports/{batch.pk}/confirm/", {"mode": "all"}, format="json")
    assert done.status_code == 409 and done.json()["code"] == "already_done"


def test_progress_is_read_from_the_cache_while_applying(regency_admin, agency, no_worker):
    batch = preview(regency_admin, "sponsors", "asn.csv", csv_bytes(sponsor_rows(agency.name)))
    batch = imports.import_confirm_request(batch=batch, actor=regency_admin, mode="all")
    assert batch.status == ImportBatch.Status.APPLYING
    cache.set(f"import-progress:{batch.pk}", 1, 60)
    assert imports.import_progress(batch) == {"done": 1, "total": 2}


def test_the_sweep_queues_a_lost_apply_again(regency_admin, agency, settings, django_capture_on_commit_callbacks):
    from django.utils import timezone

    batch = preview(regency_admin, "sponsors", "asn.csv", csv_bytes(sponsor_rows(agency.name)))
    # Confirmed 20 minutes ago; its message was lost (the on-commit callback never ran).
    imports.import_confirm_request(batch=batch, actor=regency_admin, mode="all")
    ImportBatch.objects.filter(pk=batch.pk).update(confirmed_at=timezone.now() - timezone.timedelta(minutes=20))
    assert tasks.sweep_applying_imports.apply().get() == 1  # eager: the apply runs here
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED and Sponsor.objects.count() == 2


def test_an_all_or_nothing_apply_that_fails_goes_back_to_preview_with_the_problem(
    api, regency_admin, agency, django_capture_on_commit_callbacks
):
    batch = preview(regency_admin, "sponsors", "asn.csv", csv_bytes(sponsor_rows(agency.name)))
    rows = imports.batches.json.loads(ImportBatch.objects.get(pk=batch.pk).payload)
    rows[1]["village_id"] = 0  # the village vanished since the preview: the second row fails while saving
    ImportBatch.objects.filter(pk=batch.pk).update(payload=imports.batches.json.dumps(rows))
    with django_capture_on_commit_callbacks(execute=True):
        r = api(regency_admin).post(f"/api/v1/admin/imports/{batch.pk}/confirm/", {"mode": "all"}, format="json")
    assert r.status_code == 202
    body = api(regency_admin).get(f"/api/v1/admin/imports/{batch.pk}/").json()
    assert body["status"] == "previewed" and body["result"]["rolled_back"] is True
    assert not Sponsor.objects.exists()
