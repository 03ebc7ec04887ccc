from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "sponsorship.billing"
    label = "billing"
    verbose_name = "Tagihan dan pembayaran"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .selectors import billing  # noqa: F401  registers who may see which rows
