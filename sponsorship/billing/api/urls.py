from django.urls import path

from . import benefits, bridge_views, overview_views, worker_status
from . import payroll as payroll_api
from . import views as v

urlpatterns = [
    path("sponsor/invoices/", v.InvoiceList.as_view(), name="invoice-list"),
    path("sponsor/invoices/prepay/", v.InvoicePrepay.as_view(), name="invoice-prepay"),
    path("sponsor/invoices/arrears/", v.InvoiceArrears.as_view(), name="invoice-arrears"),
    path("sponsor/invoices/<int:pk>/", v.InvoiceDetail.as_view(), name="invoice-detail"),
    path("sponsor/invoices/<int:pk>/pay/", v.InvoicePay.as_view(), name="invoice-pay"),
    path("invoices/<int:pk>/void/", v.InvoiceVoid.as_view(), name="invoice-void"),
    path("workers/<int:pk>/coverage/", v.WorkerCoverage.as_view(), name="worker-coverage"),
    path("payments/midtrans/notification/", v.midtrans_notification, name="midtrans-notification"),
    path("admin/workers/<int:pk>/benefits/", benefits.AdminWorkerBenefit.as_view(), name="admin-worker-benefits"),
    path("worker/status/", worker_status.WorkerStatusView.as_view(), name="worker-status"),
    path("sponsor/overview/", overview_views.SponsorOverviewView.as_view(), name="sponsor-overview"),
    path("sponsor/receipts/<int:pk>/", overview_views.SponsorReceiptView.as_view(), name="sponsor-receipt"),
    path("sponsor/statements/<int:year>/", overview_views.SponsorStatementView.as_view(), name="sponsor-statement"),
    path("admin/bridge-pools/", bridge_views.PoolList.as_view(), name="bridge-pool-list"),
    path("admin/bridge-pools/<int:pk>/", bridge_views.PoolDetail.as_view(), name="bridge-pool-detail"),
    path("admin/bridge-pools/<int:pk>/top-ups/", bridge_views.PoolTopUp.as_view(), name="bridge-pool-top-up"),
    path("admin/bridge-pools/<int:pk>/statement/", bridge_views.PoolStatement.as_view(), name="bridge-pool-statement"),
    path("sponsor/payroll/consent/", payroll_api.SponsorPayrollConsent.as_view(), name="sponsor-payroll-consent"),
    path("sponsor/payroll/consent/stop/", payroll_api.SponsorPayrollStop.as_view(), name="sponsor-payroll-stop"),
]
