"""Django admin: agencies, sponsors, workers, sponsorships, profiles. Search by NIK (exact, keyed hash), NIP, name."""

from django import forms
from django.contrib import admin
from django.db import transaction

from backend.api.errors import ApplicationError
from sponsorship.core.service_admin import ServiceModelAdmin

from .auth.forms import LockoutAdminAuthenticationForm
from .crypto import keyed_hashes
from .identifiers import IdentifierError, is_ascii_digits, mask_nik, mask_phone, parse_nik
from .models import (
    Agency,
    CollectiveGroup,
    DecileRound,
    LifeEvent,
    Occupation,
    PersonalDataAccess,
    Profile,
    Sponsor,
    Sponsorship,
    Worker,
    WorkerConsent,
)
from .services import collective, life_events, people

# The admin login shares the lockout of every sign-in (people/auth/lockout.py).
admin.site.login_form = LockoutAdminAuthenticationForm


class ServiceAdminForm(forms.ModelForm):
    """A change form whose edits are written by a people service (validated there, audited with old and new
    values). `clean` runs the service in a savepoint that is rolled back, so its Indonesian message shows on the
    form instead of a server error; `ServiceSaveMixin.save_model` then runs it for real."""

    service_field = ""  # the service's keyword for the row: "sponsor" / "worker"

    def service_changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data if name in self.cleaned_data}

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and not self.errors:
            try:
                with transaction.atomic():
                    self.run_service(actor=None)
                    transaction.set_rollback(True)
            except ApplicationError as exc:
                fields = (exc.extra or {}).get("fields") or {}
                field = next((f for f in fields if f in self.fields), None)
                self.add_error(field, str(exc.message))
        return cleaned

    def run_service(self, *, actor):
        raise NotImplementedError


class ServiceSaveMixin:
    """Edits go through the service; adding stays the model admin's own (rows come from imports and the API)."""

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        form.run_service(actor=request.user)


class SponsorAdminForm(ServiceAdminForm):
    def run_service(self, *, actor):
        return people.sponsor_update(sponsor=self.instance, actor=actor, source="admin", **self.service_changes())


class WorkerAdminForm(ServiceAdminForm):
    def run_service(self, *, actor):
        return people.worker_update(worker=self.instance, actor=actor, source="admin", **self.service_changes())


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "short_name", "code", "regency"]
    list_filter = ["regency"]
    search_fields = ["name", "short_name", "code"]


@admin.register(Sponsor)
class SponsorAdmin(ServiceSaveMixin, admin.ModelAdmin):
    """Edits are written by `sponsor_update`. Read-only once the row exists: the NIP and what it encodes (birth
    date, sex, ASN type) are the sponsor's identity; the status, because leaving ends sponsorships and re-matches
    their workers (matching's `sponsor_leave`); the login account, which only sign-in links."""

    form = SponsorAdminForm
    list_display = [
        "full_name",
        "nip",
        "asn_type",
        "agency",
        "home_village",
        "capacity",
        "active_sponsorships",
        "status",
    ]
    list_filter = ["status", "asn_type", "capacity", "agency"]
    search_fields = ["nip", "full_name", "home_village__name", "agency__name"]
    raw_id_fields = ["user", "home_village", "agency"]
    readonly_fields = ["active_sponsorships", "phone_hash", "masked_phone"]
    identity_fields = ["nip", "asn_type", "birth_date", "sex", "status", "user"]
    exclude = ["phone"]
    list_select_related = ["agency", "home_village"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, *self.identity_fields] if obj else self.readonly_fields

    @admin.display(description="Telepon")
    def masked_phone(self, obj):
        return mask_phone(obj.phone)


class ConsentInline(admin.TabularInline):
    model = WorkerConsent
    extra = 0
    readonly_fields = ["collected_by", "collected_at", "channel", "text_version", "created_at"]


@admin.register(Worker)
class WorkerAdmin(ServiceSaveMixin, admin.ModelAdmin):
    """NIK is searched by exact value through its keyed hash: the ciphertext cannot be searched.

    Edits are written by `worker_update`. Read-only: what the NIK encodes, the login account (linked by sign-in),
    who registered the worker and the anonymisation time (set by the privacy services)."""

    form = WorkerAdminForm

    list_display = ["full_name", "masked_nik", "occupation", "village", "welfare_decile", "current_payer", "status"]
    list_filter = ["status", "current_payer", "occupation", "welfare_decile", "occupation__is_transport"]
    search_fields = ["full_name", "village__name", "village__code", "kpj"]
    raw_id_fields = ["village"]
    readonly_fields = [
        "masked_nik",
        "masked_phone",
        "birth_date",
        "sex",
        "nik_hash",
        "anonymized_at",
        "user",
        "created_by",
        "status",  # moved by life events only (Life events → Add)
    ]
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
        if is_ascii_digits(term) and len(term) == 16:
            try:
                return queryset.filter(nik_hash__in=keyed_hashes(parse_nik(term).nik)), False
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


@admin.register(CollectiveGroup)
class CollectiveGroupAdmin(ServiceModelAdmin):
    """BPJS collective groups (wadah): saved through people/services/collective.py (validated, audited)."""

    list_display = ["name", "code", "source_code", "funder", "agency", "regency", "active"]
    list_filter = ["funder", "source_code", "active"]
    raw_id_fields = ["regency", "agency"]
    fields = ["regency", "funder", "agency", "name", "code", "source_code", "active"]

    def get_readonly_fields(self, request, obj=None):
        return ["regency"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False  # workers and remittance rows name the group: deactivate it instead

    def service_create(self, request, values):
        return collective.collective_group_save(
            regency=values["regency"],
            funder=values["funder"],
            agency=values.get("agency"),
            name=values["name"],
            code=values["code"],
            source_code=values["source_code"],
            active=values.get("active", True),
            **self.service_kwargs(request),
        )

    def service_update(self, request, obj, changes):
        values = {k: getattr(obj, k) for k in ("funder", "agency", "name", "code", "source_code", "active")}
        values.update(changes)
        return collective.collective_group_save(
            regency=obj.regency, group=obj, **values, **self.service_kwargs(request)
        )


@admin.register(DecileRound)
class DecileRoundAdmin(admin.ModelAdmin):
    """DTSEN rounds are written by the decile import only."""

    list_display = ["ranked_on", "regency", "source", "created_by", "created_at"]
    list_filter = ["source"]
    readonly_fields = ["regency", "ranked_on", "source", "file_name", "created_by", "created_at"]


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(admin.ModelAdmin):
    """Read-only: the access log is append-only (the retention job alone deletes old rows)."""

    list_display = ["at", "actor", "actor_role", "subject_type", "subject_id", "fields", "purpose", "channel"]
    list_filter = ["purpose", "channel", "actor_role"]
    search_fields = ["subject_id", "note"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LifeEvent)
class LifeEventAdmin(ServiceModelAdmin):
    """Declaring a life event here runs the same service as the API (state, sponsorships ended through the
    hand-over rule, re-matching, notifications, audit). Recorded events are never edited or deleted."""

    list_display = ["recorded_at", "kind", "worker", "sponsor", "occurred_on", "recorded_by"]
    list_filter = ["kind"]
    raw_id_fields = ["worker", "sponsor"]
    fields = ["kind", "worker", "sponsor", "occurred_on", "other_payer", "evidence_note", "sponsor_may_be_told"]
    list_select_related = ["worker", "sponsor", "recorded_by"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.fields, "recorded_by", "recorded_at", "ended_sponsorships"] if obj else []

    def get_fields(self, request, obj=None):
        return [*self.fields, "recorded_by", "recorded_at", "ended_sponsorships"] if obj else self.fields

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def service_create(self, request, values: dict):
        result = life_events.life_event_record(
            kind=values["kind"],
            worker=values.get("worker"),
            sponsor=values.get("sponsor"),
            occurred_on=values.get("occurred_on"),
            other_payer=values.get("other_payer") or "",
            evidence_note=values.get("evidence_note") or "",
            sponsor_may_be_told=bool(values.get("sponsor_may_be_told")),
            actor=request.user,
        )
        return result.event
