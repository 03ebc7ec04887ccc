"""Life events: a worker dies, gets a formal job or another payer, reaches the age limit or moves away; a sponsor
retires, dies, moves to another regency or leaves the civil service.

Each is an end reason with its effects, done in one transaction (`life_event_record`):
- the event is recorded (kind, date, who declared it, evidence) and audited;
- the worker's or the sponsor's state moves (`Worker.TRANSITIONS`, `Sponsor.TRANSITIONS`), or the worker's payer;
- every active sponsorship concerned ends through `sponsorship_end`, so the hand-over rule releases unpaid later
  months (docs/money-rules.md) and the billing run bills them no more;
- open offers of that worker / to that sponsor are withdrawn and workers who still need a sponsor are re-matched
  (matching registers both at start-up: `register_matching`, the import still points down);
- the people concerned are told (after commit, through the notifications outbox): the family of a worker who died
  how to claim JKM (and the scholarship when eligible), the sponsor that the sponsorship ended (why, for a death,
  only with the family's consent) and that they may choose another worker, a worker whose sponsor left that a new
  one is being sought.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError, ConflictError
from notifications.services import notify
from sponsorship.core.audit import AuditAction, audit_record
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.core.transitions import transition
from sponsorship.people.models import LifeEvent, Sponsor, Sponsorship, Worker
from sponsorship.people.services.sponsorships import sponsorship_end, sponsorship_end_prepare
from sponsorship.regions.models import RegencyConfig

K = LifeEvent.Kind

# JKM (Permenaker 1/2025, /work domain brief §3): Rp 42 M, only Rp 10 M in the first 3 months of membership;
# the scholarship (up to 2 children) after at least 36 months of contributions.
JKM_FULL_IDR = 42_000_000
JKM_EARLY_IDR = 10_000_000
JKM_FULL_AFTER_MONTHS = 3
SCHOLARSHIP_AFTER_MONTHS = 36

END_REASON: dict[str, str] = {
    K.WORKER_DIED: Sponsorship.EndReason.WORKER_DIED,
    K.WORKER_FORMAL_JOB: Sponsorship.EndReason.WORKER_FORMAL_JOB,
    K.WORKER_OTHER_PAYER: Sponsorship.EndReason.WORKER_OTHER_PAYER,
    K.WORKER_AGED_OUT: Sponsorship.EndReason.WORKER_AGED_OUT,
    K.WORKER_MOVED_AWAY: Sponsorship.EndReason.WORKER_MOVED_AWAY,
    K.SPONSOR_RETIRED: Sponsorship.EndReason.SPONSOR_RETIRED,
    K.SPONSOR_DIED: Sponsorship.EndReason.SPONSOR_DIED,
    K.SPONSOR_MOVED: Sponsorship.EndReason.SPONSOR_MOVED,
    K.SPONSOR_LEFT_SERVICE: Sponsorship.EndReason.SPONSOR_LEFT,
}
WORKER_STATE: dict[str, str] = {
    K.WORKER_DIED: Worker.Status.DECEASED,
    K.WORKER_FORMAL_JOB: Worker.Status.FORMAL_JOB,
    K.WORKER_AGED_OUT: Worker.Status.AGED_OUT,
    K.WORKER_MOVED_AWAY: Worker.Status.MOVED_AWAY,
}
SPONSOR_STATE: dict[str, str] = {
    K.SPONSOR_RETIRED: Sponsor.Status.RETIRED,
    K.SPONSOR_DIED: Sponsor.Status.DECEASED,
    K.SPONSOR_MOVED: Sponsor.Status.MOVED,
    K.SPONSOR_LEFT_SERVICE: Sponsor.Status.LEFT,
}
# What each role may declare itself (admins may declare every kind in their scope).
SPONSOR_OWN_KINDS = (K.SPONSOR_RETIRED, K.SPONSOR_MOVED, K.SPONSOR_LEFT_SERVICE)
SPONSOR_WORKER_KINDS = (K.WORKER_DIED, K.WORKER_FORMAL_JOB, K.WORKER_OTHER_PAYER, K.WORKER_MOVED_AWAY)
WORKER_OWN_KINDS = (K.WORKER_FORMAL_JOB, K.WORKER_OTHER_PAYER, K.WORKER_MOVED_AWAY)
OTHER_PAYERS = (Worker.Payer.SELF, Worker.Payer.REGENCY_BUDGET)
EVIDENCE_REQUIRED = (K.WORKER_DIED, K.SPONSOR_DIED)


# ---- what matching registers (AppConfig.ready) --------------------------------------------------------------
@dataclass(frozen=True)
class MatchingHooks:
    withdraw_offers: Callable[..., int]  # (worker_ids=, sponsor_ids=, now=): open offers no longer valid
    rematch: Callable[..., object]  # (worker=, exclude_sponsor_ids=, actor=, now=) -> proposal or None


_MATCHING: list[MatchingHooks] = []


def register_matching(hooks: MatchingHooks) -> None:
    _MATCHING[:] = [hooks]


# ---- what billing registers: contribution months, for the JKM amount and the scholarship ---------------------
_CONTRIBUTION_MONTHS: list[Callable[[int], int]] = []


def register_contribution_months(fn: Callable[[int], int]) -> None:
    _CONTRIBUTION_MONTHS[:] = [fn]


def contribution_months(worker_id: int) -> int:
    return _CONTRIBUTION_MONTHS[0](worker_id) if _CONTRIBUTION_MONTHS else 0


@dataclass
class LifeEventResult:
    event: LifeEvent
    ended: list[Sponsorship] = field(default_factory=list)
    rematched: list = field(default_factory=list)  # proposals made at once
    family_notice: dict | None = None


def _ended_at(occurred_on: dt.date, started_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    """The moment a sponsorship ends for an event on `occurred_on`: that day's start (now if it is today), never
    before the sponsorship started."""
    if occurred_on >= timezone.localtime(now).date():
        return now
    start_of_day = timezone.make_aware(dt.datetime.combine(occurred_on, dt.time.min))
    return max(start_of_day, started_at)


def _invalid(message, *, code: str, field: str) -> ApplicationError:
    return ApplicationError(message, code=code, extra={"fields": {field: [message]}})


def _check(*, kind, worker, sponsor, occurred_on, other_payer, evidence_note, now) -> None:
    if kind not in K.values:
        raise ApplicationError(_("Unknown life event."), code="invalid_kind")
    if kind in LifeEvent.WORKER_KINDS and worker is None or kind in LifeEvent.SPONSOR_KINDS and sponsor is None:
        raise ApplicationError(_("This life event is about someone else."), code="invalid_kind")
    if occurred_on > timezone.localtime(now).date():
        raise _invalid(_("The date cannot be in the future."), code="invalid_date", field="occurred_on")
    if kind == K.WORKER_OTHER_PAYER and other_payer not in OTHER_PAYERS:
        raise _invalid(
            _("Say who pays now: the regency budget (APBD/DBHCHT) or the worker."), code="invalid", field="other_payer"
        )
    if kind in EVIDENCE_REQUIRED and len((evidence_note or "").strip()) < 5:
        raise _invalid(
            _("Describe the evidence (for example the death certificate number)."),
            code="evidence_required",
            field="evidence_note",
        )


def life_event_record(
    *,
    kind: str,
    worker: Worker | None = None,
    sponsor: Sponsor | None = None,
    occurred_on: dt.date | None = None,
    evidence_note: str = "",
    other_payer: str = "",
    sponsor_may_be_told: bool = False,
    actor=None,
    now: dt.datetime | None = None,
) -> LifeEventResult:
    """Record a life event and apply its effects (see the module docstring). 409 when it no longer applies."""
    now = now or timezone.now()
    occurred_on = occurred_on or timezone.localtime(now).date()
    _check(
        kind=kind,
        worker=worker,
        sponsor=sponsor,
        occurred_on=occurred_on,
        other_payer=other_payer,
        evidence_note=evidence_note,
        now=now,
    )
    with transaction.atomic():
        if kind in LifeEvent.SPONSOR_KINDS:
            assert sponsor is not None
            result = _sponsor_event(kind=kind, sponsor=sponsor, occurred_on=occurred_on, actor=actor, now=now)
        else:
            assert worker is not None
            result = _worker_event(
                kind=kind, worker=worker, occurred_on=occurred_on, other_payer=other_payer, actor=actor, now=now
            )
        event = result.event
        event.evidence_note = (evidence_note or "").strip()
        event.sponsor_may_be_told = bool(sponsor_may_be_told)
        event.recorded_by = actor if getattr(actor, "is_authenticated", False) else None
        event.ended_sponsorships = [s.pk for s in result.ended]
        event.save()
        audit_record(
            actor=actor,
            action=AuditAction.LIFE_EVENT_RECORD,
            obj=event,
            after={
                "kind": kind,
                "worker": event.worker_id,
                "sponsor": event.sponsor_id,
                "occurred_on": occurred_on.isoformat(),
                "other_payer": other_payer or None,
                "sponsorships_ended": [s.pk for s in result.ended],
                "rematch_proposals": len(result.rematched),
            },
        )
        if kind == K.WORKER_DIED and worker is not None:
            result.family_notice = family_notice(worker.pk)
        transaction.on_commit(lambda: life_event_notify(event_id=event.pk))
    return result


def _withdraw(**kwargs) -> None:
    for hooks in _MATCHING:
        hooks.withdraw_offers(**kwargs)


def _sponsor_event(*, kind, sponsor: Sponsor, occurred_on, actor, now) -> LifeEventResult:
    sponsorship_end_prepare(sponsor_id=sponsor.pk)  # billing's locks first: one lock order
    # The status moves before the sponsorships end, so re-matching can never pick the leaving sponsor.
    # A sponsor who had left may still die (the record is kept); every other event needs an active sponsor.
    from_ = None if kind == K.SPONSOR_DIED else Sponsor.Status.ACTIVE
    if not transition(Sponsor, sponsor.pk, to=SPONSOR_STATE[kind], from_=from_):
        raise ConflictError(_("This sponsor is no longer active."), code="sponsor_inactive")
    audit_record(
        actor=actor,
        action=AuditAction.SPONSOR_LEAVE,
        obj=sponsor,
        before={"status": "active"},
        after={"status": SPONSOR_STATE[kind], "life_event": kind},
    )
    result = LifeEventResult(event=LifeEvent(kind=kind, sponsor=sponsor, occurred_on=occurred_on))
    _withdraw(worker_ids=[], sponsor_ids=[sponsor.pk], now=now)
    for sponsorship in Sponsorship.objects.filter(sponsor=sponsor, status=Sponsorship.Status.ACTIVE).select_related(
        "worker"
    ):
        if sponsorship_end(
            sponsorship=sponsorship,
            reason=END_REASON[kind],
            actor=actor,
            ended_at=_ended_at(occurred_on, sponsorship.started_at, now),
        ):
            result.ended.append(sponsorship)
    for sponsorship in result.ended:
        for hooks in _MATCHING:
            proposal = hooks.rematch(worker=sponsorship.worker, exclude_sponsor_ids=[sponsor.pk], actor=actor, now=now)
            if proposal is not None:
                result.rematched.append(proposal)
    sponsor.refresh_from_db()
    return result


def _worker_event(*, kind, worker: Worker, occurred_on, other_payer, actor, now) -> LifeEventResult:
    active = list(Sponsorship.objects.filter(worker=worker, status=Sponsorship.Status.ACTIVE))
    for sponsorship in active:
        sponsorship_end_prepare(sponsor_id=sponsorship.sponsor_id)
    if kind in WORKER_STATE:
        if not transition(Worker, worker.pk, to=WORKER_STATE[kind]):
            raise ConflictError(_("This has already been recorded for this worker."), code="already_recorded")
    elif not Worker.objects.filter(pk=worker.pk, status=Worker.Status.ACTIVE).exists():
        raise ConflictError(_("This worker is no longer active here."), code="worker_inactive")
    result = LifeEventResult(
        event=LifeEvent(kind=kind, worker=worker, occurred_on=occurred_on, other_payer=other_payer or "")
    )
    _withdraw(worker_ids=[worker.pk], sponsor_ids=[], now=now)
    for sponsorship in active:
        if sponsorship_end(
            sponsorship=sponsorship,
            reason=END_REASON[kind],
            actor=actor,
            ended_at=_ended_at(occurred_on, sponsorship.started_at, now),
        ):
            result.ended.append(sponsorship)
    # Whoever pays now (nobody for the end states: they leave the pool for good).
    payer = other_payer if kind == K.WORKER_OTHER_PAYER else Worker.Payer.NONE
    Worker.objects.filter(pk=worker.pk).update(current_payer=payer, updated_at=now)
    audit_record(
        actor=actor,
        action=AuditAction.WORKER_UPDATE,
        obj=worker,
        before={"status": worker.status, "current_payer": worker.current_payer},
        after={"status": WORKER_STATE.get(kind, worker.status), "current_payer": payer, "life_event": kind},
    )
    worker.refresh_from_db()
    return result


# ---- what people are told -----------------------------------------------------------------------------------
def family_notice(worker_id: int) -> dict:
    """What the family of a worker who died can claim (the facts; texts are rendered per recipient)."""
    months = contribution_months(worker_id)
    return {
        "jkm_idr": JKM_FULL_IDR if months > JKM_FULL_AFTER_MONTHS else JKM_EARLY_IDR,
        "contribution_months": months,
        "scholarship_eligible": months >= SCHOLARSHIP_AFTER_MONTHS,
        "documents": ["KPJ", "e-KTP", "KK", "akta kematian", "surat keterangan ahli waris"],
    }


def life_event_notify(*, event_id: int) -> int:
    """Queue the pushes of one event (idempotent: one dedupe key per event and recipient). Answers how many."""
    event = LifeEvent.objects.select_related("worker__user", "sponsor__user").get(pk=event_id)
    sent = 0
    with transaction.atomic():
        deceased = event.worker if event.kind == K.WORKER_DIED else None
        if deceased is not None and deceased.user is not None:
            facts = family_notice(deceased.pk)
            sent += bool(
                notify(
                    user=deceased.user,
                    kind="worker_died_family_scholarship" if facts["scholarship_eligible"] else "worker_died_family",
                    context={"worker_name": deceased.full_name, "amount_idr": facts["jkm_idr"]},
                    dedupe_key=f"life_event:{event.pk}:family",
                    data={"screen": "claims"},
                )
            )
        ended = Sponsorship.objects.filter(pk__in=event.ended_sponsorships).select_related(
            "sponsor__user", "worker__user"
        )
        for sponsorship in ended.order_by("pk"):
            if event.worker_id and sponsorship.sponsor.user_id and sponsorship.sponsor.status == Sponsor.Status.ACTIVE:
                died = event.kind == K.WORKER_DIED and event.sponsor_may_be_told
                sent += bool(
                    notify(
                        user=sponsorship.sponsor.user,
                        kind="sponsored_worker_died" if died else "sponsorship_ended",
                        context={
                            "sponsor_name": sponsorship.sponsor.full_name.split(" ")[0],
                            "worker_name": sponsorship.worker.first_name,
                        },
                        dedupe_key=f"life_event:{event.pk}:sponsor:{sponsorship.pk}",
                        data={"screen": "proposals"},
                    )
                )
            if event.sponsor_id and sponsorship.worker.user_id:
                sent += bool(
                    notify(
                        user=sponsorship.worker.user,
                        kind="worker_sponsor_left",
                        context={"worker_name": sponsorship.worker.first_name},
                        dedupe_key=f"life_event:{event.pk}:worker:{sponsorship.worker_id}",
                        data={"screen": "status"},
                    )
                )
    return sent


def workers_past_age_limit(*, today: dt.date | None = None) -> list[Worker]:
    """Active workers whose month of reaching their regency's age limit (`max_new_member_age`) has begun."""
    today = today or local_today()
    limits: dict[int, int] = dict(RegencyConfig.objects.values_list("regency_id", "max_new_member_age"))
    default = int(RegencyConfig._meta.get_field("max_new_member_age").get_default())
    this_month = month_start(today)
    # Born on or before the last day of this month, `limit` years back: prefilter with the smallest limit.
    cutoff = _years_before(add_months(this_month, 1) - dt.timedelta(days=1), min([default, *limits.values()]))
    rows = Worker.objects.filter(status=Worker.Status.ACTIVE, birth_date__lte=cutoff, anonymized_at__isnull=True)
    reached = []
    for worker in rows.select_related("village__parent").order_by("pk"):
        district = worker.village.parent
        limit = limits.get(district.parent_id, default) if district and district.parent_id else default
        if month_start(_years_before(worker.birth_date, -limit)) <= this_month:
            reached.append(worker)
    return reached


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def workers_end_cover_at_age_limit(*, today: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """The scheduled check (daily): from the month a worker reaches the regency's age limit (`max_new_member_age`,
    65 by default: members are under 65) the worker is aged out: their sponsorship ends on that month's first
    day, so by the hand-over rule the month and later ones are released and billed to nobody; the last covered
    month is the one before. Answers how many workers it aged out."""
    today = today or local_today()
    done = 0
    for worker in workers_past_age_limit(today=today):
        try:
            life_event_record(
                kind=K.WORKER_AGED_OUT,
                worker=worker,
                occurred_on=month_start(today),
                evidence_note="Pemeriksaan batas usia terjadwal",
                now=now,
            )
        except ConflictError:
            continue  # recorded by someone else meanwhile
        done += 1
    return done
