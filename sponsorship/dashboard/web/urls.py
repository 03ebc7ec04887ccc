from django.urls import path

from . import payroll, reports, views

app_name = "dashboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("coverage/", views.coverage, name="coverage"),
    path("coverage/villages/<str:code>/target/", views.set_village_target, name="village-target"),
    path("money/", views.money, name="money"),
    path("arrears/", views.arrears, name="arrears"),
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
    path("payroll/", payroll.payroll_page, name="payroll"),
    path("payroll/lists/<int:pk>.<str:fmt>", payroll.payroll_file, name="payroll-file"),
    path("personal-data-access/", views.personal_data_access, name="personal-data-access"),
]
