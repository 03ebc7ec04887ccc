"""Reads for the billing API, and the scoping rules of every money model."""

from django.db.models import Q, Sum
from django.shortcuts import get_object_or_404

from sponsorship.billing.models import (
    Bridge,
    BridgePool,
    CoverageMonth,
    CreditEntry,
    Holiday,
    Invoice,
    InvoiceLine,
    PaymentAttempt,
    PaymentNotification,
    PoolEntry,
    PremiumRate,
    RefundCase,
    RemittanceBatch,
)
from sponsorship.people.scoping import register_scope, register_sponsor_owned, scope


def invoices_for(user, *, status: str | None = None):
    qs = scope(Invoice.objects.all(), user).select_related("sponsor").order_by("-period", "-issued_at")
    if status:
        qs = qs.filter(status=status)
    return qs


def access_invoice(user, pk) -> Invoice:
    return get_object_or_404(scope(Invoice.objects.all(), user).select_related("sponsor", "sponsor__user"), pk=pk)


def invoice_lines(invoice: Invoice):
    return invoice.lines.select_related("worker").order_by("month", "worker__full_name")


def sponsor_credit_idr(sponsor_id: int) -> int:
    return CreditEntry.objects.filter(sponsor_id=sponsor_id).aggregate(s=Sum("amount_idr"))["s"] or 0


# Scoping (sponsors see their own; agency/regency admins their agency's/regency's).
_sponsor_paths = {
    Invoice: "sponsor",
    InvoiceLine: "invoice__sponsor",
    PaymentAttempt: "invoice__sponsor",
    CoverageMonth: "sponsor",
    CreditEntry: "sponsor",
    RefundCase: "sponsor",
}
for _model, _path in _sponsor_paths.items():
    register_sponsor_owned(_model, _path)
register_scope(CoverageMonth, worker=lambda p, u: Q(worker__user=u))


def _everyone(p, u) -> Q:
    return Q()


# Rates and holidays are public reference data for signed-in users; raw webhooks and remittance
# batches (personal data exports) are for superusers only: no rule = fail closed.
for _model in (PremiumRate, Holiday):
    register_scope(_model, sponsor=_everyone, worker=_everyone, agency_admin=_everyone, regency_admin=_everyone)
_ = (PaymentNotification, RemittanceBatch)

# Bridge fund pools belong to a regency: its regency admins manage them (superusers see all; others nothing).
register_scope(BridgePool, regency_admin=lambda p, u: Q(regency_id=p.regency_id))
register_scope(PoolEntry, regency_admin=lambda p, u: Q(pool__regency_id=p.regency_id))
register_scope(Bridge, regency_admin=lambda p, u: Q(pool__regency_id=p.regency_id))
