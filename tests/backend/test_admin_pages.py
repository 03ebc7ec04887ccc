"""Every model in the Django admin opens: its list, its add form (where adding is allowed) and one row's page.

The admin is split across the apps; a page that raises (a lost import, a field renamed under it) is a 500 for
the HR admin who opens it, so each registered model is opened once as a superuser.
"""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests import factories


def _registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model,model_admin", _registered(), ids=lambda v: getattr(getattr(v, "_meta", None), "label", "")
)
def test_admin_pages_open(client, regency, model, model_admin):
    factories.sponsor_worker(factories.make_sponsor(), factories.make_worker())
    superuser = factories.make_user(username="root-admin")
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    client.force_login(superuser)
    info = model._meta.app_label, model._meta.model_name
    assert client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200
    assert client.get(reverse("admin:{}_{}_add".format(*info))).status_code in (200, 403)
    row = model._default_manager.order_by("pk").first()
    if row is not None:
        assert client.get(reverse("admin:{}_{}_change".format(*info), args=[row.pk])).status_code == 200
