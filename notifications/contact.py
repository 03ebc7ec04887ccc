"""Writes for contact channels: consent per channel (UU 27/2022: when, from where), withdrawal, preference."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from backend.api.errors import ApplicationError

from .models import Channel, ContactChannel

PHONE_CHANNELS = (Channel.WHATSAPP, Channel.SMS)


def contact_consent_set(
    *, user, channel: str, granted: bool, source: str, now: dt.datetime | None = None
) -> ContactChannel:
    """Record consent to (or its withdrawal from) WhatsApp or SMS; the row keeps when and from where."""
    if channel not in PHONE_CHANNELS:
        raise ApplicationError(gettext_lazy("Consent is recorded for WhatsApp and SMS only."), code="invalid_channel")
    now = now or timezone.now()
    with transaction.atomic():
        row, _ = ContactChannel.objects.select_for_update().get_or_create(user=user, channel=channel)
        if granted and not (row.granted and row.withdrawn_at is None):
            row.granted, row.consent_source, row.consent_at = True, source[:32], now
            row.withdrawn_at, row.withdrawn_source = None, ""
        elif not granted and row.granted and row.withdrawn_at is None:
            row.withdrawn_at, row.withdrawn_source = now, source[:32]
        row.save()
    return row


def contact_consent_withdraw_users(*, user_ids, channels, source: str, now: dt.datetime | None = None) -> int:
    """Withdraw consent for every given user and channel (a STOP reply); returns how many were withdrawn."""
    now = now or timezone.now()
    return ContactChannel.objects.filter(
        user_id__in=list(user_ids), channel__in=list(channels), granted=True, withdrawn_at__isnull=True
    ).update(withdrawn_at=now, withdrawn_source=source[:32])


def contact_preferred_set(*, user, channel: str | None) -> None:
    """Put `channel` first on the user's route (None: back to the role's default order)."""
    if channel is not None and channel not in Channel.values:
        raise ApplicationError(gettext_lazy("Unknown channel."), code="invalid_channel")
    with transaction.atomic():
        ContactChannel.objects.filter(user=user).update(rank=None)
        if channel is not None:
            ContactChannel.objects.update_or_create(user=user, channel=channel, defaults={"rank": 0})
