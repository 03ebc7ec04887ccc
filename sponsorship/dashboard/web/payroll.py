"""The dashboard's payroll deduction pages (docs/payroll.md): per agency payroll vs gateway pledges, deductions
expected vs confirmed per month with the bank-transfer flag, lists not returned, money owed back, the treasurer's
files; and the admin's actions as server-rendered forms (CSRF, scoped to the admin's agency or regency): produce a
list, mark it sent, upload the confirmation file → report → confirm (then its progress), record the bank's
transfer, record a paper consent with its scan. Every action calls the same services as /api/v1/admin/payroll/."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.api.errors import ApplicationError
from sponsorship.billing.models import PayrollConfirmation, PayrollConsent, PayrollList
from sponsorship.billing.services import payroll as payroll_services
from sponsorship.billing.services import payroll_settle
from sponsorship.billing.services.payroll import payroll_list_file
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.dashboard.selectors.payroll import payroll_overview
from sponsorship.dashboard.services import payroll_import
from sponsorship.dashboard.services.imports import upload_content

from .views import admin_page


def _month_field():
    return forms.CharField(
        label=gettext_lazy("Payroll month"),
        widget=forms.DateInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
        help_text=gettext_lazy("YYYY-MM"),
    )


class ProduceForm(forms.Form):
    agency: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Agency"))
    payroll_month = _month_field()

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = scope.agencies().order_by("name")
        if scope.agency is not None:
            self.fields["agency"].initial = scope.agency.pk


class TransferForm(ProduceForm):
    amount_idr = forms.IntegerField(label=gettext_lazy("Amount received (Rp)"), min_value=1, max_value=10**12)
    reference = forms.CharField(label=gettext_lazy("Transfer reference"), max_length=64)
    transfer_date = forms.DateField(label=gettext_lazy("Transfer date"), widget=forms.DateInput(attrs={"type": "date"}))


class PaperConsentForm(forms.Form):
    nip = forms.CharField(label=gettext_lazy("ASN's NIP"), max_length=18)
    kind = forms.ChoiceField(label=gettext_lazy("Deduct from"), choices=PayrollConsent.Kind.choices)
    golongan = forms.CharField(label=gettext_lazy("Golongan"), max_length=10, required=False)
    account_number = forms.CharField(label=gettext_lazy("Salary account"), max_length=30, required=False)
    scan = forms.FileField(label=gettext_lazy("Scan of the signed form (PDF, JPEG or PNG, at most 2 MB)"))


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Confirmation file (XLSX or CSV: NIP, Jumlah, Referensi, Tanggal)"))


def _lists(scope):
    return PayrollList.objects.filter(agency__in=scope.agencies()).select_related("agency")


def _confirmations(scope):
    return PayrollConfirmation.objects.filter(payroll_list__agency__in=scope.agencies()).select_related(
        "payroll_list__agency"
    )


def _fail(request, exc: ApplicationError) -> None:
    messages.error(request, str(exc.message))


@admin_page
def payroll_page(request, scope):
    next_month = add_months(month_start(local_today()), 1)
    produce = ProduceForm(scope=scope, initial={"payroll_month": f"{next_month:%Y-%m}"})
    transfer = TransferForm(scope=scope, initial={"payroll_month": f"{month_start(local_today()):%Y-%m}"})
    consent = PaperConsentForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "produce":
                produce = ProduceForm(request.POST, scope=scope)
                if produce.is_valid():
                    payroll_list = payroll_services.payroll_list_produce(
                        agency=produce.cleaned_data["agency"],
                        month=payroll_import.parse_month(produce.cleaned_data["payroll_month"]),
                        actor=request.user,
                    )
                    messages.success(
                        request,
                        _("Deduction list produced: %(rows)s ASN.") % {"rows": payroll_list.rows_count},
                    )
                    return redirect("dashboard:payroll-list", pk=payroll_list.pk)
            elif action == "transfer":
                transfer = TransferForm(request.POST, scope=scope)
                if transfer.is_valid():
                    recorded = payroll_settle.payroll_transfer_record(
                        agency=transfer.cleaned_data["agency"],
                        month=payroll_import.parse_month(transfer.cleaned_data["payroll_month"]),
                        amount_idr=transfer.cleaned_data["amount_idr"],
                        reference=transfer.cleaned_data["reference"],
                        transfer_date=transfer.cleaned_data["transfer_date"],
                        actor=request.user,
                    )
                    if recorded.matched:
                        messages.success(request, _("Transfer recorded; it matches the confirmed deductions."))
                    else:
                        messages.error(request, _("Transfer recorded, but it differs from the confirmed deductions."))
                    return redirect("dashboard:payroll")
            elif action == "consent":
                consent = PaperConsentForm(request.POST, request.FILES)
                if consent.is_valid():
                    sponsor = scope.sponsors().select_related("agency").filter(nip=consent.cleaned_data["nip"]).first()
                    if sponsor is None:
                        consent.add_error("nip", _("No ASN with this NIP in your agency or regency."))
                    else:
                        upload = consent.cleaned_data["scan"]
                        if upload.size is None or upload.size > payroll_services.MAX_SCAN_BYTES:
                            raise ApplicationError(_("The scan is too large (at most 2 MB)."), code="scan_too_large")
                        recorded = payroll_services.consent_create(
                            sponsor=sponsor,
                            kind=consent.cleaned_data["kind"],
                            actor=request.user,
                            golongan=consent.cleaned_data["golongan"],
                            account_number=consent.cleaned_data["account_number"],
                            scan=upload.read(payroll_services.MAX_SCAN_BYTES + 1),
                            scan_file_name=upload.name or "",
                        )
                        messages.success(
                            request,
                            _("Consent recorded: deducted from %(month)s.")
                            % {"month": f"{recorded.start_month:%m/%Y}"},
                        )
                        return redirect("dashboard:payroll")
        except ApplicationError as exc:
            _fail(request, exc)
    return render(
        request,
        "dashboard/payroll.html",
        {
            "scope": scope,
            "nav": "payroll",
            "payroll": payroll_overview(scope),
            "produce_form": produce,
            "transfer_form": transfer,
            "consent_form": consent,
        },
    )


@admin_page
def payroll_list_page(request, scope, pk):
    payroll_list = get_object_or_404(_lists(scope), pk=pk)
    upload = UploadForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "send":
                payroll_services.payroll_list_send(payroll_list=payroll_list, actor=request.user)
                messages.success(request, _("The list is marked as sent to the treasurer and is now locked."))
                return redirect("dashboard:payroll-list", pk=pk)
            if action == "reproduce":
                payroll_services.payroll_list_produce(
                    agency=payroll_list.agency, month=payroll_list.payroll_month, actor=request.user
                )
                messages.success(request, _("The draft list was produced again."))
                return redirect("dashboard:payroll-list", pk=pk)
            if action == "upload":
                upload = UploadForm(request.POST, request.FILES)
                if upload.is_valid():
                    confirmation = payroll_import.confirmation_preview(
                        payroll_list=payroll_list,
                        file_name=upload.cleaned_data["file"].name,
                        content=upload_content(upload.cleaned_data["file"]),
                        actor=request.user,
                    )
                    return redirect("dashboard:payroll-confirmation", pk=confirmation.pk)
        except ApplicationError as exc:
            _fail(request, exc)
    payroll_list.refresh_from_db()
    return render(
        request,
        "dashboard/payroll_list.html",
        {
            "scope": scope,
            "nav": "payroll",
            "list": payroll_list,
            "rows": payroll_list.rows.order_by("full_name", "nip")[:2000],
            "confirmations": payroll_list.confirmations.order_by("-created_at")[:20],
            "upload_form": upload,
        },
    )


@admin_page
def payroll_confirmation_page(request, scope, pk):
    confirmation = get_object_or_404(_confirmations(scope), pk=pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "discard":
                payroll_import.confirmation_discard(confirmation=confirmation, actor=request.user)
                messages.info(request, _("The file was discarded; nothing was changed."))
            elif action in ("all", "valid_only"):
                payroll_import.confirmation_confirm(
                    confirmation=confirmation, actor=request.user, valid_only=action == "valid_only"
                )
                messages.info(request, _("The file is being applied; this page shows its progress."))
        except ApplicationError as exc:
            _fail(request, exc)
        return redirect("dashboard:payroll-confirmation", pk=pk)
    confirmation.refresh_from_db()
    return render(
        request,
        "dashboard/payroll_confirmation.html",
        {
            "scope": scope,
            "nav": "payroll",
            "confirmation": confirmation,
            "list": confirmation.payroll_list,
            "progress": payroll_settle.payroll_confirmation_progress(confirmation),
            "problems": confirmation.problems[:500],
            "more_problems": max(len(confirmation.problems) - 500, 0),
            "outcomes": sorted((confirmation.result or {}).get("outcomes", {}).items()),
        },
    )


@admin_page
def payroll_file(request, scope, pk, fmt):
    payroll_list = get_object_or_404(_lists(scope), pk=pk)
    if fmt not in ("xlsx", "csv"):
        return HttpResponse(status=404)
    content, content_type, name = payroll_list_file(payroll_list=payroll_list, fmt=fmt, actor=request.user)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
