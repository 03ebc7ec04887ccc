"""Django admin: agencies, sponsors, workers, sponsorships, profiles. Search by NIK (exact, via keyed hash), NIP, name."""
from django.contrib import admin, messages

from .crypto import keyed_hash
from .identifiers import IdentifierError, mask_nik, mask_phone, parse_nik
from .models import Agency, Occupation, Profile, Sponsor, Sponsorship, Worker, WorkerConsent


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
