"""Django admin: rates, holidays, invoices, payments, coverage, credit, refunds, remittance."""

from django.contrib import admin, messages

from sponsorship.core.service_admin import ServiceModelAdmin

from .models import (
    CoverageMonth,
    CreditEntry,
    Holiday,
    Invoice,
    InvoiceLine,
    PaymentAttempt,
    PaymentNotification,
    PremiumRate,
    RefundCase,
    RefusedNotification,
    RemittanceBatch,
    RemittanceClawback,
)
from .services import premium_rates


@admin.register(PremiumRate)
class PremiumRateAdmin(ServiceModelAdmin):
    """Admins add rows (a new period, a bracket); issued invoices keep their snapshot amounts. Every write goes
    through services/premium_rates.py (checked, audited)."""

    list_display = [
        "name",
        "valid_from",
        "valid_to",
        "sector",
        "funding_source",
        "declared_income_idr",
        "jkk_rate_bp",
        "jkm_idr",
        "discount_pct",
        "priority",
    ]
    list_filter = ["sector", "funding_source"]
    raw_id_fields = ["regency"]
    fields = list(premium_rates.RATE_FIELDS)

    def _last_billed(self, obj):
        if obj is None:
            return None
        if getattr(obj, "_last_billed_cache", False) is False:
            obj._last_billed_cache = premium_rates.rate_last_billed_month(obj)
        return obj._last_billed_cache

    def get_readonly_fields(self, request, obj=None):
        if self._last_billed(obj) is not None:
            return list(premium_rates.RATE_LOCKED_WHEN_USED)
        return []

    def get_fieldsets(self, request, obj=None):
        last = self._last_billed(obj)
        if last is None:
            return [(None, {"fields": self.fields})]
        return [
            (
                None,
                {
                    "fields": self.fields,
                    "description": (
                        f"Tarif ini sudah dipakai pada baris tagihan (terakhir untuk bulan {last:%Y-%m}). "
                        "Baris tagihan menyimpan nominalnya sendiri, tetapi agar tarif ini tetap menjelaskan "
                        "tagihan tersebut, nominal, sektor, sumber dana dan tanggal mulai dikunci. Untuk tarif "
                        "baru: isi 'valid to' di sini lalu tambahkan baris tarif baru."
                    ),
                },
            )
        ]

    def has_delete_permission(self, request, obj=None):
        # a billed rate would leave its invoice lines without a rate; end its validity instead
        return super().has_delete_permission(request, obj) and self._last_billed(obj) is None

    def service_problems(self, obj, values):
        return premium_rates.premium_rate_problems(
            rate=obj, values={name: values.get(name) for name in premium_rates.RATE_FIELDS}
        )

    def service_create(self, request, values):
        fields = {name: values[name] for name in premium_rates.RATE_FIELDS if name in values}
        return premium_rates.premium_rate_create(**fields, **self.service_kwargs(request))

    def service_update(self, request, obj, changes):
        return premium_rates.premium_rate_update(rate=obj, **changes, **self.service_kwargs(request))

    def service_delete(self, request, obj):
        premium_rates.premium_rate_delete(rate=obj, **self.service_kwargs(request))


@admin.register(Holiday)
class HolidayAdmin(ServiceModelAdmin):
    """Holidays move the due dates of invoices issued afterwards; writes are audited (services/premium_rates.py)."""

    list_display = ["date", "name"]
    fields = list(premium_rates.HOLIDAY_FIELDS)

    def service_problems(self, obj, values):
        return premium_rates.holiday_problems(holiday=obj, values=values)

    def service_create(self, request, values):
        return premium_rates.holiday_create(date=values["date"], name=values["name"], **self.service_kwargs(request))

    def service_update(self, request, obj, changes):
        return premium_rates.holiday_update(holiday=obj, **changes, **self.service_kwargs(request))

    def service_delete(self, request, obj):
        premium_rates.holiday_delete(holiday=obj, **self.service_kwargs(request))


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


@admin.register(RefusedNotification)
class RefusedNotificationAdmin(admin.ModelAdmin):
    """Webhook requests refused before storing (too large, too many): evidence only, never edited."""

    list_display = ["window_start", "remote_ip", "reason", "count", "largest_bytes", "last_at"]
    list_filter = ["reason"]
    search_fields = ["remote_ip"]
    readonly_fields = [f.name for f in RefusedNotification._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RemittanceClawback)
class RemittanceClawbackAdmin(admin.ModelAdmin):
    """Remitted worker-months whose payment was taken back; the next remittance export reclaims them."""

    list_display = ["worker", "month", "amount_idr", "reason", "remitted_in", "claimed_in", "created_at"]
    list_filter = ["month"]
    raw_id_fields = ["worker", "sponsor", "invoice", "attempt", "remitted_in", "claimed_in"]
    readonly_fields = [f.name for f in RemittanceClawback._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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

    list_display = [
        "sponsor",
        "reason",
        "amount_idr",
        "status",
        "payment_type",
        "refunded_amount_idr",
        "created_at",
        "resolved_at",
        "last_error",
    ]
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
                self.message_user(request, f"#{case.pk}: {exc.message} (HTTP {exc.status_code})", messages.ERROR)
                continue
            if outcome == RefundOutcome.MANUAL:
                self.message_user(request, f"#{case.pk}: {case.note.splitlines()[-1]}", messages.WARNING)
            else:
                self.message_user(
                    request,
                    f"#{case.pk}: Rp {case.refunded_amount_idr:,} dikembalikan lewat "
                    f"Midtrans (refund_key {case.refund_key}).",
                    messages.SUCCESS,
                )

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
