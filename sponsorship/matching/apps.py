from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "sponsorship.matching"
    label = "matching"
    verbose_name = "Pencocokan"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from sponsorship.people.services.privacy import register_personal_data

        from . import scopes  # noqa: F401  registers who may see which rows
        from .privacy import erase_nominations

        register_personal_data(erase=erase_nominations)
