"""Django admin: proposals, nominations, matching runs."""

from django.contrib import admin

from backend.formats import number as angka
from sponsorship.people.identifiers import mask_nik

from .models import MatchingRun, Nomination, Proposal


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["id", "sponsor", "worker", "status", "source", "distance_m", "priority", "created_at", "expires_at"]
    list_filter = ["status", "source"]
    search_fields = ["sponsor__nip", "sponsor__full_name", "worker__full_name"]
    raw_id_fields = ["sponsor", "worker", "run", "sponsorship"]
    list_select_related = ["sponsor", "worker"]

    def has_change_permission(self, request, obj=None):
        return False  # state changes go through the services


@admin.register(Nomination)
class NominationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "sponsor",
        "full_name",
        "masked_nik",
        "relationship",
        "status",
        "conflict_of_interest",
        "created_at",
    ]
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
    list_display = [
        "id",
        "regency",
        "radius_m",
        "policy",
        "distance",
        "distance_line",
        "status",
        "proposals_created",
        "created_at",
        "applied_at",
    ]
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
