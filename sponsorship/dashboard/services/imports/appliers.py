"""Writing validated rows through the people services: one function per kind, one row per call.

Each call runs inside the caller's savepoint, so a row that fails (the data changed since the preview) rolls back
alone; the caller decides whether that cancels the whole batch. Returns "created", "updated" or "unchanged".
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from backend.api.errors import ApplicationError
from sponsorship.dashboard.models import ImportBatch
from sponsorship.matching.models import Nomination
from sponsorship.matching.services.nominations import nomination_submit
from sponsorship.people.crypto import keyed_hashes
from sponsorship.people.models import Agency, Occupation, Role, Sponsor, Sponsorship, Worker
from sponsorship.people.scoping import role_of, scope
from sponsorship.people.services import people
from sponsorship.people.services.deciles import worker_kk_set
from sponsorship.people.services.sponsorships import sponsorship_start
from sponsorship.people.services.worker_contact import worker_contact_channels, worker_contact_consent_set
from sponsorship.regions.models import Region

from .dtsen import apply_dtsen


def _apply_sponsor(row: dict, actor) -> str:
    current = Sponsor.objects.select_for_update().filter(nip=row["nip"]).first()
    if current is None:
        people.sponsor_create(
            nip=row["nip"],
            asn_type=row["asn_type"],
            full_name=row["full_name"],
            agency=Agency.objects.get(pk=row["agency_id"]),
            home_village=Region.objects.get(pk=row["village_id"]),
            capacity=row["capacity"],
            phone=row["phone"],
            actor=actor,
        )
        return "created"
    changes: dict = {}
    if current.full_name != row["full_name"]:
        changes["full_name"] = row["full_name"]
    if current.agency_id != row["agency_id"]:
        changes["agency"] = Agency.objects.get(pk=row["agency_id"])
    if current.home_village_id != row["village_id"]:
        changes["home_village"] = Region.objects.get(pk=row["village_id"])
    if current.capacity != row["capacity"]:
        changes["capacity"] = row["capacity"]
    if row["phone"] and current.phone != row["phone"]:  # an empty cell keeps the phone on file
        changes["phone"] = row["phone"]
    if not changes:
        return "unchanged"
    people.sponsor_update(sponsor=current, actor=actor, source="import", **changes)
    return "updated"


def _refer_to_regency_admin(row: dict, actor) -> str:
    """An agency admin's row whose NIK belongs to a worker outside their scope: neither written nor explained to
    them (that would tell them about that worker); it becomes a nomination by the row's ASN, which the regency
    admin checks with everything in view. Counted as the row of a new worker, as the preview showed it."""
    nomination_submit(
        sponsor=Sponsor.objects.get(nip=row["sponsor_nip"]),
        nik=row["nik"],
        full_name=row["full_name"],
        occupation=Occupation.objects.get(pk=row["occupation_id"]),
        village=Region.objects.get(pk=row["village_id"]),
        relationship=Nomination.Relationship.OTHER,
        consent_channel=row["consent_channel"],
        consent_text_version=row["consent_version"],
        consent_collected_at=timezone.make_aware(dt.datetime.fromisoformat(row["consent_date"])),
        phone=row["phone"] or "",
        actor=actor,
    )
    return "created"


def _apply_worker(row: dict, actor) -> str:
    current = Worker.objects.select_for_update().filter(nik_hash__in=keyed_hashes(row["nik"])).first()
    if (
        current is not None
        and role_of(actor) == Role.AGENCY_ADMIN
        and not scope(Worker.objects.filter(pk=current.pk), actor).exists()
    ):
        return _refer_to_regency_admin(row, actor)
    outcome = "unchanged"
    if current is None:
        current = people.worker_create(
            nik=row["nik"],
            full_name=row["full_name"],
            occupation=Occupation.objects.get(pk=row["occupation_id"]),
            village=Region.objects.get(pk=row["village_id"]),
            phone=row["phone"],
            welfare_decile=row["welfare_decile"],
            kpj=row["kpj"],
            contact_channels=row.get("contact_channels") or None,
            actor=actor,
            consent={
                "channel": row["consent_channel"],
                "text_version": row["consent_version"],
                "collected_at": timezone.make_aware(dt.datetime.fromisoformat(row["consent_date"])),
            },
        )
        outcome = "created"
    else:
        wanted = {
            "full_name": row["full_name"],
            "occupation": Occupation.objects.get(pk=row["occupation_id"]),
            "village": Region.objects.get(pk=row["village_id"]),
            "welfare_decile": row["welfare_decile"],
        }
        if row["phone"]:
            wanted["phone"] = row["phone"]
        if row["kpj"]:
            wanted["kpj"] = row["kpj"]
        changes = {k: v for k, v in wanted.items() if getattr(current, k) != v}
        if changes:
            current = people.worker_update(worker=current, actor=actor, source="import", **changes)
            outcome = "updated"
        # A filled "Boleh Dihubungi Lewat" cell records the consent (an empty cell keeps what is on file).
        if row.get("contact_channels") and row["contact_channels"] != worker_contact_channels(current):
            worker_contact_consent_set(
                worker=current, channels=row["contact_channels"], source=row["consent_channel"] or "import", actor=actor
            )
            outcome = "updated"
    if row.get("kk") and current.kk_hash not in keyed_hashes(row["kk"]):
        worker_kk_set(worker=current, kk=row["kk"], actor=actor)
        outcome = "created" if outcome == "created" else "updated"
    if row.get("sponsor_nip"):
        sponsor = Sponsor.objects.get(nip=row["sponsor_nip"])
        holding = Sponsorship.objects.filter(worker=current, status=Sponsorship.Status.ACTIVE).first()
        if holding is None:
            sponsorship_start(sponsor=sponsor, worker=current, source=Sponsorship.Source.IMPORT, actor=actor)
            outcome = "created" if outcome == "created" else "updated"
        elif holding.sponsor_id != sponsor.pk:
            raise ApplicationError("Pekerja ini sudah diampu ASN lain.")
    return outcome


_APPLIERS: dict[str, Callable[[dict, Any], str]] = {
    ImportBatch.Kind.SPONSORS: _apply_sponsor,
    ImportBatch.Kind.WORKERS: _apply_worker,
    ImportBatch.Kind.DTSEN: apply_dtsen,
}


def apply_row(kind: str, row: dict, actor) -> str:
    """Write one validated row; raises ApplicationError when it can no longer be written."""
    return _APPLIERS[kind](row, actor)
