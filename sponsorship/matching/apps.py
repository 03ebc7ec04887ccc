from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MatchingConfig(AppConfig):
    name = "sponsorship.matching"
    label = "matching"
    verbose_name = _("Matching")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from sponsorship.people.services.life_events import MatchingHooks, register_matching
        from sponsorship.people.services.privacy import register_personal_data

        from . import scopes  # noqa: F401  registers who may see which rows
        from .privacy import erase_nominations
        from .services.rematch import offers_withdraw, rematch_worker

        register_personal_data(erase=erase_nominations)
        # Life events withdraw offers that no longer hold and re-match workers who still need a sponsor.
        register_matching(MatchingHooks(withdraw_offers=offers_withdraw, rematch=rematch_worker))
