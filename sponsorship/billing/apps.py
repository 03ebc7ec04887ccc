from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "sponsorship.billing"
    label = "billing"
    verbose_name = _("Billing and payments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from sponsorship.people.services.privacy import register_personal_data

        from .privacy import coverage_months
        from .selectors import billing  # noqa: F401  registers who may see which rows

        register_personal_data(export={"coverage_months": coverage_months})

        from notifications.inbound import register_inbound_command

        from .whatsapp_commands import help_reply, status_reply

        register_inbound_command(("STATUS", "CEK"), status_reply)
        register_inbound_command(("BANTUAN", "HELP", "TOLONG"), help_reply)
