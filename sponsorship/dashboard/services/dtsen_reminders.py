"""The quarterly DTSEN reminder: a regency's admins are told when a new ranking round is due.

A round is due `dtsen_round_months` after the last round's ranking date (BPS re-ranks quarterly). Only regencies
that work with DTSEN are reminded: a decile cut-off is set, or a round was imported. One reminder per admin and
due date (the dedupe key), so the daily schedule entry sends it once; never imported: once per quarter.
"""

import datetime as dt

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from notifications.services import NotifyRequest, batched_sends, notify_bulk
from sponsorship.core.periods import add_months, month_start
from sponsorship.people.models import DecileRound, Profile, Role
from sponsorship.regions.models import RegencyConfig


def dtsen_round_due_on(config: RegencyConfig, last_round: dt.date | None, today: dt.date) -> dt.date | None:
    """The date the next round is due (in the past or today when a reminder is owed), None if not yet."""
    if last_round is None:
        quarter = month_start(today).replace(month=(today.month - 1) // 3 * 3 + 1)
        return quarter
    due = add_months(month_start(last_round), config.dtsen_round_months)
    return due if due <= today else None


def dtsen_reminders_send(*, today: dt.date | None = None, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    last = dict(
        DecileRound.objects.values("regency_id").annotate(last=Max("ranked_on")).values_list("regency_id", "last")
    )
    requests = []
    for config in RegencyConfig.objects.select_related("regency"):
        last_round = last.get(config.regency_id)
        if config.decile_cutoff is None and last_round is None:
            continue
        due = dtsen_round_due_on(config, last_round, today)
        if due is None:
            continue
        for user_id in Profile.objects.filter(role=Role.REGENCY_ADMIN, regency_id=config.regency_id).values_list(
            "user_id", flat=True
        ):
            requests.append(
                NotifyRequest(
                    user_id=user_id,
                    kind="dtsen_round_due",
                    dedupe_key=f"dtsen_round_due:{user_id}:{config.regency_id}:{due:%Y-%m}",
                    context={"regency": config.regency.name, "last_round": last_round},
                    data={"regency": config.regency.code},
                )
            )
    if not requests:
        return 0
    with transaction.atomic(), batched_sends():
        return len(notify_bulk(requests, now=now))
