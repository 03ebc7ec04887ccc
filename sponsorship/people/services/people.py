"""Writes for sponsors, workers and consent. Validation of identifiers happens here, once."""
import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError, ConflictError
from sponsorship.people.crypto import keyed_hash
from sponsorship.people.identifiers import IdentifierError, mask_nik, normalize_kpj, normalize_phone, parse_nik, parse_nip
from sponsorship.people.models import Agency, Occupation, Sponsor, Worker, WorkerConsent
from sponsorship.regions.models import Region
from sponsorship.core.audit import audit_record, snapshot

WORKER_AUDIT_FIELDS = ["full_name", "occupation", "village", "welfare_decile", "kpj", "current_payer"]


def _field_error(field, exc: IdentifierError):
    return ApplicationError(exc.message, code="invalid", extra={"fields": {field: [str(exc.message)]}})


def nik_lookup_hash(nik_text: str) -> str:
    """Normalise and hash a NIK for lookups; raises ApplicationError for a malformed NIK."""
    try:
        return keyed_hash(parse_nik(nik_text).nik)
    except IdentifierError as exc:
        raise _field_error("nik", exc) from None


def _village(village) -> Region:
    if isinstance(village, Region):
        region = village
    else:
        region = Region.objects.filter(code=str(village)).first()
    if region is None or region.level != Region.Level.VILLAGE:
        raise ApplicationError(_("Unknown village."),
                               extra={"fields": {"village": [str(_("Unknown village."))]}})
    return region


@transaction.atomic
def sponsor_create(*, nip: str, asn_type: str, full_name: str, agency: Agency, home_village, capacity: int = 2,
                   phone: str = "", lat: float | None = None, lon: float | None = None,
                   contact_consent: bool = False, user=None, actor=None, today: dt.date | None = None) -> Sponsor:
    try:
        info = parse_nip(nip, kind=asn_type, today=today)
    except IdentifierError as exc:
        raise _field_error("nip", exc) from None
    if capacity not in (2, 3):
        raise ApplicationError(_("A sponsor covers 2 or 3 workers."),
                               extra={"fields": {"capacity": ["2 / 3"]}})
    phone_e164 = ""
    if phone:
        try:
            phone_e164 = normalize_phone(phone)
        except IdentifierError as exc:
            raise _field_error("phone", exc) from None
    village = _village(home_village)
    if village.regency_code != agency.regency.code:
        raise ApplicationError(_("The home village must be in the agency's regency."))
    if Sponsor.objects.filter(nip=info.nip).exists():
        raise ConflictError(_("This NIP is already registered."))
    sponsor = Sponsor.objects.create(
        user=user, nip=info.nip, asn_type=asn_type, full_name=full_name.strip(), birth_date=info.birth_date,
        sex=info.sex, agency=agency, home_village=village, capacity=capacity, phone=phone_e164,
        phone_hash=keyed_hash(phone_e164) if phone_e164 else "", lat=lat, lon=lon, contact_consent=contact_consent,
    )
    audit_record(actor=actor, action="sponsor.create", obj=sponsor,
                 after=snapshot(sponsor, ["nip", "full_name", "agency", "home_village", "capacity"]))
    return sponsor


def worker_find_by_nik(nik_text: str) -> Worker | None:
    return Worker.objects.filter(nik_hash=nik_lookup_hash(nik_text)).first()


@transaction.atomic
def worker_create(*, nik: str, full_name: str, occupation: Occupation, village, phone: str = "",
                  lat: float | None = None, lon: float | None = None, welfare_decile: int | None = None,
                  kpj: str = "", current_payer: str = Worker.Payer.NONE, consent: dict | None = None,
                  actor=None, today: dt.date | None = None) -> Worker:
    """Create a worker with the consent record UU PDP requires. `consent` = {channel, text_version, collected_at?}."""
    try:
        info = parse_nik(nik, today=today)
    except IdentifierError as exc:
        raise _field_error("nik", exc) from None
    phone_e164 = ""
    if phone:
        try:
            phone_e164 = normalize_phone(phone)
        except IdentifierError as exc:
            raise _field_error("phone", exc) from None
    if kpj:
        try:
            kpj = normalize_kpj(kpj)
        except IdentifierError as exc:
            raise _field_error("kpj", exc) from None
    if welfare_decile is not None and not (1 <= int(welfare_decile) <= 10):
        raise ApplicationError(_("The welfare decile must be 1–10."),
                               extra={"fields": {"welfare_decile": ["1–10"]}})
    if not consent or not consent.get("channel") or not consent.get("text_version"):
        raise ApplicationError(_(
            "The worker's consent must be recorded (channel and consent text version).",
        ), extra={"fields": {"consent": [str(_("Required."))]}})
    village = _village(village)
    nik_hash = keyed_hash(info.nik)
    if Worker.objects.filter(nik_hash=nik_hash).exists():
        raise ConflictError(_("This NIK is already registered."),
                            code="duplicate_nik")
    try:
        with transaction.atomic():
            worker = Worker.objects.create(
                nik=info.nik, nik_hash=nik_hash, full_name=full_name.strip(), birth_date=info.birth_date, sex=info.sex,
                phone=phone_e164, phone_hash=keyed_hash(phone_e164) if phone_e164 else "", occupation=occupation,
                village=village, lat=lat, lon=lon, welfare_decile=welfare_decile, kpj=kpj,
                current_payer=current_payer, created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        raise ConflictError(_("This NIK is already registered."),
                            code="duplicate_nik") from None
    WorkerConsent.objects.create(
        worker=worker, collected_by=actor if getattr(actor, "is_authenticated", False) else None,
        collected_at=consent.get("collected_at") or timezone.now(), channel=consent["channel"],
        text_version=consent["text_version"],
    )
    audit_record(actor=actor, action="worker.create", obj=worker,
                 after={**snapshot(worker, WORKER_AUDIT_FIELDS), "nik": mask_nik(info.nik)})
    return worker


@transaction.atomic
def worker_update(*, worker: Worker, actor=None, **changes) -> Worker:
    allowed = {"full_name", "occupation", "village", "lat", "lon", "welfare_decile", "kpj", "current_payer", "phone"}
    unknown = set(changes) - allowed
    if unknown:
        raise ApplicationError(f"unknown fields: {sorted(unknown)}")
    before = snapshot(worker, WORKER_AUDIT_FIELDS)
    if "phone" in changes:
        phone = changes.pop("phone")
        try:
            worker.phone = normalize_phone(phone) if phone else ""
        except IdentifierError as exc:
            raise _field_error("phone", exc) from None
        worker.phone_hash = keyed_hash(worker.phone) if worker.phone else ""
    if changes.get("kpj"):
        try:
            changes["kpj"] = normalize_kpj(changes["kpj"])
        except IdentifierError as exc:
            raise _field_error("kpj", exc) from None
    if "village" in changes:
        changes["village"] = _village(changes["village"])
    for key, value in changes.items():
        setattr(worker, key, value)
    worker.save()
    audit_record(actor=actor, action="worker.update", obj=worker, before=before,
                 after=snapshot(worker, WORKER_AUDIT_FIELDS))
    return worker
