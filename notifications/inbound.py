"""Messages people send us on WhatsApp: STOP/BERHENTI (opt out), MULAI (opt in again), and the commands the
domain registers (STATUS/CEK, BANTUAN: billing's worker self-service).

The sender is identified only by the phone number WhatsApp vouches for; the domain looks it up by keyed hash
(`routing.users_for_phone`, the handlers' own lookups). Answers are free-form text, allowed because the person
wrote first (the 24-hour customer-service window), and are sent after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from .channels import ChannelMessage, get_channel
from .contact import PHONE_CHANNELS, contact_consent_set, contact_consent_withdraw_users
from .models import Channel
from .routing import users_for_phone

logger = logging.getLogger(__name__)

STOP_WORDS = frozenset({"STOP", "BERHENTI", "UNSUBSCRIBE", "BATAL"})
START_WORDS = frozenset({"MULAI", "START"})
CommandHandler = Callable[..., str]  # handler(phone=..., language=...) -> reply text
_COMMANDS: dict[str, CommandHandler] = {}


def register_inbound_command(words, handler: CommandHandler) -> None:
    """A reply to messages whose first word is one of `words` (upper-case), told by a domain app."""
    for word in words:
        _COMMANDS[word.upper()] = handler


def inbound_handle(*, sender: str, text: str, language: str = "id") -> str:
    """Act on one inbound message and queue the reply; returns what was done (for the event's outcome)."""
    words = (text or "").strip().upper().split()
    command = words[0].strip(".!,") if words else ""
    with translation.override(language):
        if command in STOP_WORDS:
            users = users_for_phone(sender)
            count = contact_consent_withdraw_users(user_ids=users, channels=PHONE_CHANNELS, source="whatsapp_stop")
            reply = gettext(
                "You will no longer receive WhatsApp or SMS messages from Pengampu. Reply MULAI to receive them again."
            )
            outcome = f"stop: {count} withdrawn"
        elif command in START_WORDS:
            users = users_for_phone(sender)
            from django.contrib.auth import get_user_model

            for user in get_user_model().objects.filter(pk__in=users):
                contact_consent_set(user=user, channel=Channel.WHATSAPP, granted=True, source="whatsapp_start")
            reply = gettext("WhatsApp messages from Pengampu are on again. Reply BERHENTI to stop them.")
            outcome = f"start: {len(users)} users"
        elif command in _COMMANDS:
            reply = str(_COMMANDS[command](phone=sender, language=language))
            outcome = f"command {command}"
        else:
            reply = gettext(
                "Send STATUS to check your protection, BANTUAN for what to do after an accident, or BERHENTI to "
                "stop messages."
            )
            outcome = "help"
    transaction.on_commit(lambda: _reply(sender, reply, language))
    return outcome


def _reply(to: str, text: str, language: str) -> None:
    channel = get_channel("whatsapp")
    if channel is None:
        return
    result = channel.send(ChannelMessage(to=to, text=text, language=language, category="service", reference="reply"))
    if result.outcome != "sent":
        logger.warning("whatsapp reply not sent: %s %s", result.outcome, result.error_code)
