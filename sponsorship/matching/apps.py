from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "sponsorship.matching"
    label = "matching"
    verbose_name = "Pencocokan"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import scopes  # noqa: F401  registers who may see which rows
