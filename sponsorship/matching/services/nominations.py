"""Nominations: a sponsor names a worker they know; an admin verifies (→ worker + sponsorship) or rejects.

Checks (stored on the nomination, re-run at verification):
- blocking: malformed or under/over-age NIK, NIK of a worker who already has a payer (regency budget,
  self, another sponsor), the nominating sponsor has no free capacity, no consent record;
- flags (shown to the admin, never blocking): possible conflict of interest (relative, same phone as
  the sponsor, same village and surname), another sponsor's pending nomination for the same NIK.
An existing worker with no payer is reused, not duplicated.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError, ConflictError
from sponsorship.core.audit import audit_record
from sponsorship.core.transitions import transition
from sponsorship.matching.models import Nomination
from sponsorship.matching.selectors import regency_config
from sponsorship.people.crypto import keyed_hash, keyed_hashes
from sponsorship.people.identifiers import IdentifierError, age_on, mask_nik, normalize_phone, parse_nik
from sponsorship.people.models import Occupation, Role, Sponsor, Sponsorship, Worker, WorkerConsent
from sponsorship.people.scoping import role_of, scope
from sponsorship.people.services.people import _village, consent_time_check, worker_create
from sponsorship.people.services.sponsorships import sponsorship_start


def _field_error(field, message):
    return ApplicationError(message, code="invalid", extra={"fields": {field: [str(message)]}})


def _surname(name: str) -> str:
    parts = (name or "").strip().lower().split()
    return parts[-1] if len(parts) > 1 else ""


def nomination_checks(nomination: Nomination, *, today=None) -> dict:
    """Plain-data results: {"blocking": [{code, message}], "flags": [{code, message}], ...}."""
    today = today or timezone.localdate()
    sponsor = nomination.sponsor
    regency = sponsor.agency.regency
    config = regency_config(regency)
    blocking, flags = [], []
    info = parse_nik(nomination.nik, today=today)
    age = age_on(info.birth_date, today)
    if age >= config.max_new_member_age:
        blocking.append(
            {
                "code": "age_limit",
                "message": gettext("The worker is %(age)s; new members here must be under %(max_new_member_age)s.")
                % {"age": age, "max_new_member_age": config.max_new_member_age},
            }
        )
    existing = Worker.objects.filter(nik_hash__in=keyed_hashes(nomination.nik)).first()
    # Asked whether or not the worker exists, so the time an answer takes does not tell either.
    active = Sponsorship.objects.filter(
        worker__nik_hash__in=keyed_hashes(nomination.nik), status=Sponsorship.Status.ACTIVE
    ).first()
    existing_info = None
    if existing is not None:
        existing_info = {
            "worker_id": existing.pk,
            "current_payer": existing.current_payer,
            "free": existing.current_payer == Worker.Payer.NONE and active is None,
        }
        if active is not None or existing.current_payer == Worker.Payer.SPONSOR:
            if active is not None and active.sponsor_id == sponsor.pk:
                blocking.append({"code": "already_yours", "message": gettext("You already sponsor this worker.")})
            else:
                blocking.append(
                    {"code": "covered_by_sponsor", "message": gettext("Another sponsor already pays for this worker.")}
                )
        elif existing.current_payer == Worker.Payer.REGENCY_BUDGET:
            blocking.append(
                {"code": "covered_by_budget", "message": gettext("The regency budget already pays for this worker.")}
            )
        elif existing.current_payer == Worker.Payer.SELF:
            blocking.append({"code": "pays_self", "message": gettext("This worker already pays their own premiums.")})
        elif existing.anonymized_at is not None:
            blocking.append({"code": "anonymized", "message": gettext("This worker's data was erased on request.")})
    if nomination.village.regency_code != regency.code:
        blocking.append(
            {"code": "other_regency", "message": gettext("The worker's village is outside the sponsor's regency.")}
        )
    # Conflict of interest: flagged for the admin's judgement, not blocked (a relative may be a fine choice).
    coi = []
    if nomination.relationship == Nomination.Relationship.RELATIVE:
        coi.append({"code": "relative", "message": gettext("The worker is a relative.")})
    if nomination.phone_hash and nomination.phone_hash == sponsor.phone_hash:
        coi.append({"code": "same_phone", "message": gettext("The worker's phone number is the sponsor's.")})
    surname = _surname(nomination.full_name)
    if nomination.village_id == sponsor.home_village_id and surname and surname == _surname(sponsor.full_name):
        coi.append(
            {
                "code": "same_village_surname",
                "message": gettext("Same village and surname as the sponsor (possibly the same household)."),
            }
        )
    flags.extend(coi)
    others = Nomination.objects.filter(
        nik_hash__in=keyed_hashes(nomination.nik), status=Nomination.Status.SUBMITTED
    ).exclude(sponsor=sponsor)
    if nomination.pk:
        others = others.exclude(pk=nomination.pk)
    if others.exists():
        flags.append(
            {"code": "nominated_by_other", "message": gettext("Another sponsor has also nominated this worker.")}
        )
    return {
        "blocking": blocking,
        "flags": flags,
        "conflict_of_interest": bool(coi),
        "age": age,
        "existing_worker": existing_info,
        "checked_at": timezone.now().isoformat(),
    }


# What each role sees of the checks (issue 14: a sponsor's answer said whether a NIK belonged to a worker and who
# paid, even in another regency). A sponsor sees only what follows from their own input and themself; an agency
# admin also sees facts about a worker their agency sponsors now; a regency admin (and a superuser) sees all: they
# are who such cases are routed to. The codes about other people below are hidden from the others, so a NIK that
# belongs to someone out of the caller's scope answers exactly as a NIK nobody has.
SELF_CODES = frozenset(
    {"age_limit", "other_regency", "already_yours", "relative", "same_phone", "same_village_surname"}
)
REGENCY_CHECK = "regency_check"


def _sees_everything(user) -> bool:
    return role_of(user) in ("superuser", Role.REGENCY_ADMIN)


def _worker_visible(checks: dict, user) -> bool:
    existing = (checks or {}).get("existing_worker")
    if not existing or role_of(user) != Role.AGENCY_ADMIN:
        return False
    return scope(Worker.objects.filter(pk=existing["worker_id"]), user).exists()


def hidden_blocking(checks: dict, user) -> list[dict]:
    """The blocking results `user` may not be told (facts about someone outside their scope)."""
    if _sees_everything(user) or _worker_visible(checks, user):
        return []
    return [b for b in (checks or {}).get("blocking", []) if b["code"] not in SELF_CODES]


def nomination_checks_seen_by(nomination: Nomination, user) -> dict:
    """The nomination's checks as `user` may see them (see SELF_CODES)."""
    checks = dict(nomination.checks or {})
    if _sees_everything(user) or _worker_visible(checks, user):
        return checks
    seen = {
        "blocking": [b for b in checks.get("blocking", []) if b["code"] in SELF_CODES],
        "flags": [f for f in checks.get("flags", []) if f["code"] in SELF_CODES | {REGENCY_CHECK}],
        "conflict_of_interest": checks.get("conflict_of_interest", False),
        "checked_at": checks.get("checked_at"),
    }
    if role_of(user) == Role.AGENCY_ADMIN:
        seen["age"] = checks.get("age")
    return seen


def nomination_reject_reason_seen_by(nomination: Nomination, user) -> str:
    """An automatic rejection's reason names other people's facts ("another sponsor pays"): others get a pointer."""
    reason = nomination.reject_reason or ""
    if reason and any(b["message"] in reason for b in hidden_blocking(nomination.checks, user)):
        return gettext("The regency admin could not accept this nomination; ask them for the reason.")
    return reason  # an admin's own words are for the sponsor


def nomination_submit(
    *,
    sponsor: Sponsor,
    nik: str,
    full_name: str,
    occupation: Occupation,
    village,
    relationship: str,
    consent_channel: str,
    consent_text_version: str,
    phone: str = "",
    consent_collected_at=None,
    actor=None,
) -> Nomination:
    try:
        info = parse_nik(nik)
    except IdentifierError as exc:
        raise _field_error("nik", exc.message) from None
    phone_e164 = ""
    if phone:
        try:
            phone_e164 = normalize_phone(phone)
        except IdentifierError as exc:
            raise _field_error("phone", exc.message) from None
    if relationship not in Nomination.Relationship.values:
        raise _field_error("relationship", _("Unknown relationship."))
    if consent_channel not in WorkerConsent.Channel.values or not consent_text_version:
        raise _field_error(
            "consent_channel", _("How the worker's consent was obtained and the text version are required.")
        )
    consent_time_check(consent_collected_at, field="consent_collected_at")
    if sponsor.status != Sponsor.Status.ACTIVE:
        raise ConflictError(_("This sponsor is not active."), code="sponsor_inactive")
    if sponsor.free_capacity <= 0:
        raise ConflictError(_("You have no free sponsorship capacity."), code="capacity_full")
    village = _village(village)
    nomination = Nomination(
        sponsor=sponsor,
        nik=info.nik,
        nik_hash=keyed_hash(info.nik),
        full_name=full_name.strip(),
        phone=phone_e164,
        phone_hash=keyed_hash(phone_e164) if phone_e164 else "",
        occupation=occupation,
        village=village,
        relationship=relationship,
        consent_channel=consent_channel,
        consent_text_version=consent_text_version,
        consent_collected_at=consent_collected_at or timezone.now(),
    )
    checks = nomination_checks(nomination)
    nomination.checks, nomination.flags = checks, [f["code"] for f in checks["flags"]]
    nomination.conflict_of_interest = checks["conflict_of_interest"]
    try:
        with transaction.atomic():
            nomination.save()
            audit_record(
                actor=actor,
                action="nomination.submit",
                obj=nomination,
                after={
                    "sponsor": sponsor.pk,
                    "nik": mask_nik(info.nik),
                    "relationship": relationship,
                    "flags": nomination.flags,
                },
            )
    except IntegrityError:
        raise ConflictError(
            _("You have already nominated this NIK; wait for the admin to verify it."), code="duplicate_nomination"
        ) from None
    return nomination


def _decide(nomination: Nomination, *, status: str, actor, reason: str = "", **extra_fields) -> bool:
    now = timezone.now()
    return transition(
        Nomination,
        nomination.pk,
        to=status,
        reviewer=actor if getattr(actor, "is_authenticated", False) else None,
        reviewed_at=now,
        reject_reason=reason[:300],
        **extra_fields,
    )


def nomination_reject(*, nomination: Nomination, reason: str, actor=None) -> Nomination:
    with transaction.atomic():
        if not _decide(nomination, status=Nomination.Status.REJECTED, actor=actor, reason=reason or ""):
            raise ConflictError(_("This nomination has already been decided."), code="already_decided")
        audit_record(
            actor=actor,
            action="nomination.reject",
            obj=nomination,
            before={"status": "submitted"},
            after={"status": "rejected", "reason": reason},
        )
    nomination.refresh_from_db()
    return nomination


def nomination_verify(*, nomination: Nomination, actor=None) -> Nomination:
    """Verify: re-run the checks; a blocking result rejects the nomination with its reason (then 409).
    Otherwise create or reuse the worker and start the sponsorship (source nomination), all or nothing."""
    if nomination.status != Nomination.Status.SUBMITTED:
        raise ConflictError(_("This nomination has already been decided."), code="already_decided")
    checks = nomination_checks(nomination)
    if actor is not None and hidden_blocking(checks, actor):  # None: the system itself, which sees everything
        # The answer would tell this admin about someone outside their scope: pass it to the regency admin instead
        # (who may see them) and say only that.
        if REGENCY_CHECK not in nomination.flags:
            flags = [*nomination.flags, REGENCY_CHECK]
            checks["flags"] = [
                *checks["flags"],
                {"code": REGENCY_CHECK, "message": gettext("Passed to the regency admin for a check.")},
            ]
            with transaction.atomic():
                Nomination.objects.filter(pk=nomination.pk, status=Nomination.Status.SUBMITTED).update(
                    checks=checks, flags=flags
                )
                audit_record(actor=actor, action="nomination.referred", obj=nomination, after={"to": "regency_admin"})
        raise ConflictError(
            _("This nomination needs a check by the regency admin; it has been passed on to them."),
            code=REGENCY_CHECK,
            extra={"nomination_id": nomination.pk},
        )
    if checks["blocking"]:
        reason = "; ".join(b["message"] for b in checks["blocking"])
        with transaction.atomic():
            Nomination.objects.filter(pk=nomination.pk).update(checks=checks)
            if _decide(nomination, status=Nomination.Status.REJECTED, actor=actor, reason=reason):
                audit_record(
                    actor=actor,
                    action="nomination.reject",
                    obj=nomination,
                    before={"status": "submitted"},
                    after={"status": "rejected", "reason": reason, "automatic": True},
                )
        nomination.refresh_from_db()
        raise ConflictError(
            _("Nomination rejected: %(reason)s") % {"reason": reason},
            code="nomination_blocked",
            extra={"reasons": checks["blocking"], "nomination_id": nomination.pk},
        )
    consent = {
        "channel": nomination.consent_channel,
        "text_version": nomination.consent_text_version,
        "collected_at": nomination.consent_collected_at,
    }
    with transaction.atomic():
        existing = checks["existing_worker"]
        if existing:
            worker = Worker.objects.get(pk=existing["worker_id"])
            WorkerConsent.objects.create(
                worker=worker,
                collected_by=nomination.sponsor.user,
                collected_at=nomination.consent_collected_at,
                channel=nomination.consent_channel,
                text_version=nomination.consent_text_version,
            )
        else:
            worker = worker_create(
                nik=nomination.nik,
                full_name=nomination.full_name,
                occupation=nomination.occupation,
                village=nomination.village,
                phone=nomination.phone,
                consent=consent,
                actor=actor,
            )
        sponsorship = sponsorship_start(
            sponsor=nomination.sponsor, worker=worker, source=Sponsorship.Source.NOMINATION, actor=actor
        )
        if not _decide(
            nomination,
            status=Nomination.Status.VERIFIED,
            actor=actor,
            worker=worker,
            sponsorship=sponsorship,
            checks=checks,
        ):
            raise ConflictError(_("This nomination has already been decided."), code="already_decided")
        audit_record(
            actor=actor,
            action="nomination.verify",
            obj=nomination,
            before={"status": "submitted"},
            after={"status": "verified", "worker": worker.pk, "sponsorship": sponsorship.pk, "flags": nomination.flags},
        )
    nomination.refresh_from_db()
    return nomination
