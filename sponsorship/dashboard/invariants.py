"""The ledger's invariants as code: what must always hold between money, invoices, coverage and the dashboard.

One entry point, `ledger_check`, runs every check (optionally for one regency) and returns a `LedgerReport` of
structured violations: which check, which rows (ids), what differs. Each check is one or two set-based
statements, so a regency costs a handful of queries whatever its size; only the optional gateway check calls
out, once per payment. Nothing here writes: `manage.py check_ledger` runs it in a read-only transaction, on any
database, production included. The rules are written out in docs/figures.md ("Ledger invariants").

The life-event rules (a worker dies, a sponsor retires, …) will add checks here: write a function returning a
list of `Violation` and add it to `CHECKS`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from sponsorship.billing.gateways import get_gateway
from sponsorship.billing.gateways.base import GatewayRejected, GatewayUnavailable, TransactionNotFound
from sponsorship.billing.models import PAYROLL_PAYMENT_TYPE, PaymentAttempt
from sponsorship.core.periods import local_today
from sponsorship.regions.models import Region

from .selectors import AdminScope
from .selectors import money as money_figures

MAX_DETAILS = 200  # violations kept per check (the count is always exact)


@dataclass(frozen=True)
class Violation:
    check: str
    rows: dict[str, Any]  # which rows: ids (sponsor_id, worker_id, invoice_id, month, order_id, …)
    differs: dict[str, Any]  # what differs: the two sides, or what is wrong


@dataclass
class CheckResult:
    name: str
    count: int = 0
    violations: list[Violation] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str = ""


@dataclass
class LedgerReport:
    regency: str | None
    today: dt.date
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        return not any(c.count for c in self.checks)

    @property
    def violations(self) -> list[Violation]:
        return [v for c in self.checks for v in c.violations]

    def to_dict(self) -> dict:
        return {
            "regency": self.regency,
            "today": self.today.isoformat(),
            "ok": self.ok,
            "checks": [
                {
                    "name": c.name,
                    "violations": c.count,
                    "seconds": round(c.seconds, 3),
                    **({"skipped": c.skipped} if c.skipped else {}),
                    "details": [{"rows": _plain(v.rows), "differs": _plain(v.differs)} for v in c.violations],
                }
                for c in self.checks
            ],
        }


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Ctx:
    """What every check gets: the regency (None = all) and the day the checks judge."""

    regency: Region | None
    today: dt.date
    gateway: Any = None  # a PaymentGateway when the gateway check runs

    @property
    def regency_id(self) -> int | None:
        return self.regency.pk if self.regency else None


def _rows(sql: str, params: dict) -> list[dict]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# The scope filter every check applies: a sponsor of an agency of the regency (all when regency is NULL).
_SPONSORS = """(SELECT s.id FROM sponsorship_sponsor s JOIN sponsorship_agency a ON a.id = s.agency_id
                WHERE %(regency)s::bigint IS NULL OR a.regency_id = %(regency)s::bigint)"""
_WORKERS = """(SELECT w.id FROM sponsorship_worker w JOIN sponsorship_region v ON v.id = w.village_id
               JOIN sponsorship_region d ON d.id = v.parent_id
               WHERE %(regency)s::bigint IS NULL OR d.parent_id = %(regency)s::bigint)"""


# ---- 1. money received = paid invoices + credits + open refunds (per sponsor) ------------------------------
# received: what each settled payment brought and kept (paid - returned through the gateway; a bank reversal
# keeps nothing), less what an admin handed back by bank transfer (a refund case resolved by a person while
# its payment still holds the money). It must equal what that money became: coverage months (the paid
# worker-months), credit held on open invoices, the credit balance, and refund cases still open.
_MONEY_SQL = f"""
WITH sp AS MATERIALIZED {_SPONSORS},
received AS (
    SELECT i.sponsor_id, SUM(p.paid_amount_idr - p.refunded_amount_idr) AS idr
    FROM sponsorship_paymentattempt p JOIN sponsorship_invoice i ON i.id = p.invoice_id
    WHERE p.status IN ('settled', 'flagged', 'refunded', 'charged_back') AND i.sponsor_id IN (SELECT id FROM sp)
    GROUP BY i.sponsor_id),
handed_back AS (
    SELECT rc.sponsor_id, SUM(rc.amount_idr - rc.refunded_amount_idr) AS idr
    FROM sponsorship_refundcase rc JOIN sponsorship_paymentattempt p ON p.id = rc.attempt_id
    WHERE rc.status = 'resolved' AND rc.resolved_by_id IS NOT NULL AND p.status IN ('settled', 'flagged')
      AND rc.sponsor_id IN (SELECT id FROM sp)
    GROUP BY rc.sponsor_id),
covered AS (
    SELECT i.sponsor_id, SUM(c.amount_idr) AS idr
    FROM sponsorship_coveragemonth c JOIN sponsorship_invoice i ON i.id = c.invoice_id
    WHERE i.sponsor_id IN (SELECT id FROM sp) GROUP BY i.sponsor_id),
held AS (
    SELECT sponsor_id, SUM(credit_applied_idr) AS idr FROM sponsorship_invoice
    WHERE status = 'issued' AND credit_applied_idr > 0 AND sponsor_id IN (SELECT id FROM sp) GROUP BY sponsor_id),
credit AS (
    SELECT sponsor_id, SUM(amount_idr) AS idr FROM sponsorship_creditentry
    WHERE sponsor_id IN (SELECT id FROM sp) GROUP BY sponsor_id),
open_cases AS (
    SELECT sponsor_id, SUM(amount_idr - refunded_amount_idr) AS idr FROM sponsorship_refundcase
    WHERE status IN ('open', 'manual_transfer') AND sponsor_id IN (SELECT id FROM sp) GROUP BY sponsor_id),
ids AS (SELECT sponsor_id FROM received UNION SELECT sponsor_id FROM covered UNION SELECT sponsor_id FROM held
        UNION SELECT sponsor_id FROM credit UNION SELECT sponsor_id FROM open_cases)
SELECT ids.sponsor_id,
       COALESCE(r.idr, 0) - COALESCE(h.idr, 0) AS received_idr,
       COALESCE(c.idr, 0) AS coverage_idr, COALESCE(o.idr, 0) AS credit_on_open_invoices_idr,
       COALESCE(b.idr, 0) AS credit_balance_idr, COALESCE(x.idr, 0) AS open_refunds_idr
FROM ids
LEFT JOIN received r ON r.sponsor_id = ids.sponsor_id LEFT JOIN handed_back h ON h.sponsor_id = ids.sponsor_id
LEFT JOIN covered c ON c.sponsor_id = ids.sponsor_id LEFT JOIN held o ON o.sponsor_id = ids.sponsor_id
LEFT JOIN credit b ON b.sponsor_id = ids.sponsor_id LEFT JOIN open_cases x ON x.sponsor_id = ids.sponsor_id
WHERE COALESCE(r.idr, 0) - COALESCE(h.idr, 0)
      <> COALESCE(c.idr, 0) + COALESCE(o.idr, 0) + COALESCE(b.idr, 0) + COALESCE(x.idr, 0)
   OR COALESCE(b.idr, 0) < 0
ORDER BY ids.sponsor_id
"""  # noqa: S608 - only the constant scope fragments are interpolated


def check_money_balance(ctx: Ctx) -> list[Violation]:
    out = []
    for r in _rows(_MONEY_SQL, {"regency": ctx.regency_id}):
        sponsor_id = r.pop("sponsor_id")
        uses = r["coverage_idr"] + r["credit_on_open_invoices_idr"] + r["credit_balance_idr"] + r["open_refunds_idr"]
        out.append(
            Violation(
                "money_balance",
                {"sponsor_id": sponsor_id},
                {**r, "accounted_idr": uses, "gap_idr": uses - r["received_idr"]},
            )
        )
    return out


# ---- 2. every coverage month <-> exactly one paid invoice line --------------------------------------------
_COVERAGE_SQL = f"""
SELECT 'coverage_without_paid_line' AS problem, c.worker_id, c.month, c.id AS coverage_id, c.invoice_id,
       c.line_id, i.status AS invoice_status,
       CONCAT_WS(', ',
           CASE WHEN l.id IS NULL THEN 'no line' END,
           CASE WHEN l.id IS NOT NULL AND l.invoice_id <> c.invoice_id THEN 'line of another invoice' END,
           CASE WHEN l.id IS NOT NULL AND (l.worker_id, l.month) <> (c.worker_id, c.month)
                THEN 'line of another worker-month' END,
           CASE WHEN l.id IS NOT NULL AND l.amount_idr <> c.amount_idr THEN 'amount differs from the line' END,
           CASE WHEN i.status <> 'paid' THEN 'invoice ' || i.status END,
           CASE WHEN c.sponsor_id IS DISTINCT FROM i.sponsor_id THEN 'sponsor differs from the invoice' END
       ) AS what
FROM sponsorship_coveragemonth c
JOIN sponsorship_invoice i ON i.id = c.invoice_id
LEFT JOIN sponsorship_invoiceline l ON l.id = c.line_id
WHERE (i.sponsor_id IN {_SPONSORS} OR (i.sponsor_id IS NULL AND c.worker_id IN {_WORKERS}))
  AND (l.id IS NULL OR l.invoice_id <> c.invoice_id OR (l.worker_id, l.month) <> (c.worker_id, c.month)
       OR l.amount_idr <> c.amount_idr OR i.status <> 'paid' OR c.sponsor_id IS DISTINCT FROM i.sponsor_id)
UNION ALL
SELECT 'paid_line_without_coverage', l.worker_id, l.month, NULL, l.invoice_id, l.id, i.status,
       'the invoice is paid but nobody is protected for this worker-month'
FROM sponsorship_invoiceline l JOIN sponsorship_invoice i ON i.id = l.invoice_id
WHERE i.status = 'paid' AND (i.sponsor_id IN {_SPONSORS} OR (i.sponsor_id IS NULL AND l.worker_id IN {_WORKERS}))
  AND NOT EXISTS (SELECT 1 FROM sponsorship_coveragemonth c WHERE c.worker_id = l.worker_id AND c.month = l.month)
ORDER BY 2, 3
"""  # noqa: S608 - only the constant scope fragments are interpolated


def check_coverage_lines(ctx: Ctx) -> list[Violation]:
    out = []
    for r in _rows(_COVERAGE_SQL, {"regency": ctx.regency_id}):
        problem, what = r.pop("problem"), r.pop("what")
        out.append(Violation("coverage_lines", r, {"problem": problem, "what": what}))
    return out


# ---- 3. no worker-month billed twice on live invoices -------------------------------------------------------
_DOUBLE_SQL = f"""
SELECT l.worker_id, l.month, array_agg(i.id ORDER BY i.id) AS invoice_ids,
       array_agg(i.status ORDER BY i.id) AS statuses, array_agg(i.sponsor_id ORDER BY i.id) AS sponsor_ids
FROM sponsorship_invoiceline l JOIN sponsorship_invoice i ON i.id = l.invoice_id
WHERE i.status IN ('issued', 'paid') AND l.worker_id IN {_WORKERS}
GROUP BY l.worker_id, l.month HAVING COUNT(*) > 1
ORDER BY l.worker_id, l.month
"""  # noqa: S608 - only the constant scope fragments are interpolated


def check_double_billing(ctx: Ctx) -> list[Violation]:
    return [
        Violation(
            "double_billing",
            {"worker_id": r["worker_id"], "month": r["month"], "invoice_ids": r["invoice_ids"]},
            {"live_lines": len(r["invoice_ids"]), "statuses": r["statuses"], "sponsor_ids": r["sponsor_ids"]},
        )
        for r in _rows(_DOUBLE_SQL, {"regency": ctx.regency_id})
    ]


# ---- 4. worker status agrees with the ledger ----------------------------------------------------------------
# A worker's status is derived from the coverage rows (never stored), so what can disagree are its inputs:
# - the sponsor's active-sponsorship counter (capacity, matching, the league table read it) must equal the rows;
# - a month of an active sponsorship (from its start month on) must not sit unpaid on ANOTHER sponsor's open
#   invoice: nobody will pay it, and the billing run skips any worker-month on a live invoice, so the worker
#   would show unpaid, grace then lapsed, although the current sponsor pays all they are billed.
_STATUS_SQL = f"""
SELECT 'sponsor_counter' AS problem, s.id AS sponsor_id, NULL::bigint AS worker_id, NULL::date AS month,
       NULL::bigint AS invoice_id, s.active_sponsorships AS stored, COUNT(sp.id) AS actual
FROM sponsorship_sponsor s
LEFT JOIN sponsorship_sponsorship sp ON sp.sponsor_id = s.id AND sp.status = 'active'
WHERE s.id IN {_SPONSORS}
GROUP BY s.id HAVING s.active_sponsorships <> COUNT(sp.id)
UNION ALL
SELECT 'month_stranded_on_another_sponsor', sp.sponsor_id, sp.worker_id, l.month, i.id, i.sponsor_id, NULL
FROM sponsorship_sponsorship sp
JOIN sponsorship_invoiceline l ON l.worker_id = sp.worker_id
     AND l.month >= date_trunc('month', sp.started_at AT TIME ZONE 'Asia/Jakarta')::date
JOIN sponsorship_invoice i ON i.id = l.invoice_id AND i.status = 'issued' AND i.sponsor_id <> sp.sponsor_id
WHERE sp.status = 'active' AND sp.worker_id IN {_WORKERS}
  AND NOT EXISTS (SELECT 1 FROM sponsorship_coveragemonth c WHERE c.worker_id = l.worker_id AND c.month = l.month)
ORDER BY 1, 2, 3, 4
"""  # noqa: S608 - only the constant scope fragments are interpolated


def check_worker_status(ctx: Ctx) -> list[Violation]:
    out = []
    for r in _rows(_STATUS_SQL, {"regency": ctx.regency_id}):
        if r["problem"] == "sponsor_counter":
            out.append(
                Violation(
                    "worker_status",
                    {"sponsor_id": r["sponsor_id"]},
                    {"problem": r["problem"], "active_sponsorships_stored": r["stored"], "active_rows": r["actual"]},
                )
            )
        else:
            out.append(
                Violation(
                    "worker_status",
                    {"worker_id": r["worker_id"], "month": r["month"], "invoice_id": r["invoice_id"]},
                    {
                        "problem": r["problem"],
                        "active_sponsor_id": r["sponsor_id"],
                        "invoiced_sponsor_id": r["stored"],
                    },
                )
            )
    return out


# ---- 5. dashboard figures equal their raw recomputation -----------------------------------------------------
_SUMMARY_SQL = """
SELECT COALESCE(t.agency_id, r.agency_id) AS agency_id, COALESCE(t.month, r.month) AS month,
       ARRAY[t.outstanding_idr, t.collected_idr, t.remitted_idr, t.paid_invoices, t.paid_on_time] AS summary,
       ARRAY[r.outstanding_idr, r.collected_idr, r.remitted_idr, r.paid_invoices, r.paid_on_time] AS raw
FROM (SELECT * FROM sponsorship_dash_agency_month
      WHERE outstanding_idr <> 0 OR collected_idr <> 0 OR remitted_idr <> 0
         OR paid_invoices <> 0 OR paid_on_time <> 0) t
FULL OUTER JOIN sponsorship_dash_recompute(%(regency)s::bigint) r ON r.agency_id = t.agency_id AND r.month = t.month
WHERE (%(regency)s::bigint IS NULL OR COALESCE(t.agency_id, r.agency_id) IN
       (SELECT id FROM sponsorship_agency WHERE regency_id = %(regency)s::bigint))
  AND ROW(t.outstanding_idr, t.collected_idr, t.remitted_idr, t.paid_invoices, t.paid_on_time)
      IS DISTINCT FROM ROW(r.outstanding_idr, r.collected_idr, r.remitted_idr, r.paid_invoices, r.paid_on_time)
  AND NOT (t.agency_id IS NULL AND r.outstanding_idr = 0 AND r.collected_idr = 0 AND r.remitted_idr = 0
           AND r.paid_invoices = 0 AND r.paid_on_time = 0)
ORDER BY 1, 2
"""
SUMMARY_COLUMNS = ("outstanding_idr", "collected_idr", "remitted_idr", "paid_invoices", "paid_on_time")


def check_dashboard_figures(ctx: Ctx) -> list[Violation]:
    out = [
        Violation(
            "dashboard_figures",
            {"agency_id": r["agency_id"], "month": r["month"]},
            {
                "table": "sponsorship_dash_agency_month",
                "summary": dict(zip(SUMMARY_COLUMNS, r["summary"], strict=True)),
                "raw": dict(zip(SUMMARY_COLUMNS, r["raw"], strict=True)),
            },
        )
        for r in _rows(_SUMMARY_SQL, {"regency": ctx.regency_id})
    ]
    regencies = (
        [ctx.regency]
        if ctx.regency
        else list(Region.objects.filter(level=Region.Level.REGENCY, agencies__isnull=False).distinct())
    )
    for regency in regencies:
        scope = AdminScope(regency=regency, agency=None)
        out += _figures_of(scope, ctx.today)
    return out


def _figures_of(scope: AdminScope, today: dt.date) -> list[Violation]:
    """What the HR admin reads (summary + live parts) against the raw definitions, and the identity."""
    out = []
    where = {"regency": scope.regency.code}
    fast, raw = money_figures.money_by_month(scope, today=today), money_figures.money_by_month_raw(scope, today=today)
    for a, b in zip(fast, raw, strict=True):
        if a != b:
            diff = {k: {"dashboard": a[k], "raw": b[k]} for k in a if a[k] != b[k]}
            out.append(
                Violation("dashboard_figures", {**where, "month": a["month"]}, {"figure": "money_by_month", **diff})
            )
        if a["expected_idr"] != a["collected_idr"] + a["outstanding_idr"] + a["written_off_idr"]:
            out.append(
                Violation(
                    "dashboard_figures",
                    {**where, "month": a["month"]},
                    {"figure": "expected = collected + outstanding + written off", **a},
                )
            )
    pairs: tuple[tuple[str, Callable[..., Any], Callable[..., Any]], ...] = (
        ("on_time_rate", money_figures.on_time_rate, money_figures.on_time_rate_raw),
        ("agency_money", money_figures.agency_money, money_figures.agency_money_raw),
        ("arrears_worklist", money_figures.arrears_worklist, money_figures.arrears_worklist_raw),
    )
    for name, dashboard, reference in pairs:
        a, b = dashboard(scope, today=today), reference(scope, today=today)
        if a != b:
            out.append(Violation("dashboard_figures", where, {"figure": name, "dashboard": a, "raw": b}))
    return out


# ---- 6. gateway amounts (paid, refunded) equal ours (optional: one status call per payment) ------------------
GATEWAY_STATES: dict[str, tuple[str, ...]] = {
    PaymentAttempt.Status.SETTLED: ("settlement", "capture"),
    PaymentAttempt.Status.FLAGGED: ("settlement", "capture"),
    PaymentAttempt.Status.REFUNDED: ("refund", "partial_refund", "partial_chargeback"),
    PaymentAttempt.Status.CHARGED_BACK: ("chargeback", "partial_chargeback"),
    PaymentAttempt.Status.REVERSED: ("deny",),
}


def check_gateway_amounts(ctx: Ctx) -> list[Violation]:
    # Payments settled by payroll deduction never went through the gateway (check_payroll covers them).
    attempts = (
        PaymentAttempt.objects.filter(status__in=list(GATEWAY_STATES))
        .exclude(payment_type=PAYROLL_PAYMENT_TYPE)
        .order_by("pk")
    )
    if ctx.regency is not None:
        attempts = attempts.filter(invoice__sponsor__agency__regency=ctx.regency)
    out = []
    for attempt in attempts.only("order_id", "status", "paid_amount_idr", "refunded_amount_idr", "transaction_id"):
        rows = {"order_id": attempt.order_id, "attempt_id": attempt.pk}
        try:
            status = ctx.gateway.get_status(attempt.transaction_id or attempt.order_id)
        except TransactionNotFound:
            out.append(Violation("gateway_amounts", rows, {"problem": "unknown at the gateway"}))
            continue
        except (GatewayUnavailable, GatewayRejected) as exc:
            out.append(Violation("gateway_amounts", rows, {"problem": f"gateway unavailable: {exc}"}))
            continue
        differs: dict[str, Any] = {}
        if status.transaction_status not in GATEWAY_STATES[attempt.status]:
            differs["status"] = {"ours": attempt.status, "gateway": status.transaction_status}
        if attempt.paid_amount_idr != status.gross_amount_idr:
            differs["paid_idr"] = {"ours": attempt.paid_amount_idr, "gateway": status.gross_amount_idr}
        theirs = status.refunded_amount_idr or sum(r.amount_idr for r in status.refunds)
        if "chargeback" in status.transaction_status and status.transaction_status != "partial_chargeback":
            theirs = status.gross_amount_idr
        if attempt.refunded_amount_idr != theirs:
            differs["refunded_idr"] = {"ours": attempt.refunded_amount_idr, "gateway": theirs}
        if differs:
            out.append(Violation("gateway_amounts", rows, differs))
    return out


# ---- 6. payers other than sponsors: bridge pools and self-paying workers (docs/bridge-fund.md) -------------------
# - a pool's balance is the sum of its ledger entries;
# - every paid pool invoice has exactly one bridge_payment entry of minus its amount, from the same pool;
# - a paid self-pay invoice was paid by a settled gateway payment of its amount.
_PAYERS_SQL = f"""
WITH pools AS (SELECT id FROM sponsorship_bridgepool
               WHERE %(regency)s::bigint IS NULL OR regency_id = %(regency)s::bigint)
SELECT 'pool_balance' AS problem, p.id AS pool_id, NULL::bigint AS invoice_id,
       p.balance_idr AS stored, COALESCE(SUM(e.amount_idr), 0) AS actual
FROM sponsorship_bridgepool p LEFT JOIN sponsorship_poolentry e ON e.pool_id = p.id
WHERE p.id IN (SELECT id FROM pools)
GROUP BY p.id HAVING p.balance_idr <> COALESCE(SUM(e.amount_idr), 0)
UNION ALL
SELECT 'pool_invoice_entries', i.pool_id, i.id, -i.amount_idr,
       COALESCE(SUM(e.amount_idr) FILTER (WHERE e.pool_id = i.pool_id), 0)
FROM sponsorship_invoice i LEFT JOIN sponsorship_poolentry e ON e.invoice_id = i.id AND e.kind = 'bridge_payment'
WHERE i.payer_kind = 'pool' AND i.pool_id IN (SELECT id FROM pools)
GROUP BY i.id HAVING COUNT(e.id) <> 1 OR i.status <> 'paid'
    OR COALESCE(SUM(e.amount_idr) FILTER (WHERE e.pool_id = i.pool_id), 0) <> -i.amount_idr
UNION ALL
SELECT 'self_paid_without_payment', NULL, i.id, i.amount_idr,
       COALESCE(MAX(a.paid_amount_idr) FILTER (WHERE a.status = 'settled'), 0)
FROM sponsorship_invoice i LEFT JOIN sponsorship_paymentattempt a ON a.invoice_id = i.id
WHERE i.payer_kind = 'worker' AND i.status = 'paid' AND i.payer_worker_id IN {_WORKERS}
GROUP BY i.id HAVING NOT bool_or(a.status = 'settled' AND a.paid_amount_idr = i.amount_idr)
    OR bool_or(a.status = 'settled') IS NULL
ORDER BY 1, 2, 3
"""  # noqa: S608 - only the constant scope fragments are interpolated


def check_payers(ctx: Ctx) -> list[Violation]:
    out = []
    for r in _rows(_PAYERS_SQL, {"regency": ctx.regency_id}):
        problem = r.pop("problem")
        stored, actual = r.pop("stored"), r.pop("actual")
        out.append(Violation("payers", r, {"problem": problem, "expected": stored, "actual": actual}))
    return out


# ---- 7. payroll deduction (docs/payroll.md) -----------------------------------------------------------------
# - the money a confirmed deduction brought is what it became: the coverage its payment wrote, surplus credit, or
#   a refund case holding it (a different amount, a month already paid) — and its payment says the same amount;
# - no ASN's payroll month is settled twice, and no payroll payment exists without its deduction row;
# - what the regional bank transferred for an agency's month equals what the treasurer confirmed.
_PAYROLL_MONEY_SQL = f"""
SELECT d.id AS deduction_id, d.sponsor_id, d.payroll_month, d.deducted_idr, p.id AS attempt_id,
       p.paid_amount_idr, p.payment_type,
       COALESCE((SELECT SUM(c.amount_idr) FROM sponsorship_coveragemonth c
                 WHERE c.attempt_id = p.id), 0) AS coverage_idr,
       COALESCE((SELECT SUM(e.amount_idr) FROM sponsorship_creditentry e
                 WHERE e.attempt_id = p.id AND e.kind = 'surplus'), 0) AS credit_idr,
       COALESCE((SELECT SUM(r.amount_idr) FROM sponsorship_refundcase r WHERE r.attempt_id = p.id), 0) AS held_idr
FROM billing_payrolldeduction d
LEFT JOIN sponsorship_paymentattempt p ON p.id = d.attempt_id
WHERE d.status IN ('confirmed', 'short') AND d.sponsor_id IN {_SPONSORS}
"""  # noqa: S608 - only the constant scope fragments are interpolated

_PAYROLL_TWICE_SQL = f"""
SELECT 'settled_twice' AS problem, d.nip AS order_id, d.payroll_month, COUNT(*) AS n
FROM billing_payrolldeduction d
WHERE d.status IN ('confirmed', 'short') AND d.sponsor_id IN {_SPONSORS}
GROUP BY d.nip, d.payroll_month HAVING COUNT(*) > 1
UNION ALL
SELECT 'payroll_payment_without_deduction', p.order_id, NULL, 1
FROM sponsorship_paymentattempt p JOIN sponsorship_invoice i ON i.id = p.invoice_id
WHERE p.payment_type = 'payroll' AND i.sponsor_id IN {_SPONSORS}
  AND NOT EXISTS (SELECT 1 FROM billing_payrolldeduction d WHERE d.attempt_id = p.id)
"""  # noqa: S608 - only the constant scope fragments are interpolated

_PAYROLL_TRANSFER_SQL = """
SELECT t.agency_id, t.payroll_month, t.received_idr,
       COALESCE((SELECT SUM(d.deducted_idr) FROM billing_payrolldeduction d
                 JOIN billing_payrolllist l ON l.id = d.payroll_list_id
                 WHERE l.agency_id = t.agency_id AND d.payroll_month = t.payroll_month
                   AND d.status IN ('confirmed', 'short')), 0) AS confirmed_idr
FROM (SELECT agency_id, payroll_month, SUM(amount_idr) AS received_idr FROM billing_payrolltransfer
      GROUP BY agency_id, payroll_month) t
JOIN sponsorship_agency a ON a.id = t.agency_id
WHERE %(regency)s::bigint IS NULL OR a.regency_id = %(regency)s::bigint
ORDER BY 1, 2
"""


def check_payroll(ctx: Ctx) -> list[Violation]:
    params = {"regency": ctx.regency_id}
    out = []
    for r in _rows(_PAYROLL_MONEY_SQL, params):
        rows = {"deduction_id": r["deduction_id"], "sponsor_id": r["sponsor_id"], "month": r["payroll_month"]}
        accounted = r["coverage_idr"] + r["credit_idr"] + r["held_idr"]
        if r["attempt_id"] is None or r["payment_type"] != "payroll":
            out.append(Violation("payroll", rows, {"problem": "confirmed deduction without its payroll payment"}))
        elif r["paid_amount_idr"] != r["deducted_idr"] or accounted != r["deducted_idr"]:
            out.append(
                Violation(
                    "payroll",
                    rows,
                    {
                        "problem": "deducted money is not what it became",
                        "deducted_idr": r["deducted_idr"],
                        "paid_idr": r["paid_amount_idr"],
                        "coverage_idr": r["coverage_idr"],
                        "credit_idr": r["credit_idr"],
                        "refund_cases_idr": r["held_idr"],
                    },
                )
            )
    for r in _rows(_PAYROLL_TWICE_SQL, params):
        rows = {"order_id": r["order_id"]} if r["payroll_month"] is None else {"month": r["payroll_month"]}
        out.append(Violation("payroll", rows, {"problem": r["problem"], "count": r["n"]}))
    for r in _rows(_PAYROLL_TRANSFER_SQL, params):
        if r["received_idr"] != r["confirmed_idr"]:
            out.append(
                Violation(
                    "payroll",
                    {"agency_id": r["agency_id"], "month": r["payroll_month"]},
                    {
                        "problem": "bank transfer differs from the confirmed deductions",
                        "received_idr": r["received_idr"],
                        "confirmed_idr": r["confirmed_idr"],
                    },
                )
            )
    return out


CHECKS: dict[str, Callable[[Ctx], list[Violation]]] = {
    "money_balance": check_money_balance,
    "coverage_lines": check_coverage_lines,
    "double_billing": check_double_billing,
    "worker_status": check_worker_status,
    "dashboard_figures": check_dashboard_figures,
    "payers": check_payers,
    "payroll": check_payroll,
    # life-event checks go here (issue 13, after the hand-over branch merges)
}
GATEWAY_CHECK = "gateway_amounts"


def ledger_check(
    *,
    regency: Region | None = None,
    today: dt.date | None = None,
    gateway: bool | Any = False,
    only: list[str] | None = None,
) -> LedgerReport:
    """Run every invariant (for one regency, or all) and report the violations. Reads only.

    `gateway`: True (the configured gateway) or a gateway instance also compares paid and refunded amounts with
    the gateway's status API, one call per payment that moved money. `only` limits the checks by name."""
    ctx = Ctx(
        regency=regency,
        today=today or local_today(),
        gateway=(get_gateway() if gateway is True else gateway) or None,
    )
    checks: dict[str, Callable[[Ctx], list[Violation]]] = dict(CHECKS)
    if ctx.gateway is not None:
        checks[GATEWAY_CHECK] = check_gateway_amounts
    results = []
    for name, check in checks.items():
        if only and name not in only:
            continue
        started = time.perf_counter()
        found = check(ctx)
        results.append(CheckResult(name, len(found), found[:MAX_DETAILS], time.perf_counter() - started))
    return LedgerReport(regency=regency.code if regency else None, today=ctx.today, checks=results)
