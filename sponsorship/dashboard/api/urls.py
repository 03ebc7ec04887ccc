"""Routes of the HR admins' dashboard API and roster imports."""

from django.urls import path

from . import imports as imports_api
from . import jobs as jobs_api
from . import payroll as payroll_api
from . import regency_settings as regency_settings_api
from . import views as dash

urlpatterns = [
    path("admin/regency-settings/", regency_settings_api.RegencySettingsView.as_view(), name="admin-regency-settings"),
    path("admin/regency-settings/rates/", regency_settings_api.RegencyRatesView.as_view(), name="admin-regency-rates"),
    path("admin/dashboard/summary/", dash.SummaryView.as_view(), name="admin-dashboard-summary"),
    path("admin/dashboard/agencies/", dash.AgencyLeagueView.as_view(), name="admin-dashboard-agencies"),
    path("admin/dashboard/coverage/", dash.CoverageView.as_view(), name="admin-dashboard-coverage"),
    path("admin/dashboard/money/", dash.MoneyView.as_view(), name="admin-dashboard-money"),
    path("admin/dashboard/arrears/", dash.ArrearsView.as_view(), name="admin-dashboard-arrears"),
    path("admin/dashboard/at-risk/", dash.AtRiskView.as_view(), name="admin-dashboard-at-risk"),
    path("admin/dashboard/benefits/", dash.BenefitsView.as_view(), name="admin-dashboard-benefits"),
    path(
        "admin/dashboard/arrears/<int:sponsor_id>/remind/",
        dash.ArrearsRemindView.as_view(),
        name="admin-dashboard-arrears-remind",
    ),
    path("admin/areas/summary/", dash.AreaSummaryView.as_view(), name="admin-areas-summary"),
    path("admin/imports/", imports_api.ImportListCreate.as_view(), name="admin-imports"),
    path("admin/imports/templates/<str:kind>/", imports_api.ImportTemplate.as_view(), name="admin-import-template"),
    path("admin/imports/<int:pk>/", imports_api.ImportDetail.as_view(), name="admin-import-detail"),
    path("admin/imports/<int:pk>/confirm/", imports_api.ImportConfirm.as_view(), name="admin-import-confirm"),
    path("admin/jobs/", jobs_api.JobListCreate.as_view(), name="admin-jobs"),
    path("admin/jobs/<int:pk>/", jobs_api.JobDetail.as_view(), name="admin-job-detail"),
    path("admin/jobs/<int:pk>/download/", jobs_api.JobDownload.as_view(), name="admin-job-download"),
    path("admin/payroll/settings/", payroll_api.AdminPayrollSettings.as_view(), name="admin-payroll-settings"),
    path("admin/payroll/overview/", payroll_api.AdminPayrollOverview.as_view(), name="admin-payroll-overview"),
    path("admin/payroll/consents/", payroll_api.AdminConsents.as_view(), name="admin-payroll-consents"),
    path(
        "admin/payroll/consents/<int:pk>/stop/",
        payroll_api.AdminConsentStop.as_view(),
        name="admin-payroll-consent-stop",
    ),
    path(
        "admin/payroll/consents/<int:pk>/scan/",
        payroll_api.AdminConsentScan.as_view(),
        name="admin-payroll-consent-scan",
    ),
    path("admin/payroll/lists/", payroll_api.AdminLists.as_view(), name="admin-payroll-lists"),
    path("admin/payroll/lists/<int:pk>/", payroll_api.AdminListDetail.as_view(), name="admin-payroll-list"),
    path("admin/payroll/lists/<int:pk>/file/", payroll_api.AdminListFile.as_view(), name="admin-payroll-list-file"),
    path("admin/payroll/lists/<int:pk>/send/", payroll_api.AdminListSend.as_view(), name="admin-payroll-list-send"),
    path(
        "admin/payroll/lists/<int:pk>/confirmations/",
        payroll_api.AdminConfirmationUpload.as_view(),
        name="admin-payroll-confirmation-upload",
    ),
    path(
        "admin/payroll/confirmations/<int:pk>/",
        payroll_api.AdminConfirmationDetail.as_view(),
        name="admin-payroll-confirmation",
    ),
    path(
        "admin/payroll/confirmations/<int:pk>/confirm/",
        payroll_api.AdminConfirmationConfirm.as_view(),
        name="admin-payroll-confirmation-confirm",
    ),
    path("admin/payroll/transfers/", payroll_api.AdminTransfers.as_view(), name="admin-payroll-transfers"),
]
