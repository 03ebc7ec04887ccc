"""Django admin: regions and regency settings."""
from django.contrib import admin

from .models import RegencyConfig, Region


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
