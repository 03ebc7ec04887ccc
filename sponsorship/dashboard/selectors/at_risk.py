"""Workers at risk and benefits received, within an AdminScope.

At risk: a worker whose protection ends within AT_RISK_DAYS (30) with no paid month after the end, or whose
protection has already ended but may still be saved (unpaid for at most BILLING_LAPSE_AFTER_MONTHS months: arrears
can be paid). Why, in one word per worker (REASONS), and what has been done: the ProtectionAction rows since the
clock started running down (reminders, bridge fund, self-pay link, offers, new sponsor).

Scope: a regency admin sees the workers living in the regency; an agency admin those its ASN sponsor now, and
those whose last sponsor was one of its ASN (a sponsor who left is exactly what the agency should see).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery, Sum

from backend.formats import date as format_date
from sponsorship.billing.models import CoverageMonth, Invoice, ProtectionAction
from sponsorship.billing.selectors.protection_clock import Clock, clock_from, cohort_until_for
from sponsorship.core.periods import add_months, local_today, month_start
from sponsorship.people.models import BenefitReceived, Sponsorship, Worker
from sponsorship.regions.models import Region

from .scope import AdminScope

AT_RISK_DAYS = 30
ACTIONS_LOOKBACK_DAYS = 60

REASONS = {
    "cohort_ending": "Dana APBD/DBHCHT berakhir",
    "sponsor_not_paying": "ASN belum membayar",
    "sponsor_left": "ASN berhenti mengampu",
    "bridged": "Ditalangi dana talangan",
    "self_paid_not_renewed": "Bayar sendiri, belum diperpanjang",
    "no_sponsor": "Belum ada pengampu",
}
ACTION_LABELS = {
    "reminded_sponsor": "ASN diingatkan",
    "reminded_worker": "Pekerja diingatkan",
    "bridged": "Ditalangi",
    "bridge_ended": "Talangan berhenti",
    "handed_over": "Tautan bayar sendiri dikirim",
    "self_paid": "Dibayar sendiri",
    "offered": "Ditawarkan ke ASN",
    "rematched": "Dapat pengampu baru",
    "benefit_notified": "ASN diberi tahu manfaat",
}


def _workers_in(scope: AdminScope):
    qs = Worker.objects.filter(
        village__parent__parent=scope.regency, status=Worker.Status.ACTIVE, anonymized_at__isnull=True
    )
    if scope.agency is None:
        return qs
    last_sponsor_agency = Subquery(
        Sponsorship.objects.filter(worker=OuterRef("pk")).order_by("-started_at").values("sponsor__agency_id")[:1]
    )
    return qs.annotate(last_agency=last_sponsor_agency).filter(last_agency=scope.agency.pk)


def _reason(clock: Clock, live_sponsor: bool, ended: bool, last_action: str | None, payer: str) -> str:
    if clock.by_cohort:
        return "cohort_ending"
    if last_action == "bridged":
        return "bridged"
    if live_sponsor:
        return "sponsor_not_paying"
    if last_action == "self_paid" or payer == Worker.Payer.SELF:
        return "self_paid_not_renewed"
    if ended:
        return "sponsor_left"
    return "no_sponsor"


def at_risk_workers(scope: AdminScope, *, today: dt.date | None = None, days: int = AT_RISK_DAYS) -> list[dict]:
    today = today or local_today()
    lapse = settings.BILLING_LAPSE_AFTER_MONTHS
    since = add_months(month_start(today), -lapse)
    horizon = today + dt.timedelta(days=days)
    # Candidates: a coverage month in the lapse window (the clock can only be running or just stopped), or a cohort
    # protecting them now. Older months cannot change the answer, so they are not loaded.
    workers = _workers_in(scope).filter(
        Q(coverage_months__month__gte=since)
        | Q(cohort_memberships__cohort__starts_on__lte=today, cohort_memberships__cohort__funded_until__gte=today)
    )
    info = {
        w["pk"]: w
        for w in workers.values(
            "pk", "full_name", "current_payer", "village__name", "village__parent__name", "village__parent__code"
        ).distinct()
    }
    if not info:
        return []
    paid: dict[int, list[dt.date]] = {}
    for worker_id, month in CoverageMonth.objects.filter(worker_id__in=list(info), month__gte=since).values_list(
        "worker_id", "month"
    ):
        paid.setdefault(worker_id, []).append(month)
    cohorts = cohort_until_for(info, today)
    risky: dict[int, Clock] = {}
    for pk in info:
        clock = clock_from(paid.get(pk, ()), cohorts.get(pk), today)
        if clock.ends_on is None or clock.paid_ahead:
            continue
        if clock.protected and clock.ends_on <= horizon:
            risky[pk] = clock
        elif not clock.protected:
            risky[pk] = clock  # ended, arrears still payable: a reminder or a bridge can still save it
    if not risky:
        return []
    ids = list(risky)
    live = {
        row["worker_id"]: row
        for row in Sponsorship.objects.filter(worker_id__in=ids, status=Sponsorship.Status.ACTIVE).values(
            "worker_id", "sponsor_id", "sponsor__full_name", "sponsor__agency__name"
        )
    }
    ended = set(
        Sponsorship.objects.filter(worker_id__in=ids)
        .exclude(status=Sponsorship.Status.ACTIVE)
        .values_list("worker_id", flat=True)
    )
    overdue = dict(
        Invoice.objects.filter(status=Invoice.Status.ISSUED, due_date__lt=today, lines__worker_id__in=ids)
        .values("lines__worker_id")
        .annotate(n=Count("pk", distinct=True))
        .values_list("lines__worker_id", "n")
    )
    actions: dict[int, list[ProtectionAction]] = {}
    lookback = dt.datetime.combine(today - dt.timedelta(days=ACTIONS_LOOKBACK_DAYS), dt.time(0), tzinfo=dt.UTC)
    for action in ProtectionAction.objects.filter(worker_id__in=ids, at__gte=lookback).order_by("at", "pk"):
        actions.setdefault(action.worker_id, []).append(action)
    rows = []
    for pk, clock in risky.items():
        w = info[pk]
        done = actions.get(pk, [])
        money_actions = [a.kind for a in done if a.kind in ("bridged", "bridge_ended", "self_paid", "rematched")]
        reason = _reason(
            clock, pk in live, pk in ended, money_actions[-1] if money_actions else None, w["current_payer"]
        )
        sponsor = live.get(pk)
        rows.append(
            {
                "worker_id": pk,
                "worker_name": w["full_name"],
                "district": w["village__parent__name"],
                "village": w["village__name"],
                "sponsor_name": sponsor["sponsor__full_name"] if sponsor else "",
                "agency": sponsor["sponsor__agency__name"] if sponsor else "",
                "protected": clock.protected,
                "ends_on": clock.ends_on,
                "days_left": clock.days_left,
                "reason": reason,
                "reason_label": REASONS[reason],
                "overdue_invoices": overdue.get(pk, 0),
                "actions": [{"kind": a.kind, "at": a.at.date()} for a in done],
                "actions_text": "; ".join(
                    f"{ACTION_LABELS.get(a.kind, a.kind)} {format_date(a.at.date(), 'id')}" for a in done
                ),
            }
        )
    rows.sort(key=lambda r: (r["protected"], r["days_left"] or 0, r["ends_on"], r["worker_name"]))
    return rows


def _benefits_in(scope: AdminScope):
    qs = BenefitReceived.objects.filter(worker__village__parent__parent=scope.regency)
    if scope.agency is not None:
        qs = qs.filter(worker__sponsorships__sponsor__agency=scope.agency).distinct()
    return qs


def benefits_by_district(scope: AdminScope) -> list[dict]:
    """Benefits received per kecamatan (JKK, JKM, total amount known, how many sponsors were told)."""
    rows = {
        r["worker__village__parent_id"]: r
        for r in _benefits_in(scope)
        .values("worker__village__parent_id")
        .annotate(
            jkk=Count("pk", filter=Q(kind=BenefitReceived.Kind.JKK)),
            jkm=Count("pk", filter=Q(kind=BenefitReceived.Kind.JKM)),
            amount=Sum("amount_idr"),
            told=Count("pk", filter=Q(sponsor_told__isnull=False)),
        )
    }
    districts = Region.objects.filter(parent=scope.regency, level=Region.Level.DISTRICT).order_by("code")
    out = []
    for d in districts:
        r = rows.get(d.pk, {})
        out.append(
            {
                "code": d.code,
                "name": d.name,
                "jkk": r.get("jkk", 0),
                "jkm": r.get("jkm", 0),
                "total": r.get("jkk", 0) + r.get("jkm", 0),
                "amount_idr": r.get("amount") or 0,
                "sponsors_told": r.get("told", 0),
            }
        )
    return out


def benefits_total(scope: AdminScope) -> dict:
    agg = _benefits_in(scope).aggregate(
        jkk=Count("pk", filter=Q(kind=BenefitReceived.Kind.JKK)),
        jkm=Count("pk", filter=Q(kind=BenefitReceived.Kind.JKM)),
        amount=Sum("amount_idr"),
    )
    return {"jkk": agg["jkk"], "jkm": agg["jkm"], "total": agg["jkk"] + agg["jkm"], "amount_idr": agg["amount"] or 0}
