from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifikasi"
    default_auto_field = "django.db.models.BigAutoField"
