"""Django admin edits of sponsors and workers go through the people services: validated and audited."""

import pytest
from django.contrib.auth import get_user_model

from sponsorship.core.models import AuditLog
from sponsorship.people.models import Sponsor, Worker
from tests import factories


def _form_data(page, **changes) -> dict:
    """The change form as the browser would post it back, with `changes` typed in."""
    form = page.context["adminform"].form
    data = {"_save": "Simpan"}
    for name in form.fields:
        value = form.initial.get(name)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for sub in formset.initial_forms:
            data[f"{sub.prefix}-id"] = sub.instance.pk
            data[f"{sub.prefix}-{formset.fk.name}"] = formset.instance.pk
    data.update(changes)
    return data


@pytest.fixture
def superuser_client(client, regency):
    root = get_user_model().objects.create_superuser("root", "root@example.test", "pw-123456")
    client.force_login(root)
    client.user = root
    return client


@pytest.mark.django_db
def test_admin_sponsor_change_is_audited_with_before_and_after(superuser_client, agency):
    sponsor = factories.make_sponsor(agency=agency, capacity=2)
    url = f"/admin/people/sponsor/{sponsor.pk}/change/"
    page = superuser_client.get(url)
    assert page.status_code == 200
    response = superuser_client.post(url, _form_data(page, full_name="Budi Santoso, M.Pd.", capacity=3))
    assert response.status_code == 302, response.content.decode()[:2000]
    sponsor.refresh_from_db()
    assert sponsor.full_name == "Budi Santoso, M.Pd." and sponsor.capacity == 3
    row = AuditLog.objects.get(action="sponsor.update", object_id=str(sponsor.pk))
    assert row.actor == superuser_client.user and row.extra["source"] == "admin"
    assert row.before["full_name"] == "Budi Santoso" and row.after["full_name"] == "Budi Santoso, M.Pd."
    assert row.before["capacity"] == 2 and row.after["capacity"] == 3


@pytest.mark.django_db
def test_admin_sponsor_change_is_validated_by_the_service(superuser_client, agency):
    sponsor = factories.make_sponsor(agency=agency, capacity=3)
    for _ in range(3):
        factories.sponsor_worker(sponsor, factories.make_worker())
    url = f"/admin/people/sponsor/{sponsor.pk}/change/"
    response = superuser_client.post(url, _form_data(superuser_client.get(url), capacity=2))
    assert response.status_code == 200  # the form again, with the service's message
    assert "ASN ini sudah mengampu 3 pekerja" in response.content.decode()
    assert Sponsor.objects.get(pk=sponsor.pk).capacity == 3
    assert not AuditLog.objects.filter(action="sponsor.update").exists()


@pytest.mark.django_db
def test_admin_sponsor_identity_and_status_are_read_only(superuser_client, agency):
    sponsor = factories.make_sponsor(agency=agency)
    page = superuser_client.get(f"/admin/people/sponsor/{sponsor.pk}/change/")
    assert not {"nip", "asn_type", "birth_date", "sex", "status", "user"} & set(page.context["adminform"].form.fields)


@pytest.mark.django_db
def test_admin_worker_change_is_audited_with_before_and_after(superuser_client):
    worker = factories.make_worker(decile=3)
    url = f"/admin/people/worker/{worker.pk}/change/"
    response = superuser_client.post(url, _form_data(superuser_client.get(url), welfare_decile=1))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Worker.objects.get(pk=worker.pk).welfare_decile == 1
    row = AuditLog.objects.get(action="worker.update", object_id=str(worker.pk))
    assert row.actor == superuser_client.user and row.extra == {"fields": ["welfare_decile"], "source": "admin"}
    assert row.before["welfare_decile"] == 3 and row.after["welfare_decile"] == 1
