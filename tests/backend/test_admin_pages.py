"""Every model in the Django admin opens: its list, its add form (where adding is allowed) and one row's page.

The admin is split across the apps; a page that raises (a lost import, a field renamed under it) is a 500 for
the HR admin who opens it, so each registered model is opened once as a superuser (one test: the data is built
once).
"""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests import factories


@pytest.mark.django_db
def test_every_admin_page_opens(client, regency):
    factories.sponsor_worker(factories.make_sponsor(), factories.make_worker())
    superuser = factories.make_user(username="root-admin")
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    client.force_login(superuser)
    broken = []
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label):
        info = model._meta.app_label, model._meta.model_name
        pages = [
            (reverse("admin:{}_{}_changelist".format(*info)), (200,)),
            (reverse("admin:{}_{}_add".format(*info)), (200, 403)),
        ]
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            pages.append((reverse("admin:{}_{}_change".format(*info), args=[row.pk]), (200,)))
        broken += [f"{url}: {status}" for url, ok in pages if (status := client.get(url).status_code) not in ok]
    assert len(admin.site._registry) > 20
    assert broken == []
