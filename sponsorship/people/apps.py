from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "sponsorship.people"
    label = "people"
    verbose_name = _("People")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models import Q

        from notifications.models import Device, Notification, NotificationPreference
        from notifications.routing import register_contact_source
        from notifications.services import register_recipient_source

        from .auth import tokens
        from .recipients import recipient_contacts, recipient_languages, recipient_zones, users_by_phone
        from .scoping import register_scope

        tokens.connect()  # a changed password ends the account's refresh tokens

        register_recipient_source(zones=recipient_zones, languages=recipient_languages)
        register_contact_source(contacts=recipient_contacts, users_by_phone=users_by_phone)
        # Every role sees only its own devices, inbox and preferences.
        roles = ("sponsor", "worker", "agency_admin", "regency_admin")
        register_scope(Notification, **{role: (lambda p, u: Q(recipient=u)) for role in roles})
        for model in (Device, NotificationPreference):
            register_scope(model, **{role: (lambda p, u: Q(user=u)) for role in roles})
