"""The protection-action log: one row per step, kinds are an enumeration, newest first per worker."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from sponsorship.billing.models import ProtectionAction
from sponsorship.billing.services.protection_log import latest_actions, record_protection_action
from tests.factories import load_ponorogo, make_worker

pytestmark = pytest.mark.django_db


def test_actions_are_listed_newest_first_per_worker():
    load_ponorogo()
    a, b = make_worker(), make_worker(village_code="35.02.17.1002")
    now = timezone.now()
    record_protection_action(a.pk, "reminded_sponsor", detail={"days_left": 14}, at=now - dt.timedelta(days=7))
    record_protection_action(a.pk, ProtectionAction.Kind.BRIDGED, detail={"months": 1}, at=now)
    record_protection_action(b.pk, "handed_over", at=now)

    got = latest_actions([a.pk, b.pk])
    assert [r.kind for r in got[a.pk]] == ["bridged", "reminded_sponsor"]
    assert got[a.pk][1].detail == {"days_left": 14}
    assert [r.kind for r in got[b.pk]] == ["handed_over"]
    assert [r.kind for r in latest_actions([a.pk], since=now - dt.timedelta(days=1))[a.pk]] == ["bridged"]


def test_an_unknown_kind_is_an_error_and_writes_nothing():
    load_ponorogo()
    w = make_worker()
    with pytest.raises(ValueError), transaction.atomic():
        record_protection_action(w.pk, "reminded_sponsr")
    assert not ProtectionAction.objects.exists()
