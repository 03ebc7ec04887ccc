from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import (
            selectors,  # noqa: F401  (registers the scoping rules)
            sending,  # noqa: F401  (connects the provider reset on setting changes)
        )
