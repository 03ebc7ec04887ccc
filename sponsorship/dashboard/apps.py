from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "sponsorship.dashboard"
    label = "dashboard"
    verbose_name = "Dasbor"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import scopes  # noqa: F401  registers who may see which rows
