"""Django admin for HR admins: search by NIK (exact, via keyed hash), NIP, name; filter by agency, village, status."""
from django.contrib import admin, messages

from sponsorship.crypto import keyed_hash
from sponsorship.identifiers import IdentifierError, mask_nik, mask_phone, parse_nik
from sponsorship.models import (Agency, AuditLog, Occupation, Profile, RegencyConfig, Region, Sponsor, Sponsorship,
                                Worker, WorkerConsent)
from sponsorship.templatetags.dashboard_format import angka


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "village_kind", "parent"]
    list_filter = ["level", "village_kind"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]
    list_select_related = ["parent"]


@admin.register(RegencyConfig)
class RegencyConfigAdmin(admin.ModelAdmin):
    list_display = ["regency", "timezone", "matching_radius_m", "decline_cooldown_days", "village_target"]
    raw_id_fields = ["regency"]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "short_name", "code", "regency"]
    list_filter = ["regency"]
    search_fields = ["name", "short_name", "code"]


@admin.register(Sponsor)
class SponsorAdmin(admin.ModelAdmin):
    list_display = ["full_name", "nip", "asn_type", "agency", "home_village", "capacity", "active_sponsorships",
                    "status"]
    list_filter = ["status", "asn_type", "capacity", "agency"]
    search_fields = ["nip", "full_name", "home_village__name", "agency__name"]
    raw_id_fields = ["user", "home_village", "agency"]
    readonly_fields = ["active_sponsorships", "phone_hash", "masked_phone"]
    exclude = ["phone"]
    list_select_related = ["agency", "home_village"]

    @admin.display(description="Telepon")
    def masked_phone(self, obj):
        return mask_phone(obj.phone)


class ConsentInline(admin.TabularInline):
    model = WorkerConsent
    extra = 0
    readonly_fields = ["collected_by", "collected_at", "channel", "text_version", "created_at"]


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    """NIK is searched by exact value through its keyed hash: the ciphertext cannot be searched."""

    list_display = ["full_name", "masked_nik", "occupation", "village", "welfare_decile", "current_payer"]
    list_filter = ["current_payer", "occupation", "welfare_decile", "occupation__is_transport"]
    search_fields = ["full_name", "village__name", "village__code", "kpj"]
    raw_id_fields = ["village", "user", "created_by"]
    readonly_fields = ["masked_nik", "masked_phone", "birth_date", "sex", "nik_hash", "anonymized_at"]
    exclude = ["nik", "phone", "phone_hash"]
    inlines = [ConsentInline]
    list_select_related = ["occupation", "village"]

    @admin.display(description="NIK")
    def masked_nik(self, obj):
        return mask_nik(obj.nik)

    @admin.display(description="Telepon")
    def masked_phone(self, obj):
        return mask_phone(obj.phone)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().replace(" ", "")
        if term.isdigit() and len(term) == 16:
            try:
                return queryset.filter(nik_hash=keyed_hash(parse_nik(term).nik)), False
            except IdentifierError:
                pass
        return super().get_search_results(request, queryset, search_term)


@admin.register(Occupation)
class OccupationAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "is_transport"]
    list_filter = ["is_transport"]
    search_fields = ["name", "code"]


@admin.register(Sponsorship)
class SponsorshipAdmin(admin.ModelAdmin):
    list_display = ["sponsor", "worker", "status", "source", "started_at", "ended_at", "end_reason"]
    list_filter = ["status", "source", "end_reason", "sponsor__agency"]
    search_fields = ["sponsor__nip", "sponsor__full_name", "worker__full_name"]
    raw_id_fields = ["sponsor", "worker", "created_by"]
    list_select_related = ["sponsor", "worker"]

    def has_change_permission(self, request, obj=None):
        return False  # state changes go through the services (capacity counter, audit)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "agency", "regency", "language"]
    list_filter = ["role"]
    search_fields = ["user__username"]
    raw_id_fields = ["user", "agency", "regency"]


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor__username", "action"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# ---- money (billing, payments, coverage) --------------------------------------------------------------
from sponsorship.models import (CoverageMonth, CreditEntry, Holiday, Invoice, InvoiceLine, PaymentAttempt,  # noqa: E402
                                PaymentNotification, PremiumRate, RefundCase, RemittanceBatch)


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
        from sponsorship.services.refunds import RefundOutcome, refund_case_refund
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
        from sponsorship.services.refunds import refund_case_resolve
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

# -- matching (issue 3) -----------------------------------------------------------------------------
from sponsorship.models import MatchingRun, Nomination, Proposal  # noqa: E402


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["id", "sponsor", "worker", "status", "source", "distance_m", "priority", "created_at",
                    "expires_at"]
    list_filter = ["status", "source"]
    search_fields = ["sponsor__nip", "sponsor__full_name", "worker__full_name"]
    raw_id_fields = ["sponsor", "worker", "run", "sponsorship"]
    list_select_related = ["sponsor", "worker"]

    def has_change_permission(self, request, obj=None):
        return False  # state changes go through the services


@admin.register(Nomination)
class NominationAdmin(admin.ModelAdmin):
    list_display = ["id", "sponsor", "full_name", "masked_nik", "relationship", "status", "conflict_of_interest",
                    "created_at"]
    list_filter = ["status", "conflict_of_interest", "relationship"]
    search_fields = ["full_name", "sponsor__nip", "sponsor__full_name"]
    raw_id_fields = ["sponsor", "village", "occupation", "reviewer", "worker", "sponsorship"]
    exclude = ["nik", "phone"]
    readonly_fields = ["masked_nik", "nik_hash", "phone_hash", "checks", "flags"]

    @admin.display(description="NIK")
    def masked_nik(self, obj):
        return mask_nik(obj.nik)

    def has_change_permission(self, request, obj=None):
        return False  # verify/reject through the API (checks, worker, sponsorship, audit)


@admin.register(MatchingRun)
class MatchingRunAdmin(admin.ModelAdmin):
    list_display = ["id", "regency", "radius_m", "policy", "distance", "distance_line", "status", "proposals_created",
                    "created_at", "applied_at"]
    list_filter = ["status", "policy", "distance"]
    exclude = ["pairs"]
    readonly_fields = ["distance_line", "preview", "fingerprint"]

    @admin.display(description="Jarak total")
    def distance_line(self, obj):
        """The preview's distance and what proves it (runs from before the distance mode have no block)."""
        block = (obj.preview or {}).get("distance")
        if not block:
            return "-"
        total = f"Jarak total {angka(block['total_distance_m'])} m"
        if block["certified_optimal"]:
            return f"{total}, terbukti optimal"
        if block["distance_gap_bound_m"] is not None:
            return f"{total}, paling banyak {angka(block['distance_gap_bound_m'])} m di atas optimum"
        return f"{total} (cepat, tanpa bukti optimal)"

    def has_change_permission(self, request, obj=None):
        return False
