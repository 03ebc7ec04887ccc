"""Django admin: regions and regency settings. Writes go through regions/services.py (checked, audited)."""

from django.contrib import admin

from sponsorship.core.service_admin import ServiceModelAdmin

from . import services
from .models import RegencyConfig, Region


@admin.register(Region)
class RegionAdmin(ServiceModelAdmin):
    list_display = ["code", "name", "level", "village_kind", "parent"]
    list_filter = ["level", "village_kind"]
    search_fields = ["code", "name"]
    list_select_related = ["parent"]

    def get_fields(self, request, obj=None):
        if obj is None:  # level and parent follow from the code
            return ["code", *services.REGION_EDITABLE]
        return ["code", "level", "parent", *services.REGION_EDITABLE]

    def get_readonly_fields(self, request, obj=None):
        return ["code", "level", "parent"] if obj is not None else []

    def get_fieldsets(self, request, obj=None):
        description = None
        if obj is not None:
            description = (
                "Kode, tingkat dan induk berasal dari berkas Kemendagri (import_regions) dan dirujuk oleh "
                "pekerja, ASN dan OPD, sehingga tidak dapat diubah di sini."
            )
        return [(None, {"fields": self.get_fields(request, obj), "description": description})]

    def has_delete_permission(self, request, obj=None):
        # Regions are never deleted (workers, sponsors and agencies refer to them; re-imports never delete either).
        return False

    def service_problems(self, obj, values):
        if obj is None:
            return services.region_create_problems(values=values)
        return services.region_problems(values=values)

    def service_create(self, request, values):
        return services.region_create(
            code=values["code"],
            name=values["name"],
            village_kind=values.get("village_kind", ""),
            lat=values.get("lat"),
            lon=values.get("lon"),
            **self.service_kwargs(request),
        )

    def service_update(self, request, obj, changes):
        return services.region_update(region=obj, **changes, **self.service_kwargs(request))


@admin.register(RegencyConfig)
class RegencyConfigAdmin(ServiceModelAdmin):
    list_display = ["regency", "timezone", "matching_radius_m", "village_target", "salary_day", "billing_hour"]
    raw_id_fields = ["regency"]
    fields = ["regency", *services.REGENCY_CONFIG_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        # a regency's settings stay that regency's; another regency gets its own row
        return ["regency"] if obj is not None else []

    def service_problems(self, obj, values):
        return services.regency_config_problems(values=values)

    def service_create(self, request, values):
        regency = values.pop("regency")
        fields = {name: values[name] for name in services.REGENCY_CONFIG_FIELDS if name in values}
        return services.regency_config_create(regency=regency, **fields, **self.service_kwargs(request))

    def service_update(self, request, obj, changes):
        return services.regency_config_update(config=obj, **changes, **self.service_kwargs(request))

    def service_delete(self, request, obj):
        services.regency_config_delete(config=obj, **self.service_kwargs(request))
