from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "sponsorship.billing"
    label = "billing"
    verbose_name = _("Billing and payments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from sponsorship.people.services.life_events import register_contribution_months
        from sponsorship.people.services.privacy import register_personal_data
        from sponsorship.people.services.sponsorships import EndHandler, register_end_handler, register_start_handler

        from .privacy import contribution_months, coverage_months
        from .selectors import billing, payroll  # noqa: F401  registers who may see which rows
        from .services.bridge import bridge_on_sponsorship_start
        from .services.handover import handover_lock, handover_release

        register_personal_data(export={"coverage_months": coverage_months})
        # Ending a sponsorship releases its unpaid later months (the hand-over rule, docs/money-rules.md).
        register_end_handler(EndHandler(lock=handover_lock, ended=handover_release))
        # A new sponsor accepting stops the bridge fund and withdraws an open self-pay link (docs/bridge-fund.md).
        register_start_handler(bridge_on_sponsorship_start)
        # Sponsors on payroll deduction are not reminded on payday to pay by card (the treasurer deducts).
        from .selectors.payday import register_payday_exclusion
        from .selectors.payroll import payroll_payer_sponsor_ids

        register_payday_exclusion(lambda sponsors: sponsors.exclude(pk__in=payroll_payer_sponsor_ids()))
        # A worker's paid months decide the JKM amount and the scholarship told to a family after a death.
        register_contribution_months(contribution_months)

        from notifications.inbound import register_inbound_command

        from .whatsapp_commands import help_reply, status_reply

        register_inbound_command(("STATUS", "CEK"), status_reply)
        register_inbound_command(("BANTUAN", "HELP", "TOLONG"), help_reply)
