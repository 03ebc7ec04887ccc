from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifikasi"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import selectors  # noqa: F401  (registers the scoping rules)
        from . import sending  # noqa: F401  (connects the provider reset on setting changes)
