from django.urls import path

from . import access_log_views
from . import privacy_views as v

urlpatterns = [
    path("worker/my-data/", v.MyDataView.as_view(), name="worker-my-data"),
    path("worker/my-data/erase/", v.MyDataEraseView.as_view(), name="worker-my-data-erase"),
    path("admin/workers/<int:pk>/data-export/", v.AdminWorkerDataView.as_view(), name="admin-worker-data-export"),
    path("admin/workers/<int:pk>/anonymise/", v.AdminWorkerAnonymiseView.as_view(), name="admin-worker-anonymise"),
    path(
        "admin/personal-data-access/",
        access_log_views.PersonalDataAccessList.as_view(),
        name="admin-personal-data-access",
    ),
]
