"""Matching's part of a worker's personal data: nominations hold a copy of the identifiers and are erased."""

from sponsorship.people.services.privacy import ERASED_NAME, tombstone

from .models import Nomination


def erase_nominations(worker, old_nik_hash: str) -> None:
    for rows in (Nomination.objects.filter(worker=worker), Nomination.objects.filter(nik_hash=old_nik_hash)):
        for pk in rows.values_list("pk", flat=True):
            Nomination.objects.filter(pk=pk).update(
                full_name=ERASED_NAME, nik="", nik_hash=tombstone(), phone="", phone_hash=""
            )
