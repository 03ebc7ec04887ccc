"""Reach of WhatsApp, SMS and push among the workers an admin looks after, and the workers nothing reaches.

Read through notifications' selectors and routes (notifications knows no domain app; the dashboard may read it).
A worker is unreached when no channel can carry a message to them (no phone and no app, or no consent to
WhatsApp/SMS and no app) or when their latest message failed on every channel; the answer for them is a
village cadre's visit (kader desa), listed per village.
"""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.routing import routes_for
from notifications.selectors import reach_by_channel, users_last_message_failed
from sponsorship.people.models import Sponsorship, Worker

REASONS = {
    "no_phone": _("No phone number on file and no app"),
    "no_consent": _("No consent to WhatsApp or SMS recorded, and no app"),
    "failed": _("The latest message failed on every channel"),
}
LIST_LIMIT = 500


def _workers(scope):
    if scope.agency is not None:
        ids = Sponsorship.objects.filter(status=Sponsorship.Status.ACTIVE, sponsor__agency=scope.agency).values_list(
            "worker_id", flat=True
        )
        qs = Worker.objects.filter(pk__in=ids)
    else:
        qs = Worker.objects.filter(village__parent__parent=scope.regency)
    return qs.filter(anonymized_at__isnull=True)


def reach_summary(scope, *, days: int = 30, now: dt.datetime | None = None) -> dict:
    since = (now or timezone.now()) - dt.timedelta(days=days)
    workers = list(
        _workers(scope)
        .order_by("village__parent__name", "village__name", "full_name")
        .values("pk", "full_name", "user_id", "phone_hash", "village__name", "village__parent__name")
    )
    user_ids = [w["user_id"] for w in workers if w["user_id"]]
    routes = routes_for(user_ids) if user_ids else {}
    failed = users_last_message_failed(user_ids, since=since) if user_ids else set()
    unreached = []
    for w in workers:
        route = routes.get(w["user_id"]) if w["user_id"] else None
        if route is not None and route.channels:
            if w["user_id"] in failed:
                unreached.append({**w, "reason": REASONS["failed"]})
            continue
        reason = REASONS["no_phone"] if not w["phone_hash"] else REASONS["no_consent"]
        unreached.append({**w, "reason": reason})
    villages: dict[tuple[str, str], int] = {}
    for w in unreached:
        key = (w["village__parent__name"], w["village__name"])
        villages[key] = villages.get(key, 0) + 1
    return {
        "days": days,
        "workers": len(workers),
        "channels": reach_by_channel(user_ids, since=since) if user_ids else reach_by_channel([], since=since),
        "reachable": len(workers) - len(unreached),
        "unreached_count": len(unreached),
        "unreached": unreached[:LIST_LIMIT],
        "villages": [{"district": d, "village": v, "count": n} for (d, v), n in sorted(villages.items())],
    }
