"""Worker sign-in: NIK + date of birth, then a one-time code sent to the registered phone.

Rules that keep NIKs from being enumerated:
- every well-formed request gets the same answer ("if the data match, a code was sent") and a challenge
  token, whether the NIK is unknown, the date of birth is wrong, or the worker has no phone;
- only a challenge bound to a real worker with the right date of birth can ever be verified;
- attempts are throttled per IP and per NIK hash (see sponsorship.people.api.worker_auth) and each one is
  written to the audit log with its outcome, never with the NIK itself (only a prefix of its keyed hash).
The code goes out by WhatsApp, else SMS (`WORKER_OTP_PROVIDER = "channels"`, notifications.otp), or to the dev
console ("console"). `""` (NIK + date of birth alone) and "console" are refused by production settings.
No code is ever written to a log: it exists in clear only in memory, in the provider request and on the phone.
"""

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.tokens import RefreshToken

from backend.api.errors import ApplicationError
from notifications.otp import otp_send
from sponsorship.core.audit import audit_record
from sponsorship.people.crypto import keyed_hash, keyed_hashes
from sponsorship.people.identifiers import IdentifierError, mask_phone, parse_nik
from sponsorship.people.models import Profile, Role, Worker, WorkerSignInChallenge

logger = logging.getLogger(__name__)

NO_MATCH = _("The data do not match or the code is wrong/expired. Check the NIK, date of birth and code, then retry.")


@dataclass(frozen=True)
class ChallengeResult:
    challenge: str | None  # token to send back with the code; None when no code step is configured
    tokens: dict | None  # access/refresh when signed in directly (no SMS provider)
    expires_in: int


def _code_hash(token: str, code: str) -> str:
    return hmac.new(settings.PII_HASH_KEY.encode(), f"{token}:{code}".encode(), hashlib.sha256).hexdigest()


def _send_code(worker: Worker, code: str) -> None:
    """Deliver the code after commit. It never goes through `logging` (issue 14.1): no handler, file or log
    service ever sees it; only the outcome is logged and audited."""
    provider = settings.WORKER_OTP_PROVIDER
    if provider == "console":
        # Development only (production settings refuse it): the dev console, not the log.
        print(f"[SMS console] kode masuk Pengampu untuk {mask_phone(worker.phone)}: {code}", flush=True)  # noqa: T201
        return
    if provider != "channels":
        raise ApplicationError(_("The SMS service is not configured."), code="sms_unavailable", status_code=503)
    delivery = otp_send(phone=worker.phone, code=code, ttl_seconds=settings.WORKER_OTP_TTL_SECONDS)
    audit_record(
        actor=None,
        action="worker_auth.request",
        object_type="worker",
        object_id=worker.pk,
        extra={
            "outcome": "code_sent" if delivery.channel else "code_undelivered",
            "channel": delivery.channel or "",
            "errors": list(delivery.errors),
        },
    )
    if delivery.channel is None:
        logger.warning("worker sign-in code for worker %s reached no channel: %s", worker.pk, delivery.errors)


def _hash_of(nik: str) -> str | None:
    try:
        return keyed_hash(parse_nik(nik).nik)
    except IdentifierError:
        return None


def _invalid(field: str, message):
    return ApplicationError(message, code="invalid", extra={"fields": {field: [str(message)]}})


def worker_user_for(worker: Worker):
    """The worker's login user (created on first sign-in), with role worker: scoping limits it to own data."""
    if worker.user_id:
        Profile.objects.get_or_create(user_id=worker.user_id, defaults={"role": Role.WORKER})
        return worker.user
    User = get_user_model()
    user = User.objects.create_user(username=f"pekerja-{worker.pk}")
    user.set_unusable_password()
    user.save(update_fields=["password"])
    Profile.objects.create(user=user, role=Role.WORKER)
    Worker.objects.filter(pk=worker.pk).update(user=user)
    worker.user = user
    return user


def issue_worker_tokens(worker: Worker) -> dict:
    user = worker_user_for(worker)
    refresh = RefreshToken.for_user(user)
    refresh["role"] = Role.WORKER
    refresh["worker_id"] = worker.pk
    return {"access": str(refresh.access_token), "refresh": str(refresh), "worker_id": worker.pk}


@transaction.atomic
def worker_signin_request(*, nik: str, birth_date: dt.date, ip: str | None = None) -> ChallengeResult:
    nik_hash = _hash_of(nik)
    if nik_hash is None:  # a malformed NIK says nothing about who is registered
        audit_record(
            actor=None, action="worker_auth.request", object_type="worker", ip=ip, extra={"outcome": "malformed_nik"}
        )
        raise _invalid("nik", _("The NIK format is not valid (16 digits)."))
    worker = Worker.objects.filter(nik_hash__in=keyed_hashes(parse_nik(nik).nik), anonymized_at__isnull=True).first()
    # The worker whose NIK and birth date both match; None when either does not.
    matched = worker if worker is not None and worker.birth_date == birth_date else None
    outcome = "matched" if matched else ("wrong_birth_date" if worker else "unknown_nik")
    if matched and not settings.WORKER_OTP_PROVIDER:
        audit_record(
            actor=None,
            action="worker_auth.request",
            object_type="worker",
            object_id=matched.pk,
            ip=ip,
            extra={"outcome": "signed_in_without_code", "nik_hash": nik_hash[:12]},
        )
        return ChallengeResult(challenge=None, tokens=issue_worker_tokens(matched), expires_in=0)
    if matched and not matched.phone:
        outcome = "no_phone"
    if not settings.WORKER_OTP_PROVIDER:
        audit_record(
            actor=None,
            action="worker_auth.request",
            object_type="worker",
            ip=ip,
            extra={"outcome": outcome, "nik_hash": nik_hash[:12]},
        )
        raise ApplicationError(NO_MATCH, code="no_match", status_code=400)
    token = secrets.token_urlsafe(32)
    code = f"{secrets.randbelow(1_000_000):06d}"
    ttl = settings.WORKER_OTP_TTL_SECONDS
    recipient = matched if matched and matched.phone else None  # who the code can be sent to
    WorkerSignInChallenge.objects.create(
        nik_hash=nik_hash,
        worker=recipient,
        token=token,
        code_hash=_code_hash(token, code) if recipient else "-",
        ip=ip,
        expires_at=timezone.now() + dt.timedelta(seconds=ttl),
    )
    audit_record(
        actor=None,
        action="worker_auth.request",
        object_type="worker",
        object_id=worker.pk if worker else "",
        ip=ip,
        extra={"outcome": outcome, "nik_hash": nik_hash[:12]},
    )
    if recipient:
        transaction.on_commit(lambda: _send_code(recipient, code))
    return ChallengeResult(challenge=token, tokens=None, expires_in=ttl)


def worker_signin_verify(*, challenge: str, code: str, ip: str | None = None) -> dict:
    """Exchange a challenge token + code for JWTs. Wrong, expired, used or unknown: the same answer."""
    now = timezone.now()
    with transaction.atomic():
        row = WorkerSignInChallenge.objects.select_for_update().filter(token=challenge).first()
        outcome = "ok"
        if row is None:
            outcome = "unknown_challenge"
        elif row.used_at is not None:
            outcome = "already_used"
        elif row.expires_at <= now:
            outcome = "expired"
        elif row.attempts >= settings.WORKER_OTP_MAX_ATTEMPTS:
            outcome = "too_many_attempts"
        elif row.worker_id is None:
            outcome = "no_match"
        elif not hmac.compare_digest(row.code_hash, _code_hash(row.token, str(code).strip())):
            outcome = "wrong_code"
        if row is not None and outcome != "unknown_challenge":
            WorkerSignInChallenge.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        if row is not None and outcome == "ok":  # "ok" is only ever reached with a row
            # Conditional update: two parallel verifies of one code cannot both win.
            won = WorkerSignInChallenge.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
            outcome = "ok" if won else "already_used"
        audit_record(
            actor=None,
            action="worker_auth.verify",
            object_type="worker",
            object_id=row.worker_id if row and row.worker_id else "",
            ip=ip,
            extra={"outcome": outcome, "nik_hash": row.nik_hash[:12] if row else ""},
        )
    # The attempt counter and the audit row are committed before a failure is answered.
    if outcome != "ok":
        raise ApplicationError(NO_MATCH, code="no_match", status_code=400)
    assert row is not None and row.worker_id is not None  # both checked before outcome could stay "ok"
    worker = Worker.objects.get(pk=row.worker_id)
    with transaction.atomic():
        tokens = issue_worker_tokens(worker)
        audit_record(actor=worker.user, action="worker_auth.signed_in", obj=worker, ip=ip)
    return tokens


def nik_hash_for_throttle(nik) -> str | None:
    return _hash_of(str(nik or ""))
