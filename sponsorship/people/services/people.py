"""Writes for sponsors, workers and consent. Validation of identifiers happens here, once."""

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError, ConflictError
from sponsorship.core.audit import audit_record, snapshot
from sponsorship.people.crypto import keyed_hash, keyed_hashes
from sponsorship.people.identifiers import (
    IdentifierError,
    mask_nik,
    normalize_kpj,
    normalize_phone,
    parse_nik,
    parse_nip,
)
from sponsorship.people.models import Agency, Occupation, Sponsor, Worker, WorkerConsent
from sponsorship.regions.models import Region

from .worker_contact import contact_channels_clean, worker_contact_consent_set

WORKER_AUDIT_FIELDS = ["full_name", "occupation", "village", "welfare_decile", "kpj", "current_payer"]
# Phone numbers and precise coordinates are personal data: the audit row names them as changed, never their values.
SPONSOR_AUDIT_FIELDS = ["full_name", "agency", "home_village", "capacity", "contact_consent", "show_name_to_workers"]


class _Unset:
    """Marks an argument the caller did not pass (None is a value: it clears lat/lon or the decile)."""

    def __repr__(self):
        return "UNSET"


UNSET: Any = _Unset()


def _field_error(field, exc: IdentifierError):
    return ApplicationError(exc.message, code="invalid", extra={"fields": {field: [str(exc.message)]}})


# A consent recorded before this date is a typing error (year 0001 even overflowed the time zone arithmetic).
CONSENT_EARLIEST = dt.date(2000, 1, 1)


def consent_time_check(collected_at, *, field: str = "consent.collected_at") -> None:
    """Refuse a consent time before CONSENT_EARLIEST or in the future (a clear 400, not a 500)."""
    if collected_at is None:
        return
    day = collected_at.date() if isinstance(collected_at, dt.datetime) else collected_at
    if day < CONSENT_EARLIEST or day > timezone.localdate() + dt.timedelta(days=1):
        message = _("The consent date must lie between %(earliest)s and today.") % {
            "earliest": CONSENT_EARLIEST.strftime("%d/%m/%Y")
        }
        raise ApplicationError(message, code="invalid", extra={"fields": {field: [str(message)]}})


def nik_lookup_hash(nik_text: str) -> str:
    """Normalise and hash a NIK for lookups; raises ApplicationError for a malformed NIK."""
    try:
        return keyed_hash(parse_nik(nik_text).nik)
    except IdentifierError as exc:
        raise _field_error("nik", exc) from None


def _village(village) -> Region:
    region: Region | None
    if isinstance(village, Region):
        region = village
    else:
        region = Region.objects.filter(code=str(village)).first()
    if region is None or region.level != Region.Level.VILLAGE:
        raise ApplicationError(_("Unknown village."), extra={"fields": {"village": [str(_("Unknown village."))]}})
    return region


def _check_village_writable(village: Region, actor) -> None:
    """An admin registers and moves workers only within their own regency (issue 14: POST /workers/ with another
    regency's village, or a PATCH moving a worker out of scope, wrote across regencies)."""
    from sponsorship.people.scoping import admin_regency_id

    allowed = admin_regency_id(actor)
    district = village.parent
    if allowed is not None and (district is None or district.parent_id != allowed):
        message = _("The village must be in your own regency.")
        raise ApplicationError(message, code="outside_scope", extra={"fields": {"village": [str(message)]}})


def _phone(phone: str) -> str:
    """E.164 or "" for no phone."""
    if not phone:
        return ""
    try:
        return normalize_phone(phone)
    except IdentifierError as exc:
        raise _field_error("phone", exc) from None


def _kpj(kpj: str) -> str:
    if not kpj:
        return ""
    try:
        return normalize_kpj(kpj)
    except IdentifierError as exc:
        raise _field_error("kpj", exc) from None


def _check_capacity(capacity: int) -> None:
    if capacity not in (2, 3):
        raise ApplicationError(_("A sponsor covers 2 or 3 workers."), extra={"fields": {"capacity": ["2 / 3"]}})


def _check_village_in_agency_regency(village: Region, agency: Agency) -> None:
    if village.regency_code != agency.regency.code:
        raise ApplicationError(
            _("The home village must be in the agency's regency."),
            extra={"fields": {"home_village": [str(_("Outside the agency's regency."))]}},
        )


def _check_decile(welfare_decile: int | None) -> None:
    if welfare_decile is not None and not (1 <= int(welfare_decile) <= 10):
        raise ApplicationError(_("The welfare decile must be 1–10."), extra={"fields": {"welfare_decile": ["1–10"]}})


def _check_full_name(full_name: str) -> str:
    name = (full_name or "").strip()
    if not name:
        raise ApplicationError(_("The full name is required."), extra={"fields": {"full_name": [str(_("Required."))]}})
    return name


def _save_changes(obj, changes: dict[str, Any]) -> list[str]:
    """Set the fields that differ and save only those; returns their names."""
    changed = [name for name, value in changes.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, changes[name])
    if changed:
        obj.save(update_fields=[*changed, "updated_at"])
    return changed


@transaction.atomic
def sponsor_create(
    *,
    nip: str,
    asn_type: str,
    full_name: str,
    agency: Agency,
    home_village,
    capacity: int = 2,
    phone: str = "",
    lat: float | None = None,
    lon: float | None = None,
    contact_consent: bool = False,
    user=None,
    actor=None,
    today: dt.date | None = None,
) -> Sponsor:
    try:
        info = parse_nip(nip, kind=asn_type, today=today)
    except IdentifierError as exc:
        raise _field_error("nip", exc) from None
    _check_capacity(capacity)
    phone_e164 = _phone(phone)
    village = _village(home_village)
    _check_village_in_agency_regency(village, agency)
    if Sponsor.objects.filter(nip=info.nip).exists():
        raise ConflictError(_("This NIP is already registered."))
    sponsor = Sponsor.objects.create(
        user=user,
        nip=info.nip,
        asn_type=asn_type,
        full_name=full_name.strip(),
        birth_date=info.birth_date,
        sex=info.sex,
        agency=agency,
        home_village=village,
        capacity=capacity,
        phone=phone_e164,
        phone_hash=keyed_hash(phone_e164) if phone_e164 else "",
        lat=lat,
        lon=lon,
        contact_consent=contact_consent,
    )
    audit_record(
        actor=actor,
        action="sponsor.create",
        obj=sponsor,
        after=snapshot(sponsor, ["nip", "full_name", "agency", "home_village", "capacity"]),
    )
    return sponsor


def worker_find_by_nik(nik_text: str) -> Worker | None:
    """The worker with this NIK (under the current or a previous hash key); raises for a malformed NIK."""
    try:
        nik = parse_nik(nik_text).nik
    except IdentifierError as exc:
        raise _field_error("nik", exc) from None
    return Worker.objects.filter(nik_hash__in=keyed_hashes(nik)).first()


@transaction.atomic
def worker_create(
    *,
    nik: str,
    full_name: str,
    occupation: Occupation,
    village,
    phone: str = "",
    lat: float | None = None,
    lon: float | None = None,
    welfare_decile: int | None = None,
    kpj: str = "",
    current_payer: str = Worker.Payer.NONE,
    consent: dict | None = None,
    contact_channels: list[str] | None = None,
    actor=None,
    today: dt.date | None = None,
) -> Worker:
    """Create a worker with the consent record UU PDP requires. `consent` = {channel, text_version, collected_at?}.

    `contact_channels` (["whatsapp", "sms"]): the worker also consents to be reached there, collected the same way
    as `consent`; this creates their login user so reminders reach them without the app (worker_contact)."""
    try:
        info = parse_nik(nik, today=today)
    except IdentifierError as exc:
        raise _field_error("nik", exc) from None
    phone_e164 = _phone(phone)
    kpj = _kpj(kpj)
    _check_decile(welfare_decile)
    if not consent or not consent.get("channel") or not consent.get("text_version"):
        raise ApplicationError(
            _(
                "The worker's consent must be recorded (channel and consent text version).",
            ),
            extra={"fields": {"consent": [str(_("Required."))]}},
        )
    consent_time_check(consent.get("collected_at"))
    contact_channels = contact_channels_clean(contact_channels)
    if contact_channels and not phone_e164:
        message = _("A phone number is required before the worker can consent to WhatsApp or SMS.")
        raise ApplicationError(message, code="invalid", extra={"fields": {"phone": [str(message)]}})
    village = _village(village)
    _check_village_writable(village, actor)
    nik_hash = keyed_hash(info.nik)
    if Worker.objects.filter(nik_hash__in=keyed_hashes(info.nik)).exists():
        raise ConflictError(_("This NIK is already registered."), code="duplicate_nik")
    try:
        with transaction.atomic():
            worker = Worker.objects.create(
                nik=info.nik,
                nik_hash=nik_hash,
                full_name=full_name.strip(),
                birth_date=info.birth_date,
                sex=info.sex,
                phone=phone_e164,
                phone_hash=keyed_hash(phone_e164) if phone_e164 else "",
                occupation=occupation,
                village=village,
                lat=lat,
                lon=lon,
                welfare_decile=welfare_decile,
                kpj=kpj,
                current_payer=current_payer,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        raise ConflictError(_("This NIK is already registered."), code="duplicate_nik") from None
    WorkerConsent.objects.create(
        worker=worker,
        collected_by=actor if getattr(actor, "is_authenticated", False) else None,
        collected_at=consent.get("collected_at") or timezone.now(),
        channel=consent["channel"],
        text_version=consent["text_version"],
    )
    audit_record(
        actor=actor,
        action="worker.create",
        obj=worker,
        after={**snapshot(worker, WORKER_AUDIT_FIELDS), "nik": mask_nik(info.nik)},
    )
    if contact_channels:
        worker_contact_consent_set(worker=worker, channels=contact_channels, source=consent["channel"], actor=actor)
    return worker


def _update_extra(changed: list[str], source: str) -> dict:
    return {"fields": [f for f in changed if f != "phone_hash"], **({"source": source} if source else {})}


@transaction.atomic
def sponsor_update(
    *,
    sponsor: Sponsor,
    actor=None,
    full_name: str = UNSET,
    agency: Agency = UNSET,
    home_village: Region | str = UNSET,
    capacity: int = UNSET,
    phone: str = UNSET,
    lat: float | None = UNSET,
    lon: float | None = UNSET,
    contact_consent: bool = UNSET,
    show_name_to_workers: bool = UNSET,
    source: str = "",
) -> Sponsor:
    """Change a sponsor's details, validated as in `sponsor_create`. Identity (NIP, birth date, sex) never changes
    here, nor the status: leaving ends sponsorships (matching's `sponsor_leave`). `source` ("import", "admin")
    is kept in the audit row. Returns the saved row; fields not passed are left as they are."""
    current = Sponsor.objects.select_for_update().select_related("agency__regency").get(pk=sponsor.pk)
    changes: dict[str, Any] = {}
    if full_name is not UNSET:
        changes["full_name"] = _check_full_name(full_name)
    if capacity is not UNSET:
        _check_capacity(capacity)
        if capacity < current.active_sponsorships:
            raise ApplicationError(
                _("This sponsor already covers %(active_sponsorships)s workers; the capacity cannot be lower.")
                % {"active_sponsorships": current.active_sponsorships},
                extra={"fields": {"capacity": [str(current.active_sponsorships)]}},
            )
        changes["capacity"] = capacity
    if agency is not UNSET:
        changes["agency"] = agency
    if home_village is not UNSET:
        changes["home_village"] = _village(home_village)
    if agency is not UNSET or home_village is not UNSET:
        _check_village_in_agency_regency(
            changes.get("home_village", current.home_village), changes.get("agency", current.agency)
        )
    if phone is not UNSET:
        changes["phone"] = _phone(phone)
        changes["phone_hash"] = keyed_hash(changes["phone"]) if changes["phone"] else ""
    for name, value in (
        ("lat", lat),
        ("lon", lon),
        ("contact_consent", contact_consent),
        ("show_name_to_workers", show_name_to_workers),
    ):
        if value is not UNSET:
            changes[name] = value
    before = snapshot(current, SPONSOR_AUDIT_FIELDS)
    changed = _save_changes(current, changes)
    if changed:
        audit_record(
            actor=actor,
            action="sponsor.update",
            obj=current,
            before=before,
            after=snapshot(current, SPONSOR_AUDIT_FIELDS),
            extra=_update_extra(changed, source),
        )
    return current


@transaction.atomic
def worker_update(
    *,
    worker: Worker,
    actor=None,
    full_name: str = UNSET,
    occupation: Occupation = UNSET,
    village: Region | str = UNSET,
    lat: float | None = UNSET,
    lon: float | None = UNSET,
    welfare_decile: int | None = UNSET,
    kpj: str = UNSET,
    current_payer: str = UNSET,
    phone: str = UNSET,
    contact_channels: list[str] = UNSET,
    contact_source: str = UNSET,
    source: str = "",
) -> Worker:
    """Change a worker's details, validated as in `worker_create`. NIK, birth date and sex never change here.
    `contact_channels` records (or, for the channels left out, withdraws) the consent to be reached by WhatsApp/SMS,
    collected as `contact_source` says (in_person, paper, phone). Returns the saved row; fields not passed are left
    as they are."""
    current = Worker.objects.select_for_update().get(pk=worker.pk)
    changes: dict[str, Any] = {}
    if full_name is not UNSET:
        changes["full_name"] = _check_full_name(full_name)
    if occupation is not UNSET:
        changes["occupation"] = occupation
    if village is not UNSET:
        changes["village"] = _village(village)
        _check_village_writable(changes["village"], actor)
    if welfare_decile is not UNSET:
        _check_decile(welfare_decile)
        changes["welfare_decile"] = welfare_decile
    if kpj is not UNSET:
        changes["kpj"] = _kpj(kpj)
    if current_payer is not UNSET:
        if current_payer not in Worker.Payer.values:
            raise ApplicationError(
                _("Unknown premium payer."), extra={"fields": {"current_payer": [str(current_payer)]}}
            )
        changes["current_payer"] = current_payer
    if phone is not UNSET:
        changes["phone"] = _phone(phone)
        changes["phone_hash"] = keyed_hash(changes["phone"]) if changes["phone"] else ""
    for name, value in (("lat", lat), ("lon", lon)):
        if value is not UNSET:
            changes[name] = value
    before = snapshot(current, WORKER_AUDIT_FIELDS)
    changed = _save_changes(current, changes)
    if changed:
        audit_record(
            actor=actor,
            action="worker.update",
            obj=current,
            before=before,
            after=snapshot(current, WORKER_AUDIT_FIELDS),
            extra=_update_extra(changed, source),
        )
    if contact_channels is not UNSET:
        if contact_source is UNSET:
            contact_source = "import" if source == "import" else ""
        worker_contact_consent_set(worker=current, channels=contact_channels, source=contact_source, actor=actor)
    return current
