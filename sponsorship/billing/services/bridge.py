"""The bridge fund (dana talangan): a pool pays a worker's coming month before protection ends when the sponsor
has stopped paying or has left and no new sponsor has accepted (docs/bridge-fund.md).

The daily scan (`bridge_scan`) looks at workers whose sponsor left (no active sponsorship), whose sponsor has an
overdue unpaid invoice line for them, or who are already being bridged. For each, the coming month is the first
unpaid month from the current one on; when protection ends within a pool's `days_before_lapse` days, the first
pool (highest priority) whose rules fit and whose balance covers the premium pays it (`bridge_pay`):

- in one transaction: the month is taken off the sponsor's unpaid invoice (void + reissue, as the hand-over does,
  so nobody is billed twice; a late sponsor payment becomes surplus), a paid pool invoice with one line is written
  at the pool's own rate (APBD and dana desa pay without the PP 50/2025 discount), the coverage row is written
  (unique worker-month: if it already exists the whole step rolls back), the balance is debited with a
  conditional UPDATE and a ledger entry, the bridge is opened, the worker flagged for matching, the action logged;
- when no pool can pay and the sponsor has left, the worker gets a self-pay link (services/self_pay.py).
A new sponsor accepting ends the bridge (`bridge_on_sponsorship_start`, registered in BillingConfig.ready).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.api.errors import ApplicationError
from backend.formats import period_label, rupiah
from notifications.services import notify
from sponsorship.billing import locks
from sponsorship.billing.models import (
    Bridge,
    BridgePool,
    CoverageMonth,
    FundingSource,
    Invoice,
    InvoiceLine,
    PoolEntry,
)
from sponsorship.billing.selectors.coverage import worker_coverage_status
from sponsorship.billing.services.billing import LIVE_INVOICE, _void_locked, due_date_for
from sponsorship.billing.services.coverage import coverage_record_invoice
from sponsorship.billing.services.handover import release_lines
from sponsorship.billing.services.protection_log import record_protection_action
from sponsorship.billing.services.rates import Premium, RateBook, RateMissing, sector_of
from sponsorship.billing.services.self_pay import self_pay_expire, self_pay_offer, self_pay_withdraw
from sponsorship.core.audit import AuditAction, audit_record, snapshot
from sponsorship.core.periods import add_months, local_today, month_end, month_start
from sponsorship.people.models import Occupation, Sponsorship, Worker
from sponsorship.people.services.match_priority import clear_match_priority, flag_for_matching
from sponsorship.regions.models import Region

logger = logging.getLogger(__name__)

SPONSOR_LEFT = "sponsor_left"
SPONSOR_NOT_PAYING = "sponsor_not_paying"
BRIDGE_RELEASE_REASON = "Dibayar dana talangan: bulan pekerja ini tidak lagi ditagihkan"
DEFAULT_DAYS_BEFORE_LAPSE = 7

# PP 50/2025's discount is not for premiums paid from the state budget (APBN/APBD; dana desa is an APBN transfer).
POOL_FUNDING: dict[str, str] = {
    BridgePool.Kind.REGENCY_BUDGET: FundingSource.REGENCY_BUDGET,
    BridgePool.Kind.VILLAGE_FUND: FundingSource.REGENCY_BUDGET,
    BridgePool.Kind.CSR: FundingSource.SPONSOR,
    BridgePool.Kind.ZAKAT: FundingSource.SPONSOR,
    BridgePool.Kind.OTHER: FundingSource.SPONSOR,
}

POOL_FIELDS = (
    "kind",
    "name",
    "contact_name",
    "contact_email",
    "manager_id",
    "decile_max",
    "max_months_per_worker",
    "days_before_lapse",
    "priority",
    "active",
)


# ---- pools: registering, editing, topping up (regency admin; validated, audited) -------------------------------
def _pool_problems(*, regency: Region, values: dict, occupation_ids, area_ids) -> dict:
    problems: dict = {}
    if values.get("kind") not in BridgePool.Kind.values:
        problems["kind"] = _("Choose one of the listed kinds.")
    if not str(values.get("name") or "").strip():
        problems["name"] = _("Required.")
    decile = values.get("decile_max")
    if decile is not None and not (isinstance(decile, int) and 1 <= decile <= 10):
        problems["decile_max"] = _("Must be a whole number 1–10.")
    months = values.get("max_months_per_worker")
    if not (isinstance(months, int) and 1 <= months <= 12):
        problems["max_months_per_worker"] = _("Must be a whole number 1–12.")
    days = values.get("days_before_lapse")
    if not (isinstance(days, int) and 0 <= days <= 31):
        problems["days_before_lapse"] = _("Must be a whole number 0–31.")
    if occupation_ids is not None and Occupation.objects.filter(pk__in=occupation_ids).count() != len(
        set(occupation_ids)
    ):
        problems["occupations"] = _("Unknown occupation.")
    if area_ids is not None:
        found = Region.objects.filter(
            Q(pk__in=area_ids),
            Q(level=Region.Level.DISTRICT, parent=regency) | Q(level=Region.Level.VILLAGE, parent__parent=regency),
        ).count()
        if found != len(set(area_ids)):
            problems["areas"] = _("Choose villages or kecamatan of your regency.")
    return problems


def _raise_if(problems: dict) -> None:
    if problems:
        first = next(iter(problems.values()))
        raise ApplicationError(first, code="invalid", extra={"fields": {k: [str(v)] for k, v in problems.items()}})


def _pool_snapshot(pool: BridgePool) -> dict:
    out = snapshot(pool, POOL_FIELDS)
    out["occupations"] = sorted(pool.occupations.values_list("pk", flat=True))
    out["areas"] = sorted(pool.areas.values_list("pk", flat=True))
    return out


def pool_create(
    *, regency: Region, actor, occupation_ids=None, area_ids=None, ip: str | None = None, **values
) -> BridgePool:
    unknown = set(values) - set(POOL_FIELDS)
    if unknown:
        raise ApplicationError(_("Unknown field.") + f" {sorted(unknown)}", code="invalid")
    values = {"max_months_per_worker": 3, "days_before_lapse": DEFAULT_DAYS_BEFORE_LAPSE, **values}
    _raise_if(_pool_problems(regency=regency, values=values, occupation_ids=occupation_ids, area_ids=area_ids))
    with transaction.atomic():
        pool = BridgePool.objects.create(regency=regency, **{**values, "name": values["name"].strip()})
        if occupation_ids:
            pool.occupations.set(occupation_ids)
        if area_ids:
            pool.areas.set(area_ids)
        audit_record(actor=actor, action=AuditAction.BRIDGE_POOL_CREATE, obj=pool, after=_pool_snapshot(pool), ip=ip)
    return pool


def pool_update(
    *, pool: BridgePool, actor, occupation_ids=None, area_ids=None, ip: str | None = None, **changes
) -> BridgePool:
    unknown = set(changes) - set(POOL_FIELDS)
    if unknown:
        raise ApplicationError(_("Unknown field.") + f" {sorted(unknown)}", code="invalid")
    with transaction.atomic():
        current = locks.lock_pool(pool.pk)
        values = {**{k: getattr(current, k) for k in POOL_FIELDS}, **changes}
        _raise_if(
            _pool_problems(regency=current.regency, values=values, occupation_ids=occupation_ids, area_ids=area_ids)
        )
        before = _pool_snapshot(current)
        for name, value in changes.items():
            setattr(current, name, value.strip() if name == "name" else value)
        if changes:
            current.save(update_fields=[f.removesuffix("_id") if f == "manager_id" else f for f in changes])
        if occupation_ids is not None:
            current.occupations.set(occupation_ids)
        if area_ids is not None:
            current.areas.set(area_ids)
        after = _pool_snapshot(current)
        if after != before:
            audit_record(
                actor=actor, action=AuditAction.BRIDGE_POOL_UPDATE, obj=current, before=before, after=after, ip=ip
            )
    return current


def pool_top_up(
    *, pool: BridgePool, amount_idr: int, reference: str = "", note: str = "", actor, ip: str | None = None
) -> PoolEntry:
    """Money received into the pool (a transfer from the CSR company, Baznas, the village or the budget)."""
    if not isinstance(amount_idr, int) or isinstance(amount_idr, bool) or not 1 <= amount_idr <= 10_000_000_000:
        raise ApplicationError(_("The amount must be a whole number of rupiah, at least 1."), code="invalid")
    with transaction.atomic():
        current = locks.lock_pool(pool.pk)
        BridgePool.objects.filter(pk=current.pk).update(balance_idr=F("balance_idr") + amount_idr)
        entry = PoolEntry.objects.create(
            pool=current,
            kind=PoolEntry.Kind.TOP_UP,
            amount_idr=amount_idr,
            reference=reference.strip()[:120],
            note=note.strip()[:255],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            created_at=timezone.now(),
        )
        audit_record(
            actor=actor,
            action=AuditAction.BRIDGE_POOL_TOP_UP,
            obj=current,
            before={"balance_idr": current.balance_idr},
            after={"balance_idr": current.balance_idr + amount_idr, "entry": entry.pk, "reference": entry.reference},
            ip=ip,
        )
    return entry


# ---- who needs a bridge ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AtRisk:
    worker_id: int
    reason: str  # SPONSOR_LEFT | SPONSOR_NOT_PAYING
    month: dt.date  # the coming month to pay
    days_left: int  # days from today to the end of protection (negative: already past it, in grace)
    protected_until: dt.date | None


def _candidate_worker_ids(today: dt.date, regency_id: int | None) -> set[int]:
    active = Sponsorship.objects.filter(status=Sponsorship.Status.ACTIVE)
    workers = Worker.objects.filter(status=Worker.Status.ACTIVE, anonymized_at__isnull=True)
    if regency_id is not None:
        workers = workers.filter(village__parent__parent_id=regency_id)
    recent = add_months(month_start(today), -1)
    left = workers.filter(coverage_months__month__gte=recent).exclude(pk__in=active.values("worker_id"))
    overdue = workers.filter(
        invoice_lines__invoice__payer_kind=Invoice.Payer.SPONSOR,
        invoice_lines__invoice__status=Invoice.Status.ISSUED,
        invoice_lines__invoice__due_date__lt=today,
    )
    bridged = workers.filter(bridges__ended_at__isnull=True)
    ids: set[int] = set()
    for qs in (left, overdue, bridged):
        ids.update(qs.values_list("pk", flat=True).distinct())
    return ids


def worker_at_risk(worker: Worker, *, today: dt.date) -> AtRisk | None:
    """Why and when this worker's coming month needs a payer other than the sponsor, or None."""
    status = worker_coverage_status(worker, today=today, sponsor_first_name=None)
    if status.state not in ("protected", "grace") or status.protected_until is None:
        return None
    current = month_start(today)
    month = add_months(month_start(status.protected_until), 1) if status.state == "protected" else current
    if CoverageMonth.objects.filter(worker=worker, month=month).exists():
        return None
    days_left = (status.protected_until - today).days
    sponsorship = Sponsorship.objects.filter(worker=worker, status=Sponsorship.Status.ACTIVE).first()
    if sponsorship is None:
        return AtRisk(worker.pk, SPONSOR_LEFT, month, days_left, status.protected_until)
    bridged = Bridge.objects.filter(worker=worker, ended_at__isnull=True).exists()
    overdue = InvoiceLine.objects.filter(
        worker=worker,
        invoice__sponsor_id=sponsorship.sponsor_id,
        invoice__status=Invoice.Status.ISSUED,
        invoice__due_date__lt=today,
    ).exists()
    if overdue or bridged:
        return AtRisk(worker.pk, SPONSOR_NOT_PAYING, month, days_left, status.protected_until)
    return None


def _pool_fits(pool: BridgePool, worker: Worker, rules: dict) -> bool:
    occupations, areas = rules["occupations"], rules["areas"]
    if pool.decile_max is not None and (worker.welfare_decile is None or worker.welfare_decile > pool.decile_max):
        return False
    if occupations and worker.occupation_id not in occupations:
        return False
    if areas and worker.village_id not in areas and worker.village.parent_id not in areas:
        return False
    return True


def _months_paid_by(pool_id: int, worker_id: int) -> int:
    return InvoiceLine.objects.filter(
        worker_id=worker_id, invoice__pool_id=pool_id, invoice__status=Invoice.Status.PAID
    ).count()


def _premium(pool: BridgePool, worker: Worker, month: dt.date, book: RateBook) -> Premium:
    return book.premium(month, sector=sector_of(worker.occupation.is_transport), funding_source=POOL_FUNDING[pool.kind])


# ---- paying --------------------------------------------------------------------------------------------------
class _NotPaid(Exception):
    pass


def bridge_pay(*, pool: BridgePool, worker: Worker, risk: AtRisk, book: RateBook | None = None) -> Invoice | None:
    """The pool pays `risk.month` for the worker, or None when it cannot (balance, the month got paid meanwhile)."""
    book = book or RateBook.load()
    try:
        premium = _premium(pool, worker, risk.month, book)
    except RateMissing:
        logger.error("bridge: no premium rate for %s (pool %s)", risk.month, pool.pk)
        return None
    try:
        with transaction.atomic():
            return _pay_locked(pool=pool, worker=worker, risk=risk, premium=premium)
    except _NotPaid as exc:
        logger.info("bridge: pool %s did not pay worker %s %s: %s", pool.pk, worker.pk, risk.month, exc)
        return None


def _pay_locked(*, pool: BridgePool, worker: Worker, risk: AtRisk, premium: Premium) -> Invoice:
    month, now = risk.month, timezone.now()
    locks.billing_lock(exclusive=False)  # 2: a billing run never bills this worker-month at the same moment
    locks.worker_lock(worker.pk)  # 2b
    if CoverageMonth.objects.filter(worker=worker, month=month).exists():
        raise _NotPaid("already covered")
    live = list(
        InvoiceLine.objects.filter(worker=worker, month=month, invoice__status__in=LIVE_INVOICE).select_related(
            "invoice"
        )
    )
    for line in live:
        invoice = line.invoice
        if invoice.status == Invoice.Status.PAID:
            raise _NotPaid("paid meanwhile")
        if invoice.sponsor_id is not None:
            locks.lock_sponsor(invoice.sponsor_id)  # 3
            locked = locks.lock_invoices(Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.ISSUED))  # 4
            if not locked:
                raise _NotPaid("sponsor invoice changed meanwhile")
            release_lines(
                invoice=locked[0],
                lines=[line],
                reason=BRIDGE_RELEASE_REASON,
                detail={"bridge_pool": pool.pk, "worker_id": worker.pk},
                actor=None,
            )
        elif invoice.payer_kind == Invoice.Payer.WORKER:
            # An open self-pay link for the same month: the pool pays instead, the link dies with its invoice.
            locked = locks.lock_invoices(Invoice.objects.filter(pk=invoice.pk, status=Invoice.Status.ISSUED))
            if locked:
                _void_locked(invoice=locked[0], reason=BRIDGE_RELEASE_REASON, actor=None)
    locks.lock_pool(pool.pk)  # 4b
    amount = premium.amount_idr
    if not BridgePool.objects.filter(pk=pool.pk, active=True, balance_idr__gte=amount).update(
        balance_idr=F("balance_idr") - amount
    ):
        raise _NotPaid("balance too low")
    invoice = Invoice.objects.create(
        payer_kind=Invoice.Payer.POOL,
        pool=pool,
        number=f"BRG-{month:%Y%m}-{worker.pk:06d}",
        kind=Invoice.Kind.MONTHLY,
        period=month,
        months=1,
        status=Invoice.Status.PAID,
        issued_at=now,
        paid_at=now,
        due_date=due_date_for(month),
        subtotal_idr=amount,
        credit_applied_idr=0,
        amount_idr=amount,
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        worker=worker,
        month=month,
        rate_id=premium.rate_id,
        jkk_idr=premium.jkk_idr,
        jkm_idr=premium.jkm_idr,
        jht_idr=premium.jht_idr,
        amount_idr=amount,
    )
    if coverage_record_invoice(invoice=invoice, paid_at=now):
        raise _NotPaid("worker-month already covered")  # rolls everything back: never paid twice
    PoolEntry.objects.create(
        pool=pool,
        kind=PoolEntry.Kind.BRIDGE_PAYMENT,
        amount_idr=-amount,
        invoice=invoice,
        note=f"{period_label(month, 'id')} pekerja #{worker.pk}",
        created_at=now,
    )
    open_bridge = Bridge.objects.filter(worker=worker, ended_at__isnull=True).first()
    if open_bridge is not None and open_bridge.pool_id != pool.pk:
        Bridge.objects.filter(pk=open_bridge.pk).update(ended_at=now, end_reason=Bridge.EndReason.NO_FUNDS)
        open_bridge = None
    if open_bridge is None:
        Bridge.objects.create(worker=worker, pool=pool, reason=risk.reason, started_at=now)
    detail = {
        "pool_id": pool.pk,
        "month": month.isoformat(),
        "amount_idr": amount,
        "reason": risk.reason,
        "days_left": risk.days_left,
        "invoice": invoice.number,
    }
    record_protection_action(worker.pk, "bridged", detail=detail, at=now)
    flag_for_matching(worker.pk, "bridged", until=month_end(month), detail={"pool_id": pool.pk})
    audit_record(actor=None, action=AuditAction.BRIDGE_PAY, obj=invoice, after=detail)
    return invoice


def _end_open_bridge(worker_id: int, reason: str, now: dt.datetime) -> Bridge | None:
    bridge = Bridge.objects.select_for_update().filter(worker_id=worker_id, ended_at__isnull=True).first()
    if bridge is None:
        return None
    Bridge.objects.filter(pk=bridge.pk).update(ended_at=now, end_reason=reason)
    record_protection_action(
        worker_id, "bridge_ended", detail={"pool_id": bridge.pool_id, "reason": str(reason)}, at=now
    )
    return bridge


# ---- the daily scan ------------------------------------------------------------------------------------------
@dataclass
class ScanResult:
    checked: int = 0
    bridged: int = 0
    amount_idr: int = 0
    handed_over: int = 0
    not_covered: int = 0


def bridge_scan(*, today: dt.date | None = None, regency_id: int | None = None) -> ScanResult:
    """Daily: pay the coming month of every worker at risk from the first pool that fits; hand the rest over."""
    today = today or local_today()
    result = ScanResult()
    self_pay_expire()
    book = RateBook.load()
    pools = list(BridgePool.objects.filter(active=True).order_by("-priority", "pk"))
    rules = {
        p.pk: {
            "occupations": set(p.occupations.values_list("pk", flat=True)),
            "areas": set(p.areas.values_list("pk", flat=True)),
        }
        for p in pools
    }
    ids = sorted(_candidate_worker_ids(today, regency_id))
    for worker in Worker.objects.filter(pk__in=ids).select_related("occupation", "village__parent").order_by("pk"):
        risk = worker_at_risk(worker, today=today)
        if risk is None:
            continue
        result.checked += 1
        district = worker.village.parent
        regency = district.parent_id if district is not None else None
        paid = None
        limit_hit = False
        for pool in pools:
            if pool.regency_id != regency or risk.days_left > pool.days_before_lapse:
                continue
            if not _pool_fits(pool, worker, rules[pool.pk]):
                continue
            if _months_paid_by(pool.pk, worker.pk) >= pool.max_months_per_worker:
                limit_hit = True
                continue
            paid = bridge_pay(pool=pool, worker=worker, risk=risk, book=book)
            if paid is not None:
                break
        if paid is not None:
            result.bridged += 1
            result.amount_idr += paid.amount_idr
            continue
        if risk.days_left > DEFAULT_DAYS_BEFORE_LAPSE:
            continue
        with transaction.atomic():
            _end_open_bridge(
                worker.pk, Bridge.EndReason.LIMIT if limit_hit else Bridge.EndReason.NO_FUNDS, timezone.now()
            )
        if risk.reason == SPONSOR_LEFT and self_pay_offer(worker=worker, month=risk.month, risk=risk) is not None:
            result.handed_over += 1
        else:
            result.not_covered += 1
    return result


# ---- a new sponsor accepts: the pool stops -------------------------------------------------------------------
def bridge_on_sponsorship_start(*, sponsorship: Sponsorship, actor=None) -> None:
    """Registered start handler (people.services.sponsorships): runs in the accept's transaction. The open bridge
    ends, the matching flag is cleared, an open self-pay link for a month the sponsor will now be billed goes."""
    now = timezone.now()
    ended = _end_open_bridge(sponsorship.worker_id, Bridge.EndReason.REMATCHED, now)
    withdrawn = self_pay_withdraw(worker_id=sponsorship.worker_id, now=now)
    if ended is not None or withdrawn:
        record_protection_action(
            sponsorship.worker_id,
            "rematched",
            detail={"sponsorship": sponsorship.pk, "bridge_pool": ended.pool_id if ended else None},
            at=now,
        )
        clear_match_priority(sponsorship.worker_id, "bridged", now=now)


# ---- statements ---------------------------------------------------------------------------------------------
def pool_statement(*, pool: BridgePool, month: dt.date) -> dict:
    """What the pool paid and received in `month`: opening and closing balance, the entries (worker by id and
    first name only, the month paid)."""
    start = timezone.make_aware(dt.datetime.combine(month_start(month), dt.time()))
    end = timezone.make_aware(dt.datetime.combine(add_months(month_start(month), 1), dt.time()))
    before = PoolEntry.objects.filter(pool=pool, created_at__lt=start).aggregate(s=Sum("amount_idr"))["s"] or 0
    entries = list(
        PoolEntry.objects.filter(pool=pool, created_at__gte=start, created_at__lt=end)
        .select_related("invoice")
        .order_by("created_at", "pk")
    )
    lines = {
        line.invoice_id: line
        for line in InvoiceLine.objects.filter(invoice__in=[e.invoice_id for e in entries if e.invoice_id])
        .select_related("worker")
        .only("invoice_id", "month", "worker__full_name", "worker_id")
    }
    rows: list[dict[str, Any]] = []
    for e in entries:
        line = lines.get(e.invoice_id) if e.invoice_id else None
        rows.append(
            {
                "date": timezone.localtime(e.created_at).date(),
                "kind": e.kind,
                "amount_idr": e.amount_idr,
                "reference": e.reference or (e.invoice.number if e.invoice is not None else ""),
                "worker_id": line.worker_id if line else None,
                "worker_first_name": line.worker.full_name.split(" ")[0] if line else "",
                "month": line.month if line else None,
            }
        )
    paid = -sum(r["amount_idr"] for r in rows if r["kind"] == PoolEntry.Kind.BRIDGE_PAYMENT)
    return {
        "pool": pool,
        "month": month_start(month),
        "opening_idr": before,
        "closing_idr": before + sum(r["amount_idr"] for r in rows),
        "paid_idr": paid,
        "worker_months": sum(1 for r in rows if r["kind"] == PoolEntry.Kind.BRIDGE_PAYMENT),
        "rows": rows,
    }


def pool_statements_send(*, today: dt.date | None = None) -> int:
    """On the 1st: last month's statement to each pool manager with activity (outbox; app inbox, WhatsApp)."""
    today = today or local_today()
    month = add_months(month_start(today), -1)
    sent = 0
    for pool in BridgePool.objects.filter(manager__isnull=False).select_related("manager"):
        statement = pool_statement(pool=pool, month=month)
        if not statement["rows"]:
            continue
        with transaction.atomic():
            row = notify(
                user=pool.manager,
                kind="bridge_statement",
                dedupe_key=f"bridge_statement:{pool.pk}:{month:%Y-%m}",
                context={
                    "pool_name": pool.name,
                    "period_label": period_label(month),
                    "workers": statement["worker_months"],
                    "amount_idr": statement["paid_idr"],
                    "balance": rupiah(statement["closing_idr"], "id", space=False),
                },
                data={"pool_id": str(pool.pk), "month": f"{month:%Y-%m}"},
            )
        sent += row is not None
    return sent
