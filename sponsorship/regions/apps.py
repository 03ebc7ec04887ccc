from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "sponsorship.regions"
    label = "regions"
    verbose_name = "Wilayah"
    default_auto_field = "django.db.models.BigAutoField"
