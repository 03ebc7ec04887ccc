"""The dashboard's payroll deduction page (docs/payroll.md): per agency payroll vs gateway pledges, deductions
expected vs confirmed per month with the bank-transfer flag, lists not returned, and the treasurer's files.
Actions (produce, send, import the confirmation, record a transfer) are in /api/v1/admin/payroll/."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from sponsorship.billing.models import PayrollList
from sponsorship.billing.services.payroll import payroll_list_file
from sponsorship.dashboard.selectors.payroll import payroll_overview

from .views import admin_page


@admin_page
def payroll_page(request, scope):
    return render(
        request, "dashboard/payroll.html", {"scope": scope, "nav": "payroll", "payroll": payroll_overview(scope)}
    )


@admin_page
def payroll_file(request, scope, pk, fmt):
    payroll_list = get_object_or_404(PayrollList.objects.filter(agency__in=scope.agencies()), pk=pk)
    if fmt not in ("xlsx", "csv"):
        return HttpResponse(status=404)
    content, content_type, name = payroll_list_file(payroll_list=payroll_list, fmt=fmt, actor=request.user)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
