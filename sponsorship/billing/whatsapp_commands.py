"""Worker self-service over WhatsApp: STATUS/CEK and BANTUAN (registered with notifications in apps.py).

The sender is whoever WhatsApp says sent the message; they get a status only when that number is a worker's
phone on file (keyed-hash lookup, no scan of clear numbers). An unknown number learns nothing about anyone.
The texts are the worker status screen's own (billing/api/worker_status.py), so the app and WhatsApp agree.
"""

from django.utils import translation
from django.utils.translation import gettext

from sponsorship.people.crypto import keyed_hash
from sponsorship.people.identifiers import IdentifierError, normalize_phone
from sponsorship.people.models import Worker

from .api.worker_status import STATE_LABELS, _after_accident, headline
from .selectors.overview import worker_status_facts


def _worker_for_phone(phone: str) -> Worker | None:
    try:
        digest = keyed_hash(normalize_phone(phone))
    except IdentifierError:
        return None
    return Worker.objects.filter(phone_hash=digest, anonymized_at__isnull=True).order_by("pk").first()


def status_reply(*, phone: str, language: str = "id") -> str:
    worker = _worker_for_phone(phone)
    with translation.override(language):
        if worker is None:
            return gettext(
                "This number is not registered with Pengampu. Ask your village officer to check the phone number "
                "on your record."
            )
        facts = worker_status_facts(worker)
        return "\n".join(
            [
                gettext("Pengampu status for %(name)s: %(state)s.")
                % {"name": worker.first_name, "state": str(STATE_LABELS[facts.state])},
                headline(facts),
                gettext("Reply BANTUAN for what to do after a work accident."),
            ]
        )


def help_reply(*, phone: str, language: str = "id") -> str:
    with translation.override(language):
        guide = _after_accident(language)
        lines = [f"*{guide['title']}*"]
        lines += [f"{i}. {step}" for i, step in enumerate(guide["steps"], start=1)]
        lines.append(gettext("Documents: %(documents)s.") % {"documents": "; ".join(guide["documents"])})
        return "\n".join(lines)
