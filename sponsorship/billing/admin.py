"""Django admin: rates, holidays, invoices, payments, coverage, credit, refunds, remittance."""
from django.contrib import admin, messages

from .models import (CoverageMonth, CreditEntry, Holiday, Invoice, InvoiceLine, PaymentAttempt, PaymentNotification,
                     PremiumRate, RefundCase, RemittanceBatch)


@admin.register(PremiumRate)
class PremiumRateAdmin(admin.ModelAdmin):
    """Admins add rows (a new period, a bracket); issued invoices keep their snapshot amounts."""
    list_display = ["name", "valid_from", "valid_to", "sector", "funding_source", "declared_income_idr",
                    "jkk_rate_bp", "jkm_idr", "discount_pct", "priority"]
    list_filter = ["sector", "funding_source"]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name"]


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    raw_id_fields = ["worker", "rate"]
    readonly_fields = ["worker", "month", "rate", "jkk_idr", "jkm_idr", "jht_idr", "amount_idr"]


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "sponsor", "kind", "period", "months", "status", "amount_idr", "due_date", "paid_at"]
    list_filter = ["status", "kind", "period"]
    search_fields = ["number", "sponsor__full_name", "sponsor__nip"]
    raw_id_fields = ["sponsor", "voided_by"]
    inlines = [InvoiceLineInline]
    # Money rows change only through services (void via the API, paid via settlement).
    readonly_fields = [f.name for f in Invoice._meta.fields]


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(admin.ModelAdmin):
    list_display = ["order_id", "invoice", "status", "amount_idr", "paid_amount_idr", "payment_type", "created_at"]
    list_filter = ["status", "payment_type"]
    search_fields = ["order_id", "transaction_id", "invoice__number"]
    readonly_fields = [f.name for f in PaymentAttempt._meta.fields]


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(admin.ModelAdmin):
    list_display = ["received_at", "order_id", "transaction_status", "state", "outcome", "signature_valid", "attempts"]
    list_filter = ["state", "transaction_status", "signature_valid"]
    search_fields = ["order_id", "transaction_id"]
    readonly_fields = [f.name for f in PaymentNotification._meta.fields]


@admin.register(CoverageMonth)
class CoverageMonthAdmin(admin.ModelAdmin):
    list_display = ["worker", "month", "sponsor", "invoice", "amount_idr", "remittance", "registration_status"]
    list_filter = ["month", "registration_status"]
    raw_id_fields = ["worker", "sponsor", "invoice", "line", "attempt", "remittance"]
    readonly_fields = [f.name for f in CoverageMonth._meta.fields]


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin):
    list_display = ["sponsor", "kind", "amount_idr", "invoice", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["sponsor", "invoice", "attempt"]


@admin.register(RefundCase)
class RefundCaseAdmin(admin.ModelAdmin):
    """Refund cases change only through services/refunds.py (audited): refund via Midtrans, or resolve once a
    manual bank transfer was made."""
    list_display = ["sponsor", "reason", "amount_idr", "status", "payment_type", "refunded_amount_idr",
                    "created_at", "resolved_at", "last_error"]
    list_filter = ["status", "reason"]
    raw_id_fields = ["sponsor", "attempt", "resolved_by"]
    readonly_fields = [f.name for f in RefundCase._meta.fields]
    actions = ["refund_via_midtrans", "mark_resolved"]

    @admin.display(description="Metode")
    def payment_type(self, obj):
        return obj.attempt.payment_type

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sponsor", "attempt")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Refund lewat Midtrans (VA/transfer bank: tandai transfer manual)")
    def refund_via_midtrans(self, request, queryset):
        from backend.api.errors import ApplicationError
        from sponsorship.billing.services.refunds import RefundOutcome, refund_case_refund
        for case in queryset.order_by("pk"):
            try:
                outcome, case = refund_case_refund(case=case, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"#{case.pk}: {exc.message} "
                                           f"(HTTP {exc.status_code})", messages.ERROR)
                continue
            if outcome == RefundOutcome.MANUAL:
                self.message_user(request, f"#{case.pk}: {case.note.splitlines()[-1]}", messages.WARNING)
            else:
                self.message_user(request, f"#{case.pk}: Rp {case.refunded_amount_idr:,} dikembalikan lewat "
                                           f"Midtrans (refund_key {case.refund_key}).", messages.SUCCESS)

    @admin.action(description="Tandai selesai (transfer manual sudah dilakukan)")
    def mark_resolved(self, request, queryset):
        from backend.api.errors import ApplicationError
        from sponsorship.billing.services.refunds import refund_case_resolve
        for case in queryset.order_by("pk"):
            try:
                refund_case_resolve(case=case, note=f"Diselesaikan oleh {request.user} di admin", actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"#{case.pk}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"#{case.pk}: selesai.", messages.SUCCESS)


@admin.register(RemittanceBatch)
class RemittanceBatchAdmin(admin.ModelAdmin):
    list_display = ["period", "rows", "total_idr", "created_by", "created_at", "file_name"]
