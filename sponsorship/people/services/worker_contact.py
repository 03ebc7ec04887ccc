"""A worker's consent to be reached by WhatsApp and/or SMS, recorded by an admin or a roster import (issue 18).

Most informal workers never install the app. Their reminders (days of protection left, the self-pay link, a
lapse) go to a user, so recording the consent also creates the worker's login user (`worker_user_for`: unusable
password; the worker's own NIK + birth date sign-in later finds the same user) and the ContactChannel rows that
notifications' routing reads (UU 27/2022: per channel, when and how collected).
"""

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError
from notifications.contact import PHONE_CHANNELS, contact_consent_set
from notifications.models import ContactChannel
from sponsorship.core.audit import audit_record
from sponsorship.people.models import Worker

from .worker_auth import worker_user_for

# How the consent to be contacted was collected (the source kept on the ContactChannel row).
CONTACT_SOURCES = ("in_person", "paper", "phone", "app", "import")


def contact_channels_clean(channels: Iterable[str] | None) -> list[str]:
    """The phone channels asked for, in route order, or a clear 400 for anything else."""
    wanted = set(channels or ())
    unknown = wanted - set(PHONE_CHANNELS)
    if unknown:
        message = _("A worker can consent to WhatsApp and SMS only.")
        raise ApplicationError(message, code="invalid", extra={"fields": {"contact_channels": [str(message)]}})
    return [ch for ch in PHONE_CHANNELS if ch in wanted]


def worker_contact_channels(worker: Worker) -> list[str]:
    """The phone channels the worker consents to now (none without a login user)."""
    if not worker.user_id:
        return []
    granted = set(
        ContactChannel.objects.filter(
            user_id=worker.user_id, channel__in=PHONE_CHANNELS, granted=True, withdrawn_at__isnull=True
        ).values_list("channel", flat=True)
    )
    return [ch for ch in PHONE_CHANNELS if ch in granted]


@transaction.atomic
def worker_contact_consent_set(*, worker: Worker, channels: Iterable[str], source: str, actor=None) -> list[str]:
    """Make `channels` the worker's consented phone channels: grant those listed, withdraw the others.

    `source` says how the consent was collected (in_person, paper, phone, import). A phone channel needs a phone
    on file. Granting creates the worker's login user when they have none; withdrawing never does. Returns the
    channels consented to afterwards."""
    wanted = contact_channels_clean(channels)
    if source not in CONTACT_SOURCES:
        message = _("Say how the consent to be contacted was collected: in person, paper form or phone.")
        raise ApplicationError(message, code="invalid", extra={"fields": {"contact_source": [str(message)]}})
    if wanted and not worker.phone_hash:
        message = _("A phone number is required before the worker can consent to WhatsApp or SMS.")
        raise ApplicationError(message, code="invalid", extra={"fields": {"phone": [str(message)]}})
    before = worker_contact_channels(worker)
    if wanted == before:
        return before
    if wanted or worker.user_id:
        user = worker_user_for(worker)
        for channel in PHONE_CHANNELS:
            if channel in wanted or channel in before:
                contact_consent_set(user=user, channel=channel, granted=channel in wanted, source=source)
    audit_record(
        actor=actor,
        action="worker.contact_consent",
        obj=worker,
        before={"contact_channels": before},
        after={"contact_channels": wanted},
        extra={"source": source},
    )
    return wanted
