from django.contrib import admin

from .models import Device, Notification, NotificationPreference


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "platform",
        "kind",
        "app_version",
        "language",
        "active",
        "last_seen_at",
        "deactivation_reason",
    ]
    list_filter = ["platform", "active", "kind", "deactivation_reason"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "kind", "status", "attempts", "next_attempt_at", "sent_at", "read_at"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient__username", "dedupe_key", "title"]
    raw_id_fields = ["recipient"]
    date_hierarchy = "created_at"


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "enabled", "updated_at"]
    list_filter = ["kind", "enabled"]
    raw_id_fields = ["user"]
