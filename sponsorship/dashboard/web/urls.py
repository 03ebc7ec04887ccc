from django.urls import path

from . import bridge, jobs, payroll, regency_settings, reports, views

app_name = "dashboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("areas/", views.areas, name="areas"),
    path("settings/", regency_settings.regency_settings_page, name="regency-settings"),
    path("coverage/", views.coverage, name="coverage"),
    path("coverage/villages/<str:code>/target/", views.set_village_target, name="village-target"),
    path("money/", views.money, name="money"),
    path("arrears/", views.arrears, name="arrears"),
    path("at-risk/", views.at_risk, name="at-risk"),
    path("reach/", views.reach, name="reach"),
    path("arrears/<int:sponsor_id>/remind/", views.remind, name="remind"),
    path("export/<str:table>.<str:fmt>", views.export, name="export"),
    path("map/", reports.map_page, name="map"),
    path("map/villages/<str:code>.json", reports.map_village, name="map-village"),
    path("reports/monthly/", reports.monthly_report, name="report-monthly"),
    path("deciles/", reports.deciles, name="deciles"),
    path("deciles/<int:worker_id>/", reports.decile_decide, name="decile-decide"),
    path("imports/", views.import_list, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/templates/<str:kind>.<str:fmt>", views.import_template, name="import-template"),
    path("jobs/", jobs.job_list, name="jobs"),
    path("jobs/<int:pk>/download/", jobs.job_download, name="job-download"),
    path("bridge-fund/", bridge.pools, name="bridge-pools"),
    path("bridge-fund/<int:pk>/top-up/", bridge.top_up, name="bridge-pool-top-up"),
    path("bridge-fund/<int:pk>/statement/", bridge.statement, name="bridge-pool-statement"),
    path("payroll/", payroll.payroll_page, name="payroll"),
    path("payroll/lists/<int:pk>.<str:fmt>", payroll.payroll_file, name="payroll-file"),
    path("payroll/lists/<int:pk>/", payroll.payroll_list_page, name="payroll-list"),
    path("payroll/confirmations/<int:pk>/", payroll.payroll_confirmation_page, name="payroll-confirmation"),
    path("personal-data-access/", views.personal_data_access, name="personal-data-access"),
]
