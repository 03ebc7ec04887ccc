"""Routes of issue 6: worker sign-in and status, the sponsor's overview, the HR admins' dashboard and imports."""
from django.urls import path

from . import admin_dashboard_imports as imports_api
from . import admin_dashboard_views as dash
from . import overview_views, worker_auth, worker_status

urlpatterns = [
    path("worker/auth/", worker_auth.WorkerSignInView.as_view(), name="worker-auth"),
    path("worker/status/", worker_status.WorkerStatusView.as_view(), name="worker-status"),
    path("sponsor/overview/", overview_views.SponsorOverviewView.as_view(), name="sponsor-overview"),
    path("sponsor/receipts/<int:pk>/", overview_views.SponsorReceiptView.as_view(), name="sponsor-receipt"),
    path("sponsor/statements/<int:year>/", overview_views.SponsorStatementView.as_view(), name="sponsor-statement"),
    path("admin/dashboard/summary/", dash.SummaryView.as_view(), name="admin-dashboard-summary"),
    path("admin/dashboard/agencies/", dash.AgencyLeagueView.as_view(), name="admin-dashboard-agencies"),
    path("admin/dashboard/coverage/", dash.CoverageView.as_view(), name="admin-dashboard-coverage"),
    path("admin/dashboard/money/", dash.MoneyView.as_view(), name="admin-dashboard-money"),
    path("admin/dashboard/arrears/", dash.ArrearsView.as_view(), name="admin-dashboard-arrears"),
    path("admin/dashboard/arrears/<int:sponsor_id>/remind/", dash.ArrearsRemindView.as_view(),
         name="admin-dashboard-arrears-remind"),
    path("admin/imports/", imports_api.ImportListCreate.as_view(), name="admin-imports"),
    path("admin/imports/templates/<str:kind>/", imports_api.ImportTemplate.as_view(), name="admin-import-template"),
    path("admin/imports/<int:pk>/", imports_api.ImportDetail.as_view(), name="admin-import-detail"),
    path("admin/imports/<int:pk>/confirm/", imports_api.ImportConfirm.as_view(), name="admin-import-confirm"),
]
