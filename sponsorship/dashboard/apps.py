from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "sponsorship.dashboard"
    label = "dashboard"
    verbose_name = _("Dashboard")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import scopes  # noqa: F401  registers who may see which rows
