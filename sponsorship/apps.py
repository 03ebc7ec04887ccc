from django.apps import AppConfig


class SponsorshipConfig(AppConfig):
    name = "sponsorship"
    verbose_name = "Pengampu"
    default_auto_field = "django.db.models.BigAutoField"
