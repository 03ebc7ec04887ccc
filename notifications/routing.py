"""Which channels a message may take to a person, in which order: routes, consent and the cost policy.

A route is the person's channels in order: their preferred channel first (ContactChannel.rank), then their
role's default order (ROLE_ROUTES: a worker rarely installs the app, so WhatsApp then SMS; a sponsor has the
app, so push then WhatsApp). A channel is on the route only when it can be used:

* push: the person has an active device (registering the app is the consent);
* WhatsApp / SMS: the channel is configured, a phone is on file (told by the domain's contact source) and the
  person consented to that channel and did not withdraw it (UU 27/2022; STOP/BERHENTI withdraws).

The cost policy cuts the route per message kind (PRIORITY): what must arrive (lapse warnings, overdue bills,
receipts) may use every channel, SMS included; ordinary reminders take the free channel and at most one paid
channel; tips and digests never cost money (push and the inbox only). Sign-in codes do not go through the
outbox: the person asked for them, so they take WhatsApp then SMS directly (notifications.otp).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .channels import configured_channels
from .models import Channel, ContactChannel, Device

CRITICAL = "critical"
NORMAL = "normal"
LOW = "low"

PRIORITY: dict[str, str] = {
    "coverage_lapsing": CRITICAL,
    "worker_at_risk": CRITICAL,
    "worker_lapsed": CRITICAL,
    "invoice_overdue": CRITICAL,
    "payment_received": CRITICAL,
    "self_pay_link": CRITICAL,
    "bridge_statement": NORMAL,
    "invoice_issued": NORMAL,
    "invoice_due_soon": NORMAL,
    "invoice_due_today": NORMAL,
    "matching_proposal": NORMAL,
    "worker_protected": NORMAL,
    "worker_new_sponsor": NORMAL,
    "protection_ending_sponsor": NORMAL,
    "protection_ending_no_bill": NORMAL,
    "protection_ending_worker": NORMAL,
    "benefit_received_sponsor": NORMAL,
    "payday_reminder": NORMAL,
    "prepay_thirteenth": LOW,  # an offer, not a warning: push and the inbox only
    "prepay_thr": LOW,
    "admin_digest": LOW,
    "tip": LOW,
}
FREE_CHANNELS = frozenset({Channel.PUSH})
PAID_CHANNELS = (Channel.WHATSAPP, Channel.SMS)  # cheapest first

ROLE_ROUTES: dict[str, tuple[str, ...]] = {
    "worker": (Channel.WHATSAPP, Channel.SMS, Channel.PUSH),
    "sponsor": (Channel.PUSH, Channel.WHATSAPP),
}
DEFAULT_ROUTE: tuple[str, ...] = (Channel.PUSH,)


@dataclass(frozen=True)
class Contact:
    """What the domain tells about a recipient: their role and phone (E.164), or None."""

    role: str = ""
    phone: str | None = None


ContactSource = Callable[[set[int]], dict[int, Contact]]
PhoneLookup = Callable[[str], list[int]]
_CONTACT_SOURCES: list[ContactSource] = []
_PHONE_LOOKUPS: list[PhoneLookup] = []


def register_contact_source(*, contacts: ContactSource | None = None, users_by_phone: PhoneLookup | None = None):
    """The domain (people) tells notifications who a user is and which users a phone number belongs to."""
    if contacts is not None and contacts not in _CONTACT_SOURCES:
        _CONTACT_SOURCES.append(contacts)
    if users_by_phone is not None and users_by_phone not in _PHONE_LOOKUPS:
        _PHONE_LOOKUPS.append(users_by_phone)


def contacts_for(user_ids: Iterable[int]) -> dict[int, Contact]:
    user_ids = set(user_ids)
    out: dict[int, Contact] = {}
    for source in _CONTACT_SOURCES:
        for uid, contact in source(user_ids).items():
            old = out.get(uid)
            out[uid] = Contact(
                role=contact.role or (old.role if old else ""), phone=contact.phone or (old.phone if old else None)
            )
    return {uid: out.get(uid, Contact()) for uid in user_ids}


def users_for_phone(phone: str) -> list[int]:
    """The users whose phone on file is `phone` (a keyed-hash lookup in the domain)."""
    found: list[int] = []
    for lookup in _PHONE_LOOKUPS:
        found += [uid for uid in lookup(phone) if uid not in found]
    return found


@dataclass(frozen=True)
class Route:
    channels: tuple[str, ...]
    phone: str | None
    role: str


def routes_for(user_ids: Iterable[int]) -> dict[int, Route]:
    """Each user's usable channels in order (three queries for any number of users)."""
    user_ids = set(user_ids)
    contacts = contacts_for(user_ids)
    with_device = set(Device.objects.filter(user_id__in=user_ids, active=True).values_list("user_id", flat=True))
    consent: dict[int, dict[str, ContactChannel]] = defaultdict(dict)
    for row in ContactChannel.objects.filter(user_id__in=user_ids):
        consent[row.user_id][row.channel] = row
    configured = configured_channels()
    routes = {}
    for uid in user_ids:
        contact = contacts[uid]
        base = list(ROLE_ROUTES.get(contact.role, DEFAULT_ROUTE))
        rows = consent.get(uid, {})
        # Preferred channels (rank set) first, then the role's order; channels the role lacks come last.
        order = sorted(
            set(base) | set(rows),
            key=lambda ch: (
                rows[ch].rank if ch in rows and rows[ch].rank is not None else 100,
                base.index(ch) if ch in base else 50,
            ),
        )
        usable = []
        for ch in order:
            if ch == Channel.PUSH:
                if uid in with_device:
                    usable.append(ch)
            elif ch in configured and contact.phone:
                consent_row = rows.get(ch)
                if consent_row is not None and consent_row.granted and consent_row.withdrawn_at is None:
                    usable.append(ch)
        routes[uid] = Route(tuple(usable), contact.phone, contact.role)
    return routes


def allowed_channels(route: Route, kind: str) -> tuple[str, ...]:
    """The route cut by the cost policy for this kind of message."""
    priority = PRIORITY.get(kind, NORMAL)
    if priority == CRITICAL:
        return route.channels
    if priority == LOW:
        return tuple(ch for ch in route.channels if ch in FREE_CHANNELS)
    out, paid = [], 0
    for ch in route.channels:
        if ch in FREE_CHANNELS:
            out.append(ch)
        elif paid == 0:
            out.append(ch)
            paid += 1
    return tuple(out)


def next_channel(allowed: tuple[str, ...], tried: Iterable[str]) -> str | None:
    tried = set(tried)
    for ch in allowed:
        if ch not in tried:
            return ch
    return None
